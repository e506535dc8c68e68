/**
 * The building blocks of the abuse limits: the concurrency gate (a counting semaphore with a timed
 * FIFO queue) and the `rate` parser of the config ("300/min", "10/s", …).
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { ConcurrencyGate } from '../../src/limits/concurrency.js';
import { rate } from '../../src/limits/rate.js';

/** Resolves with 'pending' if `promise` has not settled after the current macrotask queue drains. */
async function settledState<T>(promise: Promise<T>): Promise<{ value: T } | 'pending'> {
  const marker = Symbol('pending');
  const result = await Promise.race([promise, new Promise<symbol>((r) => setImmediate(() => r(marker)))]);
  return result === marker ? 'pending' : { value: result as T };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ConcurrencyGate', () => {
  it('grants up to `limit` slots at once and counts them per key', async () => {
    const gate = new ConcurrencyGate(2, 1000);
    const a = await gate.acquire('alice');
    const b = await gate.acquire('alice');
    assert.equal(typeof a, 'function');
    assert.equal(typeof b, 'function');
    assert.equal(gate.inFlight('alice'), 2);
    // Keys are independent: bob still has his own two slots.
    const c = await gate.acquire('bob');
    assert.equal(typeof c, 'function');
    assert.equal(gate.inFlight('bob'), 1);
    assert.equal(gate.inFlight('nobody'), 0);
    a?.();
    b?.();
    c?.();
    assert.equal(gate.inFlight('alice'), 0);
    assert.equal(gate.inFlight('bob'), 0);
  });

  it('queues a request beyond the limit and hands it the next freed slot', async () => {
    const gate = new ConcurrencyGate(1, 5000);
    const first = await gate.acquire('k');
    assert.ok(first);
    const waiting = gate.acquire('k');
    assert.equal(await settledState(waiting), 'pending', 'the second request waits');
    assert.equal(gate.inFlight('k'), 1);
    first();
    const second = await waiting;
    assert.equal(typeof second, 'function', 'the waiter got a slot');
    assert.equal(gate.inFlight('k'), 1, 'the slot passed straight on: still one in flight');
    second?.();
    assert.equal(gate.inFlight('k'), 0);
  });

  it('wakes waiters in FIFO order', async () => {
    const gate = new ConcurrencyGate(1, 5000);
    const holder = await gate.acquire('k');
    const order: string[] = [];
    const w1 = gate.acquire('k').then((r) => {
      order.push('w1');
      return r;
    });
    const w2 = gate.acquire('k').then((r) => {
      order.push('w2');
      return r;
    });
    const w3 = gate.acquire('k').then((r) => {
      order.push('w3');
      return r;
    });
    holder?.();
    (await w1)?.();
    (await w2)?.();
    (await w3)?.();
    assert.deepEqual(order, ['w1', 'w2', 'w3']);
    assert.equal(gate.inFlight('k'), 0);
  });

  it('refuses a waiter (undefined) once the queue timeout passes, and forgets it', async () => {
    const gate = new ConcurrencyGate(1, 80);
    const holder = await gate.acquire('k');
    const started = Date.now();
    const late = await gate.acquire('k');
    const waited = Date.now() - started;
    assert.equal(late, undefined);
    assert.ok(waited >= 70 && waited < 1000, `waited ${waited} ms for an 80 ms queue timeout`);
    assert.equal(gate.inFlight('k'), 1);
    // The timed-out waiter must not receive (and leak) the slot released afterwards.
    holder?.();
    assert.equal(gate.inFlight('k'), 0, 'the freed slot went to no one');
    const again = await gate.acquire('k');
    assert.ok(again, 'the slot is free for a new request');
    again();
    assert.equal(gate.inFlight('k'), 0);
  });

  it('a timed-out waiter leaves the waiters behind it in the queue', async () => {
    const gate = new ConcurrencyGate(1, 150);
    const holder = await gate.acquire('k');
    const early = gate.acquire('k');
    await sleep(60);
    const later = gate.acquire('k');
    assert.equal(await early, undefined, 'the first waiter timed out');
    assert.equal(await settledState(later), 'pending', 'the second still waits');
    holder?.();
    const got = await later;
    assert.ok(got, 'the second waiter got the freed slot');
    assert.equal(gate.inFlight('k'), 1);
    got();
    assert.equal(gate.inFlight('k'), 0);
  });

  it('a second call of a release function changes nothing', async () => {
    const gate = new ConcurrencyGate(2, 100);
    const a = await gate.acquire('k');
    const b = await gate.acquire('k');
    a?.();
    a?.();
    a?.();
    assert.equal(gate.inFlight('k'), 1, 'only the first release counted');
    // With a waiter queued, a repeated release must not hand out a second slot.
    const c = await gate.acquire('k');
    assert.ok(c);
    const waiting = gate.acquire('k');
    a?.();
    assert.equal(await settledState(waiting), 'pending', 'a stale release did not wake the waiter');
    assert.equal(gate.inFlight('k'), 2);
    b?.();
    const d = await waiting;
    assert.ok(d);
    b?.();
    assert.equal(gate.inFlight('k'), 2, 'the repeated release of b did not free the slot d holds');
    c?.();
    d();
    assert.equal(gate.inFlight('k'), 0);
  });
});

