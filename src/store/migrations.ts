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
  // 3: the audit trail, a hash chain (src/audit/chain.ts); the other columns index queries.
  `CREATE TABLE audit_events (
     seq INTEGER PRIMARY KEY,
     time INTEGER NOT NULL,
     type TEXT NOT NULL,
     principal TEXT,
     principal_name TEXT,
     upstream TEXT,
     tool TEXT,
     outcome TEXT,
     json TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   );
   CREATE INDEX audit_events_time ON audit_events (time);
   CREATE INDEX audit_events_principal ON audit_events (principal);
   CREATE INDEX audit_events_tool ON audit_events (tool)`,
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
