/**
 * Remembered consent: user `subject` approved client `clientId` for a set of scopes, so a later
 * authorization asking for no more than that set can skip the consent page. Approving more scopes
 * widens the set (union); revoking forgets the client for that user, who is asked again next time.
 * Asynchronous like the other OAuth stores (SQLite table `oauth_consents`; Redis for a fleet).
 */

export interface ConsentRecord {
  readonly subject: string;
  readonly clientId: string;
  /** Every scope the user has approved for the client, sorted, without duplicates. */
  readonly scopes: readonly string[];
  /** When the user last approved (epoch ms). */
  readonly grantedAt: number;
}

export interface ConsentStore {
  /**
   * True when the user has approved the client before and the remembered set includes every
   * asked scope. False when nothing is remembered for the pair, even for an empty `scopes`.
   */
  covers(subject: string, clientId: string, scopes: readonly string[]): Promise<boolean>;
  /** Adds `scopes` to what the user approved for the client (union) and sets grantedAt to `at`. */
  remember(subject: string, clientId: string, scopes: readonly string[], at: number): Promise<void>;
  /** Forgets the client's consent for the user; false when there was none. */
  revoke(subject: string, clientId: string): Promise<boolean>;
  /** The remembered consents, of one user or of all, ordered by subject then client id. */
  list(subject?: string): Promise<ConsentRecord[]>;
}

/** The union of two scope lists, sorted, without duplicates. */
export function unionScopes(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

export function coversScopes(granted: readonly string[], asked: readonly string[]): boolean {
  const set = new Set(granted);
  return asked.every((scope) => set.has(scope));
}

const compareConsents = (a: ConsentRecord, b: ConsentRecord): number =>
  a.subject < b.subject
    ? -1
    : a.subject > b.subject
      ? 1
      : a.clientId < b.clientId
        ? -1
        : a.clientId > b.clientId
          ? 1
          : 0;

/** In-memory ConsentStore: for tests and a single instance without a store. */
export class MemoryConsentStore implements ConsentStore {
  /** Keyed by JSON [subject, clientId], which no choice of the two strings can make ambiguous. */
  private readonly records = new Map<string, ConsentRecord>();

  async covers(subject: string, clientId: string, scopes: readonly string[]): Promise<boolean> {
    const record = this.records.get(key(subject, clientId));
    return record !== undefined && coversScopes(record.scopes, scopes);
  }

  async remember(subject: string, clientId: string, scopes: readonly string[], at: number): Promise<void> {
    const k = key(subject, clientId);
    const existing = this.records.get(k);
    this.records.set(k, {
      subject,
      clientId,
      scopes: unionScopes(existing?.scopes ?? [], scopes),
      grantedAt: at,
    });
  }

  async revoke(subject: string, clientId: string): Promise<boolean> {
    return this.records.delete(key(subject, clientId));
  }

  async list(subject?: string): Promise<ConsentRecord[]> {
    return [...this.records.values()]
      .filter((r) => subject === undefined || r.subject === subject)
      .sort(compareConsents);
  }
}

const key = (subject: string, clientId: string): string => JSON.stringify([subject, clientId]);
