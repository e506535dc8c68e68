/** The embedded store: one SQLite file (WAL, so the CLI and a running gateway can share it). */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditRecord } from '../audit/chain.js';
import { canonicalJson, chainHash, eventTimeMs, GENESIS_HASH, verifyRecords } from '../audit/chain.js';
import { type AuditEvent, auditColumns } from '../audit/events.js';
import { migrate } from './migrations.js';
import { sqliteApprovalStore } from './sqlite-approvals.js';
import { sqliteOAuthStore } from './sqlite-oauth.js';
import { sqlitePinStore } from './sqlite-pins.js';
import type { ApiKeyRecord, AuditQuery, AuditStore, Store } from './store.js';

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
    approvals: sqliteApprovalStore(db),
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
    ping() {
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

interface AuditRow {
  seq: number;
  time: number;
  type: string;
  principal: string | null;
  principal_name: string | null;
  upstream: string | null;
  tool: string | null;
  outcome: string | null;
  json: string;
  prev_hash: string;
  hash: string;
}

const toAuditRecord = (row: AuditRow): AuditRecord => ({
  seq: row.seq,
  time: row.time,
  type: row.type,
  principal: row.principal,
  principalName: row.principal_name,
  upstream: row.upstream,
  tool: row.tool,
  outcome: row.outcome,
  json: row.json,
  prevHash: row.prev_hash,
  hash: row.hash,
});

/** A user's pattern for SQLite GLOB: only `*` is special; `?` and `[` match themselves. */
const globOf = (pattern: string): string => pattern.replace(/[?[]/g, (c) => `[${c}]`);

/** WHERE clause and parameters for a query. */
function where(query: AuditQuery): { sql: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  const match = (columns: readonly string[], value: string) => {
    const op = value.includes('*') ? 'GLOB' : '=';
    clauses.push(`(${columns.map((c) => `${c} ${op} ?`).join(' OR ')})`);
    for (const _ of columns) params.push(op === 'GLOB' ? globOf(value) : value);
  };
  if (query.since !== undefined) {
    clauses.push('time >= ?');
    params.push(query.since);
  }
  if (query.until !== undefined) {
    clauses.push('time < ?');
    params.push(query.until);
  }
  if (query.afterSeq !== undefined) {
    clauses.push('seq > ?');
    params.push(query.afterSeq);
  }
  if (query.principal !== undefined) match(['principal', 'principal_name'], query.principal);
  if (query.tool !== undefined) match(['tool', "upstream || '.' || tool"], query.tool);
  if (query.outcome !== undefined) match(['outcome'], query.outcome);
  if (query.type !== undefined) match(['type'], query.type);
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

const PAGE = 1000;

function sqliteAuditStore(db: Database.Database): AuditStore {
  const head = db.prepare<[], { seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1',
  );
  const insert = db.prepare(
    `INSERT INTO audit_events (seq, time, type, principal, principal_name, upstream, tool, outcome, json, prev_hash, hash)
     VALUES (@seq, @time, @type, @principal, @principalName, @upstream, @tool, @outcome, @json, @prevHash, @hash)`,
  );
  const appendAll = db.transaction((events: readonly AuditEvent[]) => {
    const last = head.get();
    let seq = last?.seq ?? 0;
    let prevHash = last?.hash ?? GENESIS_HASH;
    for (const event of events) {
      const json = canonicalJson(event);
      const hash = chainHash(prevHash, json);
      seq++;
      insert.run({
        seq,
        time: eventTimeMs(event),
        type: event.type,
        ...auditColumns(event),
        json,
        prevHash,
        hash,
      });
      prevHash = hash;
    }
  });

  const select = (query: AuditQuery): AuditRecord[] => {
    const { sql, params } = where(query);
    const limit = query.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(query.limit))}` : '';
    const order = query.newest ? 'DESC' : 'ASC';
    const rows = db
      .prepare<(string | number)[], AuditRow>(
        `SELECT * FROM audit_events ${sql} ORDER BY seq ${order}${limit}`,
      )
      .all(...params)
      .map(toAuditRecord);
    return query.newest ? rows.reverse() : rows;
  };

  const store: AuditStore = {
    async append(events) {
      // IMMEDIATE: take the write lock before reading the head, so two processes never fork the chain.
      if (events.length > 0) appendAll.immediate(events);
    },
    async query(query = {}) {
      return select(query);
    },
    async *iterate(query = {}) {
      let afterSeq = query.afterSeq ?? 0;
      for (;;) {
        const page = select({ ...query, afterSeq, limit: PAGE });
        yield* page;
        if (page.length < PAGE) return;
        afterSeq = (page.at(-1) as AuditRecord).seq;
      }
    },
    verifyChain() {
      return verifyRecords(store.iterate());
    },
  };
  return store;
}
