/**
 * The store contract (store-contract.ts) run against PostgreSQL — each test a fresh database, each
 * instance its own pool — then what only PostgreSQL has: migrations racing under the advisory
 * lock, the schema checks, and the store lost and back.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AuditLog } from '../../src/audit/audit-log.js';
import { Redactor } from '../../src/audit/redact.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres-migrations.js';
import type { Store } from '../../src/store/store.js';
import { StoreUnavailableError } from '../../src/store/unavailable.js';
import { eventually } from '../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { storeContract } from './store-contract.js';

storeContract({
  name: 'PostgreSQL',
  async fresh() {
    const db = await createTestDatabase();
    return {
      open: () => openPostgresStore({ config: db.config(), baseDir: process.cwd() }),
      remove: () => db.drop(),
    };
  },
});

const open = (db: TestDatabase, migrate = true) =>
  openPostgresStore({ config: db.config(), baseDir: process.cwd(), migrate });

/** Closes the database to new connections and ends the open ones: the store is down. */
async function takeDown(db: TestDatabase): Promise<void> {
  await db.admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
  await db.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [db.name]);
}

const bringUp = (db: TestDatabase) => db.admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);

describe('PostgreSQL store: migrations', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(() => db.drop());

  it('five instances starting at once on an empty database apply each migration once', async () => {
    const stores = await Promise.all(Array.from({ length: 5 }, () => open(db)));
    try {
      const { rows } = await db.admin<{ version: number }>(
        'SELECT version FROM schema_version ORDER BY version',
        [],
        'database',
      );
      assert.deepEqual(
        rows.map((r) => r.version),
        Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1),
      );
      assert.equal(stores.filter((s) => s.migrated.from === 0 && s.migrated.to > 0).length, 1);
      assert.ok(stores.every((s) => s.migrated.to === POSTGRES_SCHEMA_VERSION));
    } finally {
      for (const s of stores) await s.close();
    }
  });

  it('without migrating, refuses an empty database and a newer schema, naming the fix', async () => {
    await assert.rejects(open(db, false), {
      message: `PostgreSQL 127.0.0.1:5432/${db.name} holds no Portcullis store yet — run: portcullis store migrate`,
    });
    await (await open(db)).close();
    await (await open(db, false)).close();
    await db.admin('INSERT INTO schema_version (version, applied_at) VALUES (99, 0)', [], 'database');
    await assert.rejects(
      open(db, false),
      /written by a newer Portcullis \(schema 99, this one knows \d+\) — upgrade Portcullis/,
    );
    await assert.rejects(open(db), /written by a newer Portcullis \(schema 99/);
  });

  it('a server that cannot be reached fails the start with the reason and the fix, never the password', async () => {
    const config = db.config();
    const url = new URL(db.url);
    url.port = '1';
    url.password = 'hunter2-secret';
    await assert.rejects(
      openPostgresStore({ config: { ...config, url: url.toString() }, baseDir: process.cwd() }),
      (err: Error) =>
        /^cannot reach the store, PostgreSQL 127\.0\.0\.1:1\/pcl_test_\w+: .*ECONNREFUSED.* — check store\.postgres \(url, ssl\) and that the server runs$/.test(
          err.message,
        ) && !err.message.includes('hunter2'),
    );
  });
});

describe('PostgreSQL store: lost and back', () => {
  let db: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    db = await createTestDatabase();
    store = await open(db);
  });
  afterEach(async () => {
    await bringUp(db);
    await store.close();
    await db.drop();
  });

  it('refuses with StoreUnavailableError (503) while the server is away, then reconnects by itself', async () => {
    await store.apiKeys.insert({
      id: 'key_1',
      name: 'laptop',
      hash: 'a'.repeat(64),
      scopes: [],
      roles: [],
      createdAt: 1,
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    await store.apiKeys.revoke('key_1', 5);
    await takeDown(db);
    // A revoked key is never answered from anywhere else: the lookup itself fails.
    const refused = await store.apiKeys.findByHash('a'.repeat(64)).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof StoreUnavailableError);
    assert.equal(refused.status, 503);
    assert.equal(refused.code, 'store_unavailable');
    assert.equal(refused.retryAfter, 1);
    assert.match(refused.detail ?? '', new RegExp(`^PostgreSQL 127\\.0\\.0\\.1:5432/${db.name}: `));
    await assert.rejects(store.oauth.tokens.isAccessTokenRevoked('jti', 'grt'), StoreUnavailableError);
    assert.equal(await eventually(async () => !(await store.ping())), true);
    await bringUp(db);
    assert.equal(await eventually(() => store.ping()), true);
    assert.equal((await store.apiKeys.findByHash('a'.repeat(64)))?.revokedAt, 5);
  });

  it('connections ended by the server are replaced: the next statements succeed', async () => {
    await store.apiKeys.count();
    const { rows } = await db.admin<{ ended: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1',
      [db.name],
    );
    assert.ok(rows.length > 0 && rows.every((r) => r.ended));
    assert.equal(await eventually(async () => (await store.apiKeys.count().catch(() => -1)) === 0), true);
    assert.equal(await store.apiKeys.count(), 0);
  });

  it('audit events recorded while the store is away reach it once it is back, in one verifiable chain', async () => {
    const audit = new AuditLog({ redactor: new Redactor(), store: store.audit, flushInterval: 10 });
    const event = (n: number) =>
      ({
        type: 'admin.key_revoked',
        time: new Date(Date.UTC(2026, 10, 23) + n).toISOString(),
        actor: { via: 'cli', user: 'ops' },
        keyId: `key_${n}`,
      }) as const;
    audit.record(event(0));
    await audit.flush();
    assert.equal(audit.stored, 1);
    await takeDown(db);
    for (let n = 1; n <= 5; n++) audit.record(event(n));
    await audit.flush();
    assert.equal(audit.stored, 1);
    assert.equal(audit.queueDepth, 5);
    await bringUp(db);
    assert.equal(await eventually(() => audit.stored === 6, 15_000), true);
    await audit.close();
    const verdict = await store.audit.verifyChain();
    assert.equal(verdict.ok && verdict.count, 6);
    assert.deepEqual(
      (await store.audit.query()).map((r) => (JSON.parse(r.json) as { keyId: string }).keyId),
      ['key_0', 'key_1', 'key_2', 'key_3', 'key_4', 'key_5'],
    );
    assert.equal(audit.dropped, 0);
  });
});