describe('rate parser', () => {
  const accepted: [string, number, number][] = [
    ['300/min', 300, 60],
    ['10/s', 10, 1],
    ['1000/hour', 1000, 3600],
    ['5000/day', 5000, 86_400],
    ['1/sec', 1, 1],
    ['2/second', 2, 1],
    ['3/m', 3, 60],
    ['4/minute', 4, 60],
    ['5/h', 5, 3600],
    ['6/d', 6, 86_400],
    [' 7 / min ', 7, 60],
  ];
  for (const [text, points, seconds] of accepted) {
    it(`accepts ${JSON.stringify(text)} as ${points} per ${seconds} s`, () => {
      assert.deepEqual(rate.parse(text), { points, seconds });
    });
  }

  const refused = ['0/s', '10', '10/week', 'ten/s', '-1/s', '1.5/s', '10/S', '10/mins', '/s', '', '10 per s'];
  for (const text of refused) {
    it(`refuses ${JSON.stringify(text)} and says how to write a rate`, () => {
      const result = rate.safeParse(text);
      assert.equal(result.success, false);
      assert.deepEqual(
        result.error?.issues.map((i) => i.message),
        [`"${text}" is not a rate — write it like 300/min, 10/s or 1000/hour`],
      );
    });
  }

  it('refuses a number where a rate is expected', () => {
    assert.equal(rate.safeParse(10).success, false);
  });

  it('names the config field of a bad rate', () => {
    const yaml = (limits: string) =>
      `upstreams: { a: { command: node } }\nauth: { none: true }\nlimits: ${limits}\n`;
    const problems = (limits: string): string[] => {
      try {
        parseConfig(yaml(limits), tmpdir(), {});
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.message.split('\n');
      }
      return assert.fail('the config was accepted');
    };
    assert.deepEqual(problems('{ perIp: 10/week }'), [
      'config: limits.perIp "10/week" is not a rate — write it like 300/min, 10/s or 1000/hour',
    ]);
    assert.deepEqual(problems('{ perPrincipal: "0/s" }'), [
      'config: limits.perPrincipal "0/s" is not a rate — write it like 300/min, 10/s or 1000/hour',
    ]);
    assert.deepEqual(problems('{ tools: { everything.echo: fast } }'), [
      'config: limits.tools.everything.echo "fast" is not a rate — write it like 300/min, 10/s or 1000/hour',
    ]);
    const { config } = parseConfig(
      yaml('{ perIp: 5/s, perPrincipal: 100/hour, tools: { everything.echo: 2/s } }'),
      tmpdir(),
      {},
    );
    assert.deepEqual(config.limits.perIp, { points: 5, seconds: 1 });
    assert.deepEqual(config.limits.perPrincipal, { points: 100, seconds: 3600 });
    assert.deepEqual(config.limits.tools, { 'everything.echo': { points: 2, seconds: 1 } });
    // The defaults.
    const defaults = parseConfig(yaml('{}'), tmpdir(), {}).config.limits;
    assert.deepEqual(defaults.perIp, { points: 300, seconds: 60 });
    assert.deepEqual(defaults.perPrincipal, { points: 300, seconds: 60 });
  });
});
