/**
 * The stored audit trail: appends form a hash chain that `verifyChain` walks; altering or deleting
 * a record directly in SQLite is found at the right record; queries filter on the indexed columns.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { canonicalJson, chainHash, GENESIS_HASH } from '../../src/audit/chain.js';
import type { AuditEvent, PolicyDecisionEvent } from '../../src/audit/events.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'pcl-audit-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(dir, `a${++n}.db`);

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

const alice = { id: 'api-key:key_alice', kind: 'api-key', name: 'alice-laptop' } as const;
const bob = { id: 'basic:bob', kind: 'basic', name: 'bob' } as const;

function decision(
  minutes: number,
  principal: PolicyDecisionEvent['principal'],
  tool: string,
  outcome: 'allowed' | 'denied',
  upstream = 'everything',
): PolicyDecisionEvent {
  return {
    type: 'policy.decision',
    time: at(minutes),
    requestId: `req-${minutes}`,
    principal,
    clientIp: '127.0.0.1',
    upstream,
    method: 'tools/call',
    target: { kind: 'tool', name: tool },
    outcome,
    rule: outcome === 'allowed' ? 'class read' : 'class write',
    ...(outcome === 'allowed'
      ? { latencyMs: 3, upstreamStatus: 'ok' as const }
      : { code: 'insufficient_scope' }),
  };
}

/** Ten events over ten minutes, of several types. */
function sample(): AuditEvent[] {
  return [
    {
      type: 'auth.success',
      time: at(0),
      requestId: 'req-0',
      method: 'api-key',
      principal: alice,
      clientIp: '127.0.0.1',
      upstream: 'everything',
      endpoint: '/mcp',
    },
    decision(1, alice, 'echo', 'allowed'),
    decision(2, alice, 'write_file', 'denied', 'files'),
    {
      type: 'auth.failure',
      time: at(3),
      method: 'basic',
      reason: 'invalid_token',
      message: 'wrong user name or password',
      status: 401,
      clientIp: '10.0.0.9',
      upstream: 'files',
      endpoint: '/servers/files/mcp',
      username: 'bob',
    },
    decision(4, bob, 'read_text_file', 'allowed', 'files'),
    decision(5, bob, 'write_file', 'denied', 'files'),
    {
      type: 'rate_limit.refused',
      time: at(6),
      budget: 'tool',
      code: 'rate_limited',
      clientIp: '127.0.0.1',
      upstream: 'everything',
      principal: alice,
      tool: 'echo',
      retryAfter: 30,
    },
    {
      type: 'admin.key_revoked',
      time: at(7),
      actor: { via: 'cli', user: 'ops' },
      keyId: 'key_alice',
    },
    decision(8, alice, 'echo', 'allowed'),
    { type: 'gateway.stop', time: at(9), reason: 'SIGTERM', uptimeMs: 540_000, auditDropped: 0 },
  ];
}

