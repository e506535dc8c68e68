/**
 * API keys: `pcl_` + 256 random bits (base64url). Only an HMAC-SHA256 of the key under the server
 * secret is stored, so a leaked store yields no usable key; the hash is the lookup key (O(1)), and
 * the stored hash is still compared in constant time. Last-used times are batched, not written per
 * request.
 *
 * A key's stored record is remembered for at most VERIFIED_KEY_TTL_MS after it was read, keyed by
 * the HMAC (never the key): a store read per request was a SQLite read transaction (file locks)
 * here and is a network round trip with PostgreSQL. Revocation and expiry are still checked on
 * every request, against the remembered record and the current time; a key revoked through this
 * instance (`revoke`) is forgotten at once, one revoked elsewhere (the CLI, another instance) is
 * refused within VERIFIED_KEY_TTL_MS. Unknown keys are never remembered: a key created a moment
 * ago works on its first request, and guessed keys cannot fill the cache.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../core/principal.js';
import type { ApiKeyRecord, ApiKeyStore } from '../store/store.js';
import { AuthError } from './auth-error.js';

export const API_KEY_PREFIX = 'pcl_';
const API_KEY_FORMAT = /^pcl_[A-Za-z0-9_-]{43}$/;
const FLUSH_EVERY_MS = 60_000;
/** How long a key's record, once read from the store, is used without reading it again. */
export const VERIFIED_KEY_TTL_MS = 1000;
/** Keys remembered at once (least recently used forgotten first). */
const VERIFIED_KEYS = 10_000;

interface Verified {
  readonly record: ApiKeyRecord;
  readonly principal: Principal;
  /** When the record was read from the store. */
  readonly readAt: number;
}

export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function newKeyId(): string {
  return `key_${randomBytes(6).toString('hex')}`;
}

export interface CreatedKey {
  readonly key: string;
  readonly record: ApiKeyRecord;
}

export class ApiKeys {
  private readonly lastUsed = new Map<string, number>();
  private readonly flusher: NodeJS.Timeout;
  /** Records read from the store recently, by the key's HMAC. */
  private readonly verified = new LRUCache<string, Verified>({ max: VERIFIED_KEYS });
  /** Bumped by each revocation here: a record read before it is not remembered after it. */
  private revocations = 0;

  constructor(
    private readonly store: ApiKeyStore,
    private readonly secret: Buffer,
    private readonly now: () => number = Date.now,
  ) {
    // A failed flush keeps its times for the next one: the store may be away for a while.
    this.flusher = setInterval(() => void this.flush().catch(() => {}), FLUSH_EVERY_MS);
    this.flusher.unref();
  }

  hash(key: string): string {
    return createHmac('sha256', this.secret).update(key).digest('hex');
  }

  async create(options: {
    name: string;
    scopes: readonly string[];
    roles?: readonly string[];
    expiresAt: number | null;
  }): Promise<CreatedKey> {
    const key = generateApiKey();
    const record: ApiKeyRecord = {
      id: newKeyId(),
      name: options.name,
      hash: this.hash(key),
      scopes: [...options.scopes],
      roles: [...(options.roles ?? [])],
      createdAt: this.now(),
      expiresAt: options.expiresAt,
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.store.insert(record);
    return { key, record };
  }

  /** The principal for `key`, or an AuthError saying precisely why the key is refused. */
  async verify(key: string): Promise<Principal> {
    if (!API_KEY_FORMAT.test(key)) throw new AuthError('invalid_token', 'the API key is malformed');
    const hash = this.hash(key);
    const { record, principal } = await this.lookUp(hash);
    if (!timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'))) {
      throw new AuthError('invalid_token', 'the API key is not known');
    }
    const now = this.now();
    if (record.revokedAt !== null) throw new AuthError('invalid_token', 'the API key has been revoked');
    if (record.expiresAt !== null && record.expiresAt <= now)
      throw new AuthError('invalid_token', 'the API key has expired');
    this.lastUsed.set(record.id, now);
    return principal;
  }

  /** The key's record: remembered if read less than VERIFIED_KEY_TTL_MS ago, else from the store. */
  private async lookUp(hash: string): Promise<Verified> {
    const remembered = this.verified.get(hash);
    if (remembered && this.now() - remembered.readAt < VERIFIED_KEY_TTL_MS) return remembered;
    const readAt = this.now();
    const revocations = this.revocations;
    const record = await this.store.findByHash(hash);
    if (!record) {
      this.verified.delete(hash);
      throw new AuthError('invalid_token', 'the API key is not known');
    }
    const verified: Verified = {
      record,
      readAt,
      principal: Object.freeze({
        id: `api-key:${record.id}`,
        kind: 'api-key',
        name: record.name,
        scopes: record.scopes,
        roles: record.roles,
      }),
    };
    if (revocations === this.revocations) this.verified.set(hash, verified);
    return verified;
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.store.list();
  }

  /** Revokes at once (and forgets the key here); false when no active key has this id. */
  async revoke(id: string): Promise<boolean> {
    const revoked = await this.store.revoke(id, this.now());
    this.revocations++;
    for (const [hash, { record }] of this.verified.entries()) {
      if (record.id === id) this.verified.delete(hash);
    }
    return revoked;
  }

  async flush(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const batch = new Map(this.lastUsed);
    this.lastUsed.clear();
    try {
      await this.store.touch(batch);
    } catch (err) {
      for (const [id, at] of batch) if (!this.lastUsed.has(id)) this.lastUsed.set(id, at);
      throw err;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.flusher);
    await this.flush();
  }
}
