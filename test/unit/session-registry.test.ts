/**
 * The one registry of sessions: caps per principal and in all, least-recently-used eviction of idle
 * sessions to admit new ones, refusal only when every session is busy, the idle sweep, and what it
 * tells the audit trail.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { GatewayError } from '../../src/core/errors.js';
import type { Principal } from '../../src/core/principal.js';
import { createLogger } from '../../src/log/logger.js';
import {
  type CloseReason,
  type Registrable,
  type SessionDetails,
  SessionRegistry,
} from '../../src/relay/session-registry.js';

const logger = createLogger({ level: 'silent', secrets: [], destination: { write: () => {} } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function principal(name: string): Principal {
  return { id: `api-key:${name}`, kind: 'api-key', name, scopes: ['*'] };
}

let nextId = 1;

/** A session whose activity the test sets; `closed` says whether the registry ended it. */
class TestSession implements Registrable {
  readonly id = `s${nextId++}`;
  readonly kind = 'session' as const;
  readonly revision = '2025-11-25';
  readonly pid = undefined;
  readonly upstream = 'everything';
  lastActivity = Date.now();
  inFlight = 0;
  openStreams = 0;
  closed = false;

  constructor(readonly principal: Principal) {}

  activity() {
    return { inFlight: this.inFlight, openStreams: this.openStreams };
  }

