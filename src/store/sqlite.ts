/** The embedded store: one SQLite file (WAL, so the CLI and a running gateway can share it). */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';
import type { ApiKeyRecord, Store } from './store.js';

interface ApiKeyRow {
  id: string;
  name: string;
  hash: string;
  scopes: string;
  roles: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

const toRecord = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  hash: row.hash,
  scopes: JSON.parse(row.scopes) as string[],
  roles: JSON.parse(row.roles) as string[],
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

export function openSqliteStore(file: string): Store {
  const dir = dirname(file);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Database(file);
  // The file holds key hashes and, later, audit records: readable by the owner only.
  chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);

  const insert = db.prepare(
    'INSERT INTO api_keys (id, name, hash, scopes, roles, created_at, expires_at) VALUES (@id, @name, @hash, @scopes, @roles, @createdAt, @expiresAt)',
  );
  const byHash = db.prepare<[string], ApiKeyRow>('SELECT * FROM api_keys WHERE hash = ?');
  const all = db.prepare<[], ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at');
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM api_keys');
  const revoke = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const touch = db.prepare(
    'UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?',
  );
  const touchAll = db.transaction((lastUsed: ReadonlyMap<string, number>) => {
    for (const [id, at] of lastUsed) touch.run(at, id);
  });

  return {
    apiKeys: {
      async insert(record) {
        insert.run({ ...record, scopes: JSON.stringify(record.scopes), roles: JSON.stringify(record.roles) });
      },
      async findByHash(hash) {
        const row = byHash.get(hash);
        return row ? toRecord(row) : undefined;
      },
      async list() {
        return all.all().map(toRecord);
      },
      async count() {
        return count.get()?.n ?? 0;
      },
      async revoke(id, at) {
        return revoke.run(at, id).changes === 1;
      },
      async touch(lastUsed) {
        touchAll(lastUsed);
      },
    },
    async close() {
      db.close();
    },
  };
}
