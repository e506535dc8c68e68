/** The embedded store: one SQLite file (WAL, so the CLI and a running gateway can share it). */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEvent } from '../audit/events.js';
import { auditSelect, auditStore, inSeqOrder, linkEvents, SQLITE_AUDIT } from './audit-store.js';
import { migrate } from './migrations.js';
import { type ApiKeyRow, type AuditRow, toApiKey, toAuditRecord } from './rows.js';
import { sqliteOAuthStore } from './sqlite-oauth.js';
import { sqlitePinStore } from './sqlite-pins.js';
import type { AuditStore, Store } from './store.js';

export function openSqliteStore(file: string): Store {
  const dir = dirname(file);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Database(file);
  // The file holds key hashes, audit records and OAuth state: readable by the owner only.
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
    audit: sqliteAuditStore(db),
    oauth: sqliteOAuthStore(db),
    pins: sqlitePinStore(db),
    apiKeys: {
      async insert(record) {
        insert.run({ ...record, scopes: JSON.stringify(record.scopes), roles: JSON.stringify(record.roles) });
      },
      async findByHash(hash) {
        const row = byHash.get(hash);
        return row ? toApiKey(row) : undefined;
      },
      async list() {
        return all.all().map(toApiKey);
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
    async ping() {
      try {
        return db.prepare('SELECT 1 AS one').get() !== undefined;
      } catch {
        return false;
      }
    },
    async close() {
      db.close();
    },
  };
}

function sqliteAuditStore(db: Database.Database): AuditStore {
  const head = db.prepare<[], { seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1',
  );
  const insert = db.prepare<AuditRow>(
    `INSERT INTO audit_events (seq, time, type, principal, principal_name, upstream, tool, outcome, json, prev_hash, hash)
     VALUES (@seq, @time, @type, @principal, @principal_name, @upstream, @tool, @outcome, @json, @prev_hash, @hash)`,
  );
  const appendAll = db.transaction((events: readonly AuditEvent[]) => {
    for (const row of linkEvents(head.get(), events)) insert.run(row);
  });
  return auditStore(
    async (query) => {
      const { sql, params } = auditSelect(query, SQLITE_AUDIT);
      return inSeqOrder(
        query,
        db
          .prepare<(string | number)[], AuditRow>(sql)
          .all(...params)
          .map(toAuditRecord),
      );
    },
    // IMMEDIATE: take the write lock before reading the head, so two processes never fork the chain.
    async (events) => appendAll.immediate(events),
  );
}
