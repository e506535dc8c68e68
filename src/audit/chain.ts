/**
 * The tamper-evident chain of stored audit events. Each record holds the event as canonical JSON
 * (keys sorted, no whitespace), the previous record's hash, and
 *
 *     hash = sha256_hex(prev_hash + canonical_json)       (the first record's prev_hash is 64 zeros)
 *
 * so altering, inserting or deleting a record breaks the chain from that record on. What a chain
 * cannot show on its own: records cut from its end, or a whole chain recomputed by someone with write
 * access to the store — keep the head (`audit verify` prints it) or the stdout stream elsewhere.
 */
import { createHash } from 'node:crypto';
import { type AuditEvent, auditColumns } from './events.js';

/** One stored audit event, a link of the tamper-evident chain (src/audit/chain.ts). */
export interface AuditRecord {
  /** 1, 2, 3… with no gaps: a missing number is a deleted record. */
  readonly seq: number;
  /** The event's time, epoch milliseconds. */
  readonly time: number;
  readonly type: string;
  /** Indexed for queries, derived from the event (auditColumns). */
  readonly principal: string | null;
  readonly principalName: string | null;
  readonly upstream: string | null;
  readonly tool: string | null;
  readonly outcome: string | null;
  /** The (already redacted) event as canonical JSON: what the hash covers. */
  readonly json: string;
  /** The previous record's hash (64 zeros for the first). */
  readonly prevHash: string;
  /** sha256 hex of prevHash + json. */
  readonly hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level and no whitespace: one spelling per value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return sortKeys(toJSON.call(value));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

export function chainHash(prevHash: string, json: string): string {
  return createHash('sha256').update(prevHash).update(json).digest('hex');
}

/** The event's time as epoch milliseconds (0 when it has none that parses), as the store indexes it. */
export function eventTimeMs(event: { readonly time?: unknown }): number {
  const ms = typeof event.time === 'string' ? Date.parse(event.time) : Number.NaN;
  return Number.isFinite(ms) ? ms : 0;
}

export type ChainVerdict =
  | {
      readonly ok: true;
      /** Records checked. */
      readonly count: number;
      /** The last record: note it somewhere else to detect a later cut or rewrite. */
      readonly head: { readonly seq: number; readonly hash: string } | null;
    }
  | {
      readonly ok: false;
      /** The first broken record's seq (for a deleted record, the seq that is missing). */
      readonly seq: number;
      readonly reason: string;
      /** Records found intact before it. */
      readonly count: number;
    };

/** Checks records in seq order: numbering, links, hashes, canonical form, and the indexed columns. */
export async function verifyRecords(
  records: AsyncIterable<AuditRecord> | Iterable<AuditRecord>,
): Promise<ChainVerdict> {
  let expected = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  let head: { seq: number; hash: string } | null = null;
  const broken = (seq: number, reason: string): ChainVerdict => ({ ok: false, seq, reason, count });
  for await (const record of records) {
    if (record.seq !== expected) {
      return record.seq > expected
        ? broken(
            expected,
            expected === record.seq - 1
              ? `record ${expected} is missing: record ${record.seq} follows ${expected === 1 ? 'the start of the chain' : `record ${expected - 1}`}`
              : `records ${expected}–${record.seq - 1} are missing: record ${record.seq} follows ${expected === 1 ? 'the start of the chain' : `record ${expected - 1}`}`,
          )
        : broken(record.seq, `record ${record.seq} is out of order (expected ${expected})`);
    }
    if (record.prevHash !== prevHash) {
      return broken(
        record.seq,
        `record ${record.seq} does not link to ${record.seq === 1 ? 'the start of the chain' : `record ${record.seq - 1}`} (prev_hash differs)`,
      );
    }
    if (chainHash(record.prevHash, record.json) !== record.hash) {
      return broken(record.seq, `record ${record.seq} was altered: its content does not match its hash`);
    }
    let event: AuditEvent;
    try {
      event = JSON.parse(record.json) as AuditEvent;
    } catch {
      return broken(record.seq, `record ${record.seq} is not valid JSON`);
    }
    if (canonicalJson(event) !== record.json) {
      return broken(record.seq, `record ${record.seq} is not in canonical form`);
    }
    const columns = auditColumns(event);
    const mismatch =
      record.time !== eventTimeMs(event)
        ? 'time'
        : record.type !== event.type
          ? 'type'
          : record.principal !== columns.principal
            ? 'principal'
            : record.principalName !== columns.principalName
              ? 'principal_name'
              : record.upstream !== columns.upstream
                ? 'upstream'
                : record.tool !== columns.tool
                  ? 'tool'
                  : record.outcome !== columns.outcome
                    ? 'outcome'
                    : undefined;
    if (mismatch) {
      return broken(
        record.seq,
        `record ${record.seq} was altered: its ${mismatch} column disagrees with its event`,
      );
    }
    prevHash = record.hash;
    head = { seq: record.seq, hash: record.hash };
    expected++;
    count++;
  }
  return { ok: true, count, head };
}
