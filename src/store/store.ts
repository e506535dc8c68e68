/**
 * What the gateway keeps between requests and restarts: SQLite embedded by default, PostgreSQL for
 * a fleet of gateways sharing one database (src/store/postgres.ts). Both pass one contract suite
 * (test/unit/store-contract.ts). A PostgreSQL store that cannot be reached rejects with
 * StoreUnavailableError (503), never with a default answer.
 */
import type { AuditRecord, ChainVerdict } from '../audit/chain.js';
import type { AuditEvent } from '../audit/events.js';
import type { AuthorizationCodeStore } from '../oauth/codes.js';
import type { ConsentStore } from '../oauth/consents.js';
import type { StaticClientStore } from '../oauth/static-clients.js';
import type { TokenStore } from '../oauth/token-store.js';

export interface ApiKeyRecord {
  /** Public identifier, shown by `keys list` and used by `keys revoke`. */
  readonly id: string;
  readonly name: string;
  /** HMAC-SHA256 of the whole key under the server secret, hex. The key itself is never stored. */
  readonly hash: string;
  readonly scopes: readonly string[];
  /** Roles (policy.roles) the key holds besides its scopes. */
  readonly roles: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

export interface ApiKeyStore {
  insert(record: ApiKeyRecord): Promise<void>;
  /** O(1): the hash is the primary key. */
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<ApiKeyRecord[]>;
  count(): Promise<number>;
  /** Marks the key revoked; false when no key has this id or it was already revoked. */
  revoke(id: string, at: number): Promise<boolean>;
  /** Records last-used times in one batch (the gateway never writes once per request). */
  touch(lastUsed: ReadonlyMap<string, number>): Promise<void>;
}

export interface AuditQuery {
  /** Epoch ms, inclusive. */
  readonly since?: number;
  /** Epoch ms, exclusive. */
  readonly until?: number;
  /** Principal id or display name; `*` matches any run of characters. */
  readonly principal?: string;
  /** Tool/prompt name or resource URI, bare or as `<upstream>.<name>`; `*` matches any run. */
  readonly tool?: string;
  readonly outcome?: string;
  /** Event type, e.g. `auth.failure`; `*` matches any run (`auth.*`). */
  readonly type?: string;
  /** Only records after this seq (for following the chain). */
  readonly afterSeq?: number;
  readonly limit?: number;
  /** With `limit`: the newest matches rather than the oldest. Results are in seq order either way. */
  readonly newest?: boolean;
}

export interface AuditStore {
  /**
   * Appends events in one transaction, each linked to the one before (the head is read inside the
   * transaction, under the store's write lock, so a CLI and running gateways can append to one store
   * without forking the chain). Resolves once the events are durable; rejects when they are not.
   */
  append(events: readonly AuditEvent[]): Promise<void>;
  query(query?: AuditQuery): Promise<AuditRecord[]>;
  /** Every matching record in seq order, read page by page (for verify and export). */
  iterate(query?: Pick<AuditQuery, 'since' | 'until' | 'afterSeq'>): AsyncIterable<AuditRecord>;
  /** Walks the whole chain: ok with its head, or the first broken record. */
  verifyChain(): Promise<ChainVerdict>;
}

/** What a pin is of: a tool, a prompt or a resource template (named by its uriTemplate). */
export type PinKind = 'tool' | 'prompt' | 'resourceTemplate';

/** One definition's pin: the one an operator (or first sight) approved, and the one last seen. */
export interface PinRecord {
  readonly upstream: string;
  readonly kind: PinKind;
  readonly name: string;
  /** Null until a definition is approved (`policy.pinning: enforce` pins nothing on first sight). */
  readonly pinnedHash: string | null;
  readonly pinnedDefinition: string | null;
  readonly pinnedAt: number | null;
  readonly seenHash: string;
  readonly seenDefinition: string;
  readonly seenAt: number;
  /** A fingerprint an operator rejected: the drift stays refused and is not reported again. */
  readonly rejectedHash: string | null;
}

export interface PinKey {
  readonly upstream: string;
  readonly kind: PinKind;
  readonly name: string;
}

/** A definition as the gateway saw it: its fingerprint, its canonical JSON, when. */
export interface Seen {
  readonly hash: string;
  readonly definition: string;
  readonly at: number;
}

export interface PinStore {
  list(upstream?: string): Promise<PinRecord[]>;
  /** Records what the upstream lists now; `approve` also pins it (first sight in `record` mode). */
  saw(key: PinKey, seen: Seen, approve: boolean): Promise<void>;
  /** Pins the definition last seen; false when there is no such definition. */
  approve(key: PinKey, at: number): Promise<boolean>;
  /** Marks the definition last seen as rejected; false when there is no such definition. */
  reject(key: PinKey): Promise<boolean>;
}

/** The OAuth authorization server's state (src/oauth/). */
export interface OAuthStore {
  readonly clients: StaticClientStore;
  readonly codes: AuthorizationCodeStore;
  readonly tokens: TokenStore;
  readonly consents: ConsentStore;
}

export interface Store {
  readonly apiKeys: ApiKeyStore;
  readonly audit: AuditStore;
  readonly oauth: OAuthStore;
  readonly pins: PinStore;
  /** Whether the store answers a trivial query now (for /readyz); never rejects. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
