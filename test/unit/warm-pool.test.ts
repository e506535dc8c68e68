/**
 * The warm pool's rules, with real child processes (tiny Node scripts over stdio): it fills to its
 * size with children that answered ping, one start at a time, hands each out once and replaces it,
 * replaces a child that dies while warm, backs off while the command keeps failing, ends a child
 * that never gets ready, and leaves no child alive once closed.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { UpstreamConfig } from '../../src/config/schema.js';
import { backoffDelay } from '../../src/core/backoff.js';
import { createLogger } from '../../src/log/logger.js';
import type { Connector, UpstreamConnection } from '../../src/upstream/connection.js';
import { startStdio } from '../../src/upstream/stdio.js';
import { WarmPool } from '../../src/upstream/warm-pool.js';
import { eventually, isAlive } from '../helpers/gateway.js';

const logger = createLogger({ level: 'silent', secrets: [], destination: { write: () => {} } });

/** Answers every request with an empty result (or, with ANSWER=error, an error) — ping included. */
const SERVER = `
const answer = process.env.ANSWER;
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  const body = answer === 'error' ? { error: { code: -32600, message: 'not initialized' } } : { result: {} };
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, ...body }) + '\\n');
});`;
const CRASH = 'process.exit(3)';
const SILENT = 'process.stdin.resume()';

interface Counting {
  readonly connector: Connector;
  /** Start times (ms) of every child, and the most started at once while an earlier one failed. */
  readonly starts: number[];
  readonly pids: number[];
}

function connector(script: string, env: Record<string, string> = {}): Counting {
  const starts: number[] = [];
  const pids: number[] = [];
  const config = {
    command: process.execPath,
    args: ['-e', script],
    env,
  } as unknown as UpstreamConfig & { command: string };
  return {
    starts,
    pids,
    connector: async () => {
      starts.push(Date.now());
      const connection = await startStdio({ name: 'fixture', config, baseDir: process.cwd(), logger });
      if (connection.pid !== undefined) pids.push(connection.pid);
      return connection;
    },
  };
}

const pools: WarmPool[] = [];
const handedOut: UpstreamConnection[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await Promise.all(handedOut.splice(0).map((c) => c.close()));
});

function pool(c: Counting, size: number, readyTimeoutMs = 10_000, initialDelay = 20): WarmPool {
  const p = new WarmPool({
    name: 'fixture',
    size,
    connector: c.connector,
    readyTimeoutMs,
    backoff: { initialDelay, maxDelay: initialDelay * 4 },
    logger,
  });
  pools.push(p);
  p.fill();
  return p;
}

const take = (p: WarmPool): UpstreamConnection | undefined => {
  const c = p.take();
  if (c) handedOut.push(c);
  return c;
};

describe('backoffDelay', () => {
  it('is nothing without failures, doubles per failure, and stops at the maximum', () => {
    const backoff = { initialDelay: 250, maxDelay: 30_000 };
    assert.deepEqual(
      [0, 1, 2, 3, 8, 9, 40].map((n) => backoffDelay(n, backoff)),
      [0, 250, 500, 1000, 30_000, 30_000, 30_000],
    );
  });
});