describe('audit store: the hash chain', () => {
  let store: Store;
  let file: string;
  beforeEach(async () => {
    file = freshFile();
    store = openSqliteStore(file);
    await store.audit.append(sample());
  });

  /** The store's file opened directly, as someone with write access to it would. */
  const raw = (work: (db: Database.Database) => void) => {
    const db = new Database(file);
    try {
      work(db);
    } finally {
      db.close();
    }
  };

  it('numbers records 1…n, links each to the one before and hashes prev_hash + canonical JSON', async () => {
    const records = await store.audit.query();
    assert.deepEqual(
      records.map((r) => r.seq),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    let prev = GENESIS_HASH;
    for (const [i, record] of records.entries()) {
      const event = sample()[i] as AuditEvent;
      assert.equal(record.json, canonicalJson(event));
      assert.deepEqual(JSON.parse(record.json), event);
      assert.equal(record.prevHash, prev);
      assert.equal(record.hash, chainHash(prev, record.json));
      assert.match(record.hash, /^[0-9a-f]{64}$/);
      prev = record.hash;
    }
    await store.close();
  });

  it('verifies an intact chain and reports its head', async () => {
    const verdict = await store.audit.verifyChain();
    const last = (await store.audit.query()).at(-1);
    assert.deepEqual(verdict, { ok: true, count: 10, head: { seq: 10, hash: last?.hash } });
    await store.close();
  });

  it('verifies an empty chain', async () => {
    const empty = openSqliteStore(freshFile());
    assert.deepEqual(await empty.audit.verifyChain(), { ok: true, count: 0, head: null });
    await empty.close();
    await store.close();
  });

  it('continues the chain across appends and across two connections (a CLI and a gateway)', async () => {
    const other = openSqliteStore(file);
    for (let i = 0; i < 5; i++) {
      await store.audit.append([decision(10 + i, alice, 'echo', 'allowed')]);
      await other.audit.append([
        decision(20 + i, bob, 'echo', 'allowed'),
        decision(30 + i, bob, 'x', 'denied'),
      ]);
    }
    const verdict = await other.audit.verifyChain();
    assert.equal(verdict.ok, true);
    assert.equal(verdict.ok && verdict.count, 25);
    await other.close();
    await store.close();
  });

  it('finds a record whose event was altered in SQLite, at that record', async () => {
    await store.close();
    raw((db) =>
      db.prepare(`UPDATE audit_events SET json = replace(json, '"denied"', '"allowed"') WHERE seq = 6`).run(),
    );
    const reopened = openSqliteStore(file);
    const verdict = await reopened.audit.verifyChain();
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.seq, 6);
    assert.match(!verdict.ok ? verdict.reason : '', /record 6 was altered/);
    assert.equal(!verdict.ok && verdict.count, 5);
    await reopened.close();
  });

  it('finds an altered record whose hash was recomputed, at the next record', async () => {
    await store.close();
    raw((db) => {
      const row = db.prepare('SELECT json, prev_hash FROM audit_events WHERE seq = 3').get() as {
        json: string;
        prev_hash: string;
      };
      const json = row.json.replace('"denied"', '"allowed"');
      db.prepare('UPDATE audit_events SET json = ?, outcome = ?, hash = ? WHERE seq = 3').run(
        json,
        'allowed',
        chainHash(row.prev_hash, json),
      );
    });
    const reopened = openSqliteStore(file);
    const verdict = await reopened.audit.verifyChain();
    assert.equal(!verdict.ok && verdict.seq, 4);
    assert.match(!verdict.ok ? verdict.reason : '', /does not link to record 3/);
    await reopened.close();
  });

  it('finds an indexed column changed without the event (queries would lie), at that record', async () => {
    await store.close();
    raw((db) => db.prepare(`UPDATE audit_events SET principal = 'api-key:key_someone' WHERE seq = 5`).run());
    const reopened = openSqliteStore(file);
    const verdict = await reopened.audit.verifyChain();
    assert.equal(!verdict.ok && verdict.seq, 5);
    assert.match(!verdict.ok ? verdict.reason : '', /principal column/);
    await reopened.close();
  });

  it('finds a deleted record, naming the missing seq', async () => {
    await store.close();
    raw((db) => db.prepare('DELETE FROM audit_events WHERE seq = 7').run());
    const reopened = openSqliteStore(file);
    const verdict = await reopened.audit.verifyChain();
    assert.equal(!verdict.ok && verdict.seq, 7);
    assert.match(!verdict.ok ? verdict.reason : '', /record 7 is missing: record 8 follows record 6/);
    assert.equal(!verdict.ok && verdict.count, 6);
    await reopened.close();
  });

  it('finds a deleted first record and several deleted records', async () => {
    await store.close();
    raw((db) => db.prepare('DELETE FROM audit_events WHERE seq = 1').run());
    let reopened = openSqliteStore(file);
    let verdict = await reopened.audit.verifyChain();
    assert.equal(!verdict.ok && verdict.seq, 1);
    await reopened.close();
    raw((db) => db.prepare('DELETE FROM audit_events WHERE seq BETWEEN 1 AND 4').run());
    reopened = openSqliteStore(file);
    verdict = await reopened.audit.verifyChain();
    assert.equal(!verdict.ok && verdict.seq, 1);
    assert.match(!verdict.ok ? verdict.reason : '', /records 1–4 are missing/);
    await reopened.close();
  });

  it('finds a record renumbered to hide a deletion, at the renumbered record', async () => {
    await store.close();
    raw((db) => {
      db.prepare('DELETE FROM audit_events WHERE seq = 10').run();
      db.prepare('UPDATE audit_events SET seq = 10 WHERE seq = 9').run();
      db.prepare('DELETE FROM audit_events WHERE seq = 4').run();
      db.prepare('UPDATE audit_events SET seq = seq - 1 WHERE seq > 4').run();
    });
    const reopened = openSqliteStore(file);
    const verdict = await reopened.audit.verifyChain();
    assert.equal(!verdict.ok && verdict.seq, 4);
    await reopened.close();
  });

  it('checks chains longer than one page', async () => {
    const many = Array.from({ length: 2345 }, (_, i) => decision(100 + i, alice, `t${i % 7}`, 'allowed'));
    await store.audit.append(many);
    const verdict = await store.audit.verifyChain();
    assert.equal(verdict.ok && verdict.count, 2355);
    let count = 0;
    for await (const _ of store.audit.iterate({ afterSeq: 2000 })) count++;
    assert.equal(count, 355);
    await store.close();
  });
});

