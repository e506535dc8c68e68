/**
 * The audit trail in the PostgreSQL store (audit_events): one hash chain for the whole fleet. An
 * append takes a transaction-scoped advisory lock before it reads the head, so appends from every
 * instance are serialized: seq has no gaps, each record links to the one before, and each instance's
 * batches keep their order. Readers never wait for the lock. README "Store" argues one chain over
 * one per instance.
 */
import { auditSelect, auditStore, inSeqOrder, linkEvents, POSTGRES_AUDIT } from './audit-store.js';
import type { PostgresPool } from './postgres-pool.js';
import { type AuditRow, toAuditRecord } from './rows.js';
import type { AuditStore } from './store.js';

/** pg_advisory_xact_lock key of the chain's head: MIGRATION_LOCK + 1. */
export const AUDIT_LOCK = '8101820098873224301';

const COLUMNS = [
  'seq',
  'time',
  'type',
  'principal',
  'principal_name',
  'upstream',
  'tool',
  'outcome',
  'json',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof AuditRow)[];
const TYPES = ['bigint', 'bigint', ...Array<string>(COLUMNS.length - 2).fill('text')];

/** One INSERT for a batch of rows: a column per array parameter. */
export const INSERT_AUDIT_ROWS = `INSERT INTO audit_events (${COLUMNS.join(', ')})
  SELECT * FROM unnest(${TYPES.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})`;

export const auditRowParams = (rows: readonly AuditRow[]): unknown[][] =>
  COLUMNS.map((column) => rows.map((row) => row[column]));

export function postgresAuditStore(pool: PostgresPool): AuditStore {
  return auditStore(
    async (query) => {
      const { sql, params } = auditSelect(query, POSTGRES_AUDIT);
      const { rows } = await pool.query<AuditRow>(sql, params);
      return inSeqOrder(query, rows.map(toAuditRecord));
    },
    (events) =>
      pool.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(${AUDIT_LOCK})`);
        // Read after the lock is held: READ COMMITTED gives this statement the last holder's rows.
        const { rows } = await tx.query<{ seq: number; hash: string }>(
          'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1',
        );
        await tx.query(INSERT_AUDIT_ROWS, auditRowParams(linkEvents(rows[0], events)));
      }),
  );
}
