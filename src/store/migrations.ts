/**
 * Versioned schema migrations. Each entry runs once, in order, inside a transaction; the version
 * reached is kept in SQLite's user_version. Never edit a released migration: append a new one.
 */
import type { Database } from 'better-sqlite3';

const MIGRATIONS: readonly string[] = [
  // 1: API keys, looked up by the keyed hash of the key.
  `CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     scopes TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     last_used_at INTEGER,
     revoked_at INTEGER
   )`,
  // 2: roles on API keys.
  `ALTER TABLE api_keys ADD COLUMN roles TEXT NOT NULL DEFAULT '[]'`,
];

export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the store was written by a newer Portcullis (schema ${current}, this one knows ${MIGRATIONS.length}) — upgrade Portcullis`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