  touch(at: number): this {
    this.lastActivity = at;
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const registries: SessionRegistry<TestSession>[] = [];
afterEach(async () => {
  for (const r of registries.splice(0)) await r.closeAll();
});

function registry(caps: { perPrincipal: number; total: number }, idleTimeoutMs = 60_000) {
  const closed: { details: SessionDetails; reason: CloseReason; actor?: Principal }[] = [];
  const r = new SessionRegistry<TestSession>({
    ...caps,
    idleTimeoutMs,
    logger,
    onClose: (details, reason, actor) => closed.push({ details, reason, ...(actor ? { actor } : {}) }),
  });
  registries.push(r);
  return { r, closed };
}

const open = (r: SessionRegistry<TestSession>, who: Principal, at = Date.now()) =>
  r.admit(who, async () => new TestSession(who).touch(at));

function refusedWith(code: string, retryAfter: number) {
  return (err: unknown) => {
    assert.ok(err instanceof GatewayError);
    assert.equal(err.code, code);
    assert.equal(err.retryAfter, retryAfter);
    assert.equal(err.headers['retry-after'], String(retryAfter));
    return true;
  };
}

describe('SessionRegistry', () => {
  it('admits at the per-principal cap by evicting that principal’s least recently used idle session', async () => {
    const { r, closed } = registry({ perPrincipal: 3, total: 10 });
    const alice = principal('alice');
    const bob = principal('bob');
    const now = Date.now();
    const a1 = await open(r, alice, now - 3000);
    const a2 = await open(r, alice, now - 1000);
    const a3 = await open(r, alice, now - 2000);
    const b1 = await open(r, bob, now - 9000);
    const a4 = await open(r, alice);
    assert.equal(a1.closed, true, 'the oldest idle session of alice went');
    assert.deepEqual([a2.closed, a3.closed, b1.closed, a4.closed], [false, false, false, false]);
    assert.equal(r.countFor(alice.id), 3);
    assert.equal(r.get(a1.id, alice.id), undefined);
    assert.equal(closed.length, 1);
    assert.equal(closed[0]?.reason, 'evicted');
    assert.equal(closed[0]?.details.principal.id, alice.id);
  });

  it('never evicts a busy session (a call in flight or an open stream) and refuses when all are busy', async () => {
    const { r, closed } = registry({ perPrincipal: 2, total: 10 });
    const alice = principal('alice');
    const now = Date.now();
    const streaming = await open(r, alice, now - 5000);
    streaming.openStreams = 1;
    const calling = await open(r, alice, now - 4000);
    calling.inFlight = 1;
    let started = false;
    await assert.rejects(
      r.admit(alice, async () => {
        started = true;
        return new TestSession(alice);
      }),
      refusedWith('too_many_sessions', 5),
    );
    assert.equal(started, false, 'nothing was opened for the refused caller');
    assert.deepEqual([streaming.closed, calling.closed, closed.length], [false, false, 0]);
    // Once the call is answered, that session is idle and makes room.
    calling.inFlight = 0;
    await open(r, alice);
    assert.equal(calling.closed, true);
    assert.equal(streaming.closed, false);
  });

  it('holds the anonymous principal (auth: none) to the total cap only: it stands for every caller', async () => {
    const { r } = registry({ perPrincipal: 2, total: 4 });
    const anonymous: Principal = { id: 'anonymous', kind: 'anonymous', name: 'anonymous', scopes: ['*'] };
    const busy = [];
    for (let i = 0; i < 4; i++) {
      const s = await open(r, anonymous);
      s.openStreams = 1;
      busy.push(s);
    }
    assert.equal(r.countFor(anonymous.id), 4, 'past the per-principal cap of 2');
    await assert.rejects(open(r, anonymous), refusedWith('gateway_full', 30));
    assert.ok(busy.every((s) => !s.closed));
  });

  it('admits at the total cap by evicting the least recently used idle session of anyone', async () => {
    const { r, closed } = registry({ perPrincipal: 5, total: 3 });
    const [alice, bob, carol] = [principal('alice'), principal('bob'), principal('carol')];
    const now = Date.now();
    const a = await open(r, alice, now - 1000);
    const b = await open(r, bob, now - 3000);
    const b2 = await open(r, bob, now - 2000);
    b.openStreams = 1;
    const c = await open(r, carol);
    assert.deepEqual([a.closed, b.closed, b2.closed], [false, false, true]);
    assert.equal(r.size, 3);
    assert.equal(closed[0]?.reason, 'evicted');
    assert.equal(closed[0]?.details.principal.id, bob.id);
    // Every session busy: the gateway is full.
    a.inFlight = 1;
    c.inFlight = 1;
    await assert.rejects(open(r, principal('dave')), refusedWith('gateway_full', 30));
  });

  it('holds the caps when many sessions are admitted at the same moment', async () => {
    const { r } = registry({ perPrincipal: 3, total: 100 });
    const alice = principal('alice');
    let opening = 0;
    let mostAtOnce = 0;
    const slowOpen = () =>
      r.admit(alice, async () => {
        opening++;
        mostAtOnce = Math.max(mostAtOnce, opening + r.countFor(alice.id));
        await sleep(20);
        opening--;
        return new TestSession(alice);
      });
    const results = await Promise.allSettled(Array.from({ length: 8 }, slowOpen));
    // Sessions still opening are busy: the first three are admitted, the rest refused.
    assert.equal(results.filter((x) => x.status === 'fulfilled').length, 3);
    assert.equal(mostAtOnce, 3);
    for (const x of results)
      if (x.status === 'rejected') assert.ok(refusedWith('too_many_sessions', 5)(x.reason));
    // Now idle, they make room for new ones one by one, never more than three at a time.
    for (let i = 0; i < 5; i++) await slowOpen();
    assert.equal(r.countFor(alice.id), 3);
  });

  it('sweeps idle sessions after the idle timeout, and leaves busy ones', async () => {
    const { r, closed } = registry({ perPrincipal: 5, total: 5 }, 300);
    const alice = principal('alice');
    const idle = await open(r, alice);
    const busy = await open(r, alice);
    busy.openStreams = 1;
    busy.lastActivity = Date.now() - 10_000;
    await sleep(700);
    assert.equal(idle.closed, true);
    assert.equal(busy.closed, false);
    assert.deepEqual(
      closed.map((c) => c.reason),
      ['idle'],
    );
  });

  it('lists sessions by public handle and closes one for an operator, naming the operator', async () => {
    const { r, closed } = registry({ perPrincipal: 5, total: 5 });
    const alice = principal('alice');
    const admin = principal('admin');
    const s = await open(r, alice);
    const [listed] = r.list();
    assert.ok(listed);
    assert.notEqual(listed.ref, s.id, 'the handle is not the Mcp-Session-Id');
    assert.equal(listed.upstream, 'everything');
    assert.equal(listed.revision, '2025-11-25');
    assert.equal(await r.closeByRef('000000000000', admin), false);
    assert.equal(await r.closeByRef(listed.ref, admin), true);
    assert.equal(s.closed, true);
    assert.equal(closed[0]?.reason, 'admin');
    assert.equal(closed[0]?.actor?.id, admin.id);
    assert.equal(r.size, 0);
  });

  it('tells the audit trail nothing when the client itself ends its session', async () => {
    const { r, closed } = registry({ perPrincipal: 5, total: 5 });
    const alice = principal('alice');
    const s = await open(r, alice);
    await r.close(s);
    assert.equal(s.closed, true);
    assert.equal(closed.length, 0);
    assert.equal(r.get(s.id, alice.id), undefined);
  });

  it('finds a session only for the principal that owns it', async () => {
    const { r } = registry({ perPrincipal: 5, total: 5 });
    const s = await open(r, principal('alice'));
    assert.equal(r.get(s.id, principal('mallory').id), undefined);
    assert.equal(r.get(s.id, principal('alice').id), s);
  });
});
