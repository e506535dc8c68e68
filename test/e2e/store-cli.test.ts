/**
 * `portcullis store migrate|copy` against real stores: a SQLite store made through the CLI, copied
 * into a PostgreSQL database of the test's own, where the same key works and the audit chain
 * verifies; a non-empty target refused unless --replace; migrate on a fresh database and again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from '../helpers/auth.js';
import { captureSecrets } from '../helpers/capture.js';
import { EVERYTHING, NODE } from '../helpers/gateway.js';
import { createTestDatabase, POSTGRES_TEST_SECRET, type TestDatabase } from '../helpers/postgres.js';

describe('portcullis store migrate and copy', () => {
  let dir: string;
  let database: TestDatabase;
  let sqliteConfig: string;
  let postgresConfig: string;
  let key: string;

  const config = (store: string) => `listen: { host: 127.0.0.1, port: 0 }
store: ${store}
auth: { apiKeys: {}, secret: "${POSTGRES_TEST_SECRET}" }
upstreams:
  everything: { command: ${JSON.stringify(NODE)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }
`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-store-cli-'));
    database = await createTestDatabase();
    sqliteConfig = join(dir, 'sqlite.yaml');
    postgresConfig = join(dir, 'postgres.yaml');
    writeFileSync(sqliteConfig, config(`{ sqlite: ${JSON.stringify(join(dir, 'p.db'))} }`));
    writeFileSync(postgresConfig, config(`{ postgres: "${database.url}" }`));
    captureSecrets(POSTGRES_TEST_SECRET);
    for (const name of ['laptop', 'ci']) {
      const made = cli(['keys', 'create', '--name', name, '--scopes', '*', '--config', sqliteConfig]);
      assert.equal(made.status, 0, made.stderr);
      key ??= made.stdout.trim();
    }
    captureSecrets(key);
    const revoked = cli(['keys', 'revoke', 'key_does_not_exist', '--config', sqliteConfig]);
    assert.notEqual(revoked.status, 0);
  });
  after(async () => {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates a fresh PostgreSQL database, then finds nothing to do', () => {
    const first = cli(['store', 'migrate', '--config', postgresConfig]);
    assert.equal(first.status, 0, first.stderr);
    assert.match(
      first.stdout,
      new RegExp(`PostgreSQL 127\\.0\\.0\\.1:5432/${database.name}: schema version 0 -> \\d+`),
    );
    const again = cli(['store', 'migrate', '--config', postgresConfig]);
    assert.match(again.stdout, /is at schema version \d+: nothing to do/);
    const sqlite = cli(['store', 'migrate', '--config', sqliteConfig]);
    assert.match(sqlite.stdout, /SQLite .*p\.db is at schema version \d+/);
  });

  it('copies every row, the keys work there and the audit chain verifies to the same records', () => {
    const sourceAudit = cli(['audit', 'verify', '--config', sqliteConfig]);
    assert.equal(sourceAudit.status, 0, sourceAudit.stderr);
    const copied = cli(['store', 'copy', '--config', postgresConfig, '--from', join(dir, 'p.db')]);
    assert.equal(copied.status, 0, copied.stderr);
    assert.match(
      copied.stdout,
      /^Copied \d+ rows in \d+ tables from .*p\.db to PostgreSQL 127\.0\.0\.1:5432\/\w+; the audit chain verifies \(2 records, head [0-9a-f]{16}…\)\n$/,
    );
    assert.match(copied.stderr, /api_keys: 2\/2/, 'progress per table');
    assert.ok(
      !copied.stdout.includes('postgres://') && !copied.stderr.includes('postgres://'),
      'no URL printed',
    );
    const listed = cli(['keys', 'list', '--config', postgresConfig]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /laptop/);
    assert.match(listed.stdout, /ci/);
    const verified = cli(['audit', 'verify', '--config', postgresConfig]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  });

  it('refuses a target that holds data, unless --replace', () => {
    const refused = cli(['store', 'copy', '--config', postgresConfig, '--from', join(dir, 'p.db')]);
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /holds data already \(.*api_keys: 2 row\(s\).*\) — copy into an empty database, or pass --replace/,
    );
    const replaced = cli([
      'store',
      'copy',
      '--config',
      postgresConfig,
      '--from',
      join(dir, 'p.db'),
      '--replace',
    ]);
    assert.equal(replaced.status, 0, replaced.stderr);
  });

  it('names the problem with a bad --to or a missing --from', () => {
    const bad = cli(['store', 'copy', '--config', sqliteConfig, '--to', 'mysql://db/x']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--to uses mysql: — write a postgres:\/\/ or postgresql:\/\/ URL/);
    const missing = cli(['store', 'copy', '--config', postgresConfig, '--from', join(dir, 'nope.db')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no SQLite store at .*nope\.db — check --from/);
  });
});
