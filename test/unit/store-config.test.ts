/**
 * store.postgres in the config: the URL alone or with options, defaults, what is refused and why,
 * TLS on and verified by default off loopback, and TLS never silently dropped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import type { PostgresConfig } from '../../src/config/schema.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { describePostgres, postgresTls } from '../../src/store/postgres-pool.js';
import { createTestDatabase, POSTGRES_TEST_SECRET } from '../helpers/postgres.js';

const BASE = `upstreams: { x: { command: node } }\nauth:\n  apiKeys: {}\n`;
const SECRET = `  secret: ${POSTGRES_TEST_SECRET}\n`;

function parse(store: string, secret = SECRET, env: NodeJS.ProcessEnv = {}): PostgresConfig {
  return parseConfig(`${BASE}${secret}store:\n  postgres: ${store}\n`, '/etc/portcullis', env).config.store
    .postgres as PostgresConfig;
}

function problems(store: string, secret = SECRET): string[] {
  try {
    parse(store, secret);
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

const dir = mkdtempSync(join(tmpdir(), 'pcl-store-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('store.postgres config', () => {
  it('takes the URL alone, from the environment, with safe defaults', () => {
    const env = { DATABASE_URL: 'postgres://portcullis:pw@db.internal:5433/gateway' };
    assert.deepEqual(parse('${env:DATABASE_URL}', SECRET, env), {
      url: env.DATABASE_URL,
      poolSize: 10,
      connectTimeout: 5000,
      queryTimeout: 10_000,
    });
    assert.deepEqual(
      parse(
        '{ url: "postgresql://db/x", poolSize: 4, connectTimeout: 2s, queryTimeout: 30s, ssl: { ca: ca.pem } }',
      ),
      {
        url: 'postgresql://db/x',
        poolSize: 4,
        connectTimeout: 2000,
        queryTimeout: 30_000,
        ssl: { ca: 'ca.pem', rejectUnauthorized: true },
      },
    );
  });

  it('refuses what is not a PostgreSQL URL, TLS settings in the URL, and half a client certificate', () => {
    assert.deepEqual(problems('"mysql://db/x"'), [
      'config: store.postgres.url uses mysql: — write a postgres:// or postgresql:// URL',
    ]);
    assert.deepEqual(problems('"not a url"'), [
      'config: store.postgres.url is not a valid URL — write it like postgres://portcullis@db.example.com:5432/portcullis',
    ]);
    assert.deepEqual(problems('"postgres://db/x?sslmode=require"'), [
      'config: store.postgres.url sets sslmode in the URL — remove it and configure TLS under store.postgres.ssl (ca, cert, key), which is on and verified by default for a host other than loopback',
    ]);
    assert.deepEqual(problems('{ url: "postgres://db/x", ssl: { cert: c.pem } }'), [
      'config: store.postgres.ssl needs cert and key together — set both (a client certificate and its key) or neither',
    ]);
    assert.deepEqual(problems('{ url: "postgres://db/x", pool: 3 }').length, 1);
  });

  it('needs auth.secret: every instance and the CLI must key and sign alike', () => {
    const [line] = problems('"postgres://db/x"', '');
    assert.match(
      line ?? '',
      /^config: auth\.secret is missing — with store\.postgres every gateway and the CLI/,
    );
  });

  it('uses verified TLS off loopback, none on loopback or a socket, and what the config says otherwise', () => {
    assert.deepEqual(postgresTls(parse('"postgres://db.internal/x"'), dir), { rejectUnauthorized: true });
    assert.equal(postgresTls(parse('"postgres://127.0.0.1/x"'), dir), false);
    assert.equal(postgresTls(parse('"postgres://localhost/x"'), dir), false);
    assert.equal(postgresTls(parse('"postgres:///x?host=/var/run/postgresql"'), dir), false);
    assert.equal(postgresTls(parse('{ url: "postgres://db.internal/x", ssl: false }'), dir), false);
    writeFileSync(join(dir, 'ca.pem'), 'CA PEM');
    assert.deepEqual(
      postgresTls(
        parse('{ url: "postgres://127.0.0.1/x", ssl: { ca: ca.pem, servername: db.internal } }'),
        dir,
      ),
      { rejectUnauthorized: true, servername: 'db.internal', ca: 'CA PEM' },
    );
    assert.throws(() => postgresTls(parse('{ url: "postgres://db/x", ssl: { ca: missing.pem } }'), dir), {
      message: `cannot read store.postgres.ssl.ca ${join(dir, 'missing.pem')} (ENOENT) — check the path and its permissions`,
    });
  });

  it('names the server in messages without the user name or password', () => {
    assert.equal(
      describePostgres('postgres://portcullis:hunter2@db.internal:5433/gateway'),
      'db.internal:5433/gateway',
    );
    assert.equal(describePostgres('postgres://portcullis@db.internal'), 'db.internal:5432/portcullis');
    assert.equal(describePostgres('postgres:///gw?host=/run/postgresql'), '/run/postgresql:5432/gw');
  });

  it('TLS asked for is never dropped: a server without TLS is refused', async () => {
    const db = await createTestDatabase();
    try {
      await assert.rejects(
        openPostgresStore({ config: db.config('ssl: {}'), baseDir: dir }),
        /cannot reach the store, PostgreSQL 127\.0\.0\.1:5432\/pcl_test_\w+: The server does not support SSL connections/,
      );
    } finally {
      await db.drop();
    }
  });
});
