/**
 * The soak's account of audit events: for every request the drivers made, the events the audit
 * trail promises for it (src/audit/events.ts: one authentication event per authenticated request,
 * one policy decision per governed JSON-RPC request, one event per limit refusal, one oauth.token
 * per token issued), keyed by the X-Request-Id the gateway answered with. At the end it is compared
 * with what the gateway's store holds: an expected event missing there is a lost one.
 */
import Database from 'better-sqlite3';

export type ExpectedType = 'auth.success' | 'policy.decision' | 'rate_limit.refused' | 'oauth.token';

export interface AuditComparison {
  readonly expected: number;
  /** Expected events found in the store. */
  readonly found: number;
  /** Expected but missing, by type, with a few request ids to look up. */
  readonly lost: Readonly<Record<string, { count: number; examples: string[] }>>;
  /** Every event the store holds, by type (including ones the ledger does not predict). */
  readonly written: Readonly<Record<string, number>>;
}

export class AuditLedger {
  private readonly expected = new Map<string, ExpectedType[]>();

  /** Records the events a response's request must have left; a response without a request id counts as lost. */
  expect(res: Response, ...types: ExpectedType[]): void {
    if (types.length === 0) return;
    const id = res.headers.get('x-request-id') ?? `(no x-request-id, status ${res.status})`;
    this.expected.set(id, [...(this.expected.get(id) ?? []), ...types]);
  }

  get count(): number {
    let n = 0;
    for (const types of this.expected.values()) n += types.length;
    return n;
  }

  /** Compares with the audit_events table of a stopped gateway's SQLite store. */
  compare(storeFile: string): AuditComparison {
    const db = new Database(storeFile, { readonly: true, fileMustExist: true });
    const stored = new Map<string, string[]>();
    const written: Record<string, number> = {};
    try {
      for (const row of db.prepare('SELECT type, json FROM audit_events').iterate() as Iterable<{
        type: string;
        json: string;
      }>) {
        written[row.type] = (written[row.type] ?? 0) + 1;
        const { requestId } = JSON.parse(row.json) as { requestId?: string };
        if (requestId !== undefined) stored.set(requestId, [...(stored.get(requestId) ?? []), row.type]);
      }
    } finally {
      db.close();
    }
    let found = 0;
    const lost: Record<string, { count: number; examples: string[] }> = {};
    for (const [id, types] of this.expected) {
      const left = [...(stored.get(id) ?? [])];
      for (const type of types) {
        const at = left.indexOf(type);
        if (at !== -1) {
          left.splice(at, 1);
          found++;
          continue;
        }
        const entry = lost[type] ?? { count: 0, examples: [] };
        lost[type] = entry;
        entry.count++;
        if (entry.examples.length < 5) entry.examples.push(id);
      }
    }
    return { expected: this.count, found, lost, written };
  }
}
