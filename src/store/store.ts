/**
 * What the gateway keeps between requests and restarts. The embedded default is SQLite; the
 * interface is asynchronous so that Redis and PostgreSQL back ends can implement it for a fleet.
 */

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

export interface Store {
  readonly apiKeys: ApiKeyStore;
  close(): Promise<void>;
}
