/**
 * The audit store both back ends share: the links a batch of events adds to the chain, one query
 * builder (SQLite and PostgreSQL differ only in the placeholder and the pattern operator), paging
 * for iterate, and verify as a walk over iterate. Each back end brings how it selects rows and how
 * it appends a batch under its write lock (reading the head inside it, so instances never fork the chain).
 */
import {
  type AuditRecord,
  canonicalJson,
  chainHash,
  eventTimeMs,
  GENESIS_HASH,
  verifyRecords,
} from '../audit/chain.js';
import { type AuditEvent, auditColumns } from '../audit/events.js';
import type { AuditRow } from './rows.js';
import type { AuditQuery, AuditStore } from './store.js';

/** The rows that append `events` after the chain's head (undefined: the chain is empty). */
export function linkEvents(
  head: { readonly seq: number; readonly hash: string } | undefined,
  events: readonly AuditEvent[],
): AuditRow[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  return events.map((event) => {
    const json = canonicalJson(event);
    const hash = chainHash(prevHash, json);
    const { principalName, ...columns } = auditColumns(event);
    const row: AuditRow = {
      seq: ++seq,
      time: eventTimeMs(event),
      type: event.type,
      ...columns,
      principal_name: principalName,
      json,
      prev_hash: prevHash,
      hash,
    };
    prevHash = hash;
    return row;
  });
}

export interface AuditDialect {
  /** The placeholder of the n-th parameter (from 1). */
  placeholder(n: number): string;
  /** The operator matching a user's pattern, where only `*` is special. */
  readonly patternOp: string;
  /** The user's pattern in that operator's syntax, every other special character taken literally. */
  pattern(value: string): string;
}

export const SQLITE_AUDIT: AuditDialect = {
  placeholder: () => '?',
  patternOp: 'GLOB',
  pattern: (value) => value.replace(/[?[]/g, (c) => `[${c}]`),
};

export const POSTGRES_AUDIT: AuditDialect = {
  placeholder: (n) => `$${n}`,
  // LIKE's escape character is the backslash by default.
  patternOp: 'LIKE',
  pattern: (value) => value.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('*', '%'),
};

export interface AuditSelect {
  readonly sql: string;
  readonly params: (string | number)[];
}

/** The SELECT for a query, newest first when it asks for the newest (see inSeqOrder). */
export function auditSelect(query: AuditQuery, dialect: AuditDialect): AuditSelect {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  const param = (value: string | number) => {
    params.push(value);
    return dialect.placeholder(params.length);
  };
  const match = (columns: readonly string[], value: string) => {
    const wild = value.includes('*');
    const op = wild ? dialect.patternOp : '=';
    clauses.push(
      `(${columns.map((c) => `${c} ${op} ${param(wild ? dialect.pattern(value) : value)}`).join(' OR ')})`,
    );
  };
  if (query.since !== undefined) clauses.push(`time >= ${param(query.since)}`);
  if (query.until !== undefined) clauses.push(`time < ${param(query.until)}`);
  if (query.afterSeq !== undefined) clauses.push(`seq > ${param(query.afterSeq)}`);
  if (query.principal !== undefined) match(['principal', 'principal_name'], query.principal);
  if (query.tool !== undefined) match(['tool', "upstream || '.' || tool"], query.tool);
  if (query.outcome !== undefined) match(['outcome'], query.outcome);
  if (query.type !== undefined) match(['type'], query.type);
  const where = clauses.length > 0 ? ` WHERE ${clauses.join(' AND ')}` : '';
  const limit = query.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(query.limit))}` : '';
  return {
    sql: `SELECT * FROM audit_events${where} ORDER BY seq ${query.newest ? 'DESC' : 'ASC'}${limit}`,
    params,
  };
}

/** Selected records in seq order (a query for the newest read them backwards). */
export function inSeqOrder(query: AuditQuery, records: AuditRecord[]): AuditRecord[] {
  return query.newest ? records.reverse() : records;
}

const PAGE = 1000;

/** An AuditStore over a back end's select (in seq order) and append. */
export function auditStore(
  select: (query: AuditQuery) => Promise<AuditRecord[]>,
  append: (events: readonly AuditEvent[]) => Promise<void>,
): AuditStore {
  const store: AuditStore = {
    async append(events) {
      if (events.length > 0) await append(events);
    },
    query: (query = {}) => select(query),
    async *iterate(query = {}) {
      let afterSeq = query.afterSeq ?? 0;
      for (;;) {
        const page = await select({ ...query, afterSeq, limit: PAGE });
        yield* page;
        if (page.length < PAGE) return;
        afterSeq = (page.at(-1) as AuditRecord).seq;
      }
    },
    verifyChain: () => verifyRecords(store.iterate()),
  };
  return store;
}