describe('WarmPool', () => {
  it('fills to its size with children that answered ping', async () => {
    const c = connector(SERVER);
    const p = pool(c, 2);
    assert.ok(await eventually(() => p.stats().ready === 2, 15_000), JSON.stringify(p.stats()));
    assert.equal(p.stats().starting, 0);
    assert.equal(new Set(p.pids()).size, 2);
    assert.ok(p.pids().every(isAlive));
    assert.ok((await p.memory()) > 0, 'the children have resident memory');
  });

  it('hands each child out once and starts a replacement for it', async () => {
    const c = connector(SERVER);
    const p = pool(c, 2);
    assert.ok(await eventually(() => p.stats().ready === 2, 15_000));
    const first = take(p);
    const second = take(p);
    assert.ok(first?.pid && second?.pid);
    assert.notEqual(first.pid, second.pid);
    assert.equal(take(p), undefined, 'an empty pool hands out nothing');
    assert.ok(await eventually(() => p.stats().ready === 2, 15_000), JSON.stringify(p.stats()));
    const waiting = p.pids();
    assert.ok(
      !waiting.includes(first.pid) && !waiting.includes(second.pid),
      'handed-out children never return',
    );
    assert.deepEqual(
      { handedOut: p.stats().handedOut, missed: p.stats().missed, failures: p.stats().failures },
      { handedOut: 2, missed: 1, failures: 0 },
    );
    assert.equal(c.starts.length, 4);
    // What a session gets is a live child, its own to talk to.
    const answered = new Promise((resolve) => {
      first.onmessage = resolve;
    });
    await first.send({ jsonrpc: '2.0', id: 7, method: 'ping' });
    assert.deepEqual(await answered, { jsonrpc: '2.0', id: 7, result: {} });
  });

  it('counts a child that answers ping with an error as ready (it reads and answers)', async () => {
    const p = pool(connector(SERVER, { ANSWER: 'error' }), 1);
    assert.ok(await eventually(() => p.stats().ready === 1, 15_000));
  });

  it('replaces a child that dies while warm', async () => {
    const p = pool(connector(SERVER), 1);
    assert.ok(await eventually(() => p.stats().ready === 1, 15_000));
    const [victim] = p.pids();
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    assert.ok(
      await eventually(() => p.stats().ready === 1 && p.pids()[0] !== victim, 15_000),
      JSON.stringify(p.stats()),
    );
    assert.equal(p.stats().failures, 1, 'a child that died soon after it got ready is a failure');
  });

  it('backs off while the command keeps failing, and still hands out nothing', async () => {
    const c = connector(CRASH);
    const p = pool(c, 3, 10_000, 20);
    assert.ok(await eventually(() => p.stats().failures >= 5, 15_000), JSON.stringify(p.stats()));
    assert.equal(take(p), undefined);
    // Each start waits out the back-off of the failures before it (20, 40, 80, 80… ms).
    for (let i = 1; i < c.starts.length; i++) {
      const gap = (c.starts[i] as number) - (c.starts[i - 1] as number);
      assert.ok(gap >= backoffDelay(i, { initialDelay: 20, maxDelay: 80 }) - 2, `start ${i}: ${gap} ms`);
    }
    assert.ok(p.stats().starting <= 1);
  });

  it('starts one child at a time', async () => {
    const c = connector(SERVER);
    const p = pool(c, 3);
    const most = { starting: 0 };
    assert.ok(
      await eventually(() => {
        most.starting = Math.max(most.starting, p.stats().starting);
        return p.stats().ready === 3;
      }, 20_000),
    );
    assert.equal(most.starting, 1);
    assert.equal(c.starts.length, 3);
  });

  it('ends a child that does not answer ping in time, and counts it as a failure', async () => {
    const c = connector(SILENT);
    const p = pool(c, 1, 300, 5000);
    assert.ok(await eventually(() => p.stats().failures === 1, 15_000));
    assert.ok(await eventually(() => !isAlive(c.pids[0] as number)), 'the silent child was ended');
    assert.equal(p.stats().ready, 0);
  });

  it('leaves no child alive once closed, ready or still starting', async () => {
    const ready = connector(SERVER);
    const starting = connector(SILENT);
    const a = pool(ready, 2);
    const b = pool(starting, 2, 60_000);
    assert.ok(await eventually(() => a.stats().ready === 2 && starting.pids.length === 1, 15_000));
    await Promise.all([a.close(), b.close()]);
    for (const pid of [...ready.pids, ...starting.pids]) assert.equal(isAlive(pid), false, `child ${pid}`);
    a.fill();
    assert.equal(a.stats().starting, 0, 'a closed pool starts nothing');
    assert.equal(a.take(), undefined);
  });
});