describe('audit store: queries', () => {
  const store = openSqliteStore(freshFile());
  after(() => store.close());
  const seqs = async (query: Parameters<typeof store.audit.query>[0]) =>
    (await store.audit.query(query)).map((r) => r.seq);

  it('stores the indexed columns of each event type', async () => {
    await store.audit.append(sample());
    const records = await store.audit.query();
    assert.deepEqual(
      records.map((r) => [r.type, r.principal, r.principalName, r.upstream, r.tool, r.outcome]),
      [
        ['auth.success', 'api-key:key_alice', 'alice-laptop', 'everything', null, 'allowed'],
        ['policy.decision', 'api-key:key_alice', 'alice-laptop', 'everything', 'echo', 'allowed'],
        ['policy.decision', 'api-key:key_alice', 'alice-laptop', 'files', 'write_file', 'denied'],
        ['auth.failure', 'basic:bob', 'bob', 'files', null, 'denied'],
        ['policy.decision', 'basic:bob', 'bob', 'files', 'read_text_file', 'allowed'],
        ['policy.decision', 'basic:bob', 'bob', 'files', 'write_file', 'denied'],
        ['rate_limit.refused', 'api-key:key_alice', 'alice-laptop', 'everything', 'echo', 'denied'],
        ['admin.key_revoked', 'os:ops', 'ops', null, null, null],
        ['policy.decision', 'api-key:key_alice', 'alice-laptop', 'everything', 'echo', 'allowed'],
        ['gateway.stop', null, null, null, null, null],
      ],
    );
    assert.equal(records[0]?.time, T0);
  });

  it('filters by time: since inclusive, until exclusive', async () => {
    assert.deepEqual(await seqs({ since: T0 + 3 * 60_000, until: T0 + 6 * 60_000 }), [4, 5, 6]);
  });

  it('filters by principal id or name, exactly or with *', async () => {
    assert.deepEqual(await seqs({ principal: 'basic:bob' }), [4, 5, 6]);
    assert.deepEqual(await seqs({ principal: 'bob' }), [4, 5, 6]);
    assert.deepEqual(await seqs({ principal: 'api-key:*' }), [1, 2, 3, 7, 9]);
    assert.deepEqual(await seqs({ principal: 'bo' }), []);
  });

  it('filters by tool, bare or qualified by its upstream, exactly or with *', async () => {
    assert.deepEqual(await seqs({ tool: 'write_file' }), [3, 6]);
    assert.deepEqual(await seqs({ tool: 'files.write_file' }), [3, 6]);
    assert.deepEqual(await seqs({ tool: 'everything.*' }), [2, 7, 9]);
    assert.deepEqual(await seqs({ tool: '*_file' }), [3, 5, 6]);
  });

  it('filters by outcome and type, and combines filters', async () => {
    assert.deepEqual(await seqs({ outcome: 'denied' }), [3, 4, 6, 7]);
    assert.deepEqual(await seqs({ type: 'auth.*' }), [1, 4]);
    assert.deepEqual(
      await seqs({ type: 'policy.decision', outcome: 'denied', principal: 'alice-laptop' }),
      [3],
    );
  });

  it('limits to the oldest or the newest matches, always in seq order', async () => {
    assert.deepEqual(await seqs({ limit: 3 }), [1, 2, 3]);
    assert.deepEqual(await seqs({ limit: 3, newest: true }), [8, 9, 10]);
    assert.deepEqual(await seqs({ afterSeq: 8 }), [9, 10]);
  });

  it('treats ? and [ in a pattern literally', async () => {
    assert.deepEqual(await seqs({ tool: 'ech?' }), []);
    assert.deepEqual(await seqs({ tool: '[e]cho*' }), []);
  });
});

describe('audit store: migration', () => {
  it('adds the audit table to a store written by migrations 1–2, keeping its keys', async () => {
    const file = freshFile();
    const db = new Database(file);
    db.exec(`CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
      scopes TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER, last_used_at INTEGER, revoked_at INTEGER)`);
    db.exec(`ALTER TABLE api_keys ADD COLUMN roles TEXT NOT NULL DEFAULT '[]'`);
    db.prepare(
      `INSERT INTO api_keys (id, name, hash, scopes, created_at) VALUES ('key_1', 'old', 'h', '[]', 1)`,
    ).run();
    db.pragma('user_version = 2');
    db.close();
    const store = openSqliteStore(file);
    assert.equal((await store.apiKeys.list())[0]?.name, 'old');
    await store.audit.append(sample());
    assert.equal((await store.audit.verifyChain()).ok, true);
    await store.close();
    const check = new Database(file);
    assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    check.close();
  });
});
