/**
 * The state tokens need: grants (one per redeemed code: the family of every token issued from it),
 * refresh tokens (opaque, so they live here, by SHA-256 only), and the access-token denylist
 * (RFC 7009 revocation of a stateless JWT holds only until its exp). Asynchronous, so SQLite,
 * Redis or PostgreSQL can back it; the in-memory implementation serves tests and one instance.
 *
 * An access token is refused only when its jti or its grant is recorded as revoked: a store that
 * never heard of a grant (another instance's SQLite file) does not refuse it, which is what keeps
 * access tokens usable across a fleet without a shared store. Revocation is fleet-wide only with
 * a shared store.
 */

export interface GrantRecord {
  readonly id: string;
  readonly clientId: string;
  readonly subject: string;
  readonly resource: string;
  readonly createdAt: number;
  /** When the last refresh token of the grant expires; the record may be purged after. */
  readonly expiresAt: number;
  readonly revokedAt: number | null;
}

export interface RefreshTokenRecord {
  /** SHA-256 of the token, hex: the lookup key. */
  readonly hash: string;
  readonly grantId: string;
  readonly clientId: string;
  readonly subject: string;
  readonly resource: string;
  /** The scopes of the grant; a refresh may narrow an access token, never this. */
  readonly scopes: readonly string[];
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** When it was exchanged for its successor; a second use is reuse. */
  readonly usedAt: number | null;
}

/** What the store must provide for tokens (SQLite tables `oauth_grants`, `oauth_refresh_tokens`, `oauth_denied_tokens`). */
export interface TokenStore {
  /**
   * Inserts the grant; when it exists already (revoked by a racing replay) keeps its revocation
   * and only extends the expiry.
   */
  saveGrant(grant: GrantRecord): Promise<void>;
  findGrant(id: string): Promise<GrantRecord | undefined>;
  /**
   * Marks the grant revoked (every token of it dies). When the grant is not recorded yet — a code
   * replay can race the first redemption — a revoked record is created, kept until `keepUntil`.
   */
  revokeGrant(id: string, at: number, keepUntil: number): Promise<void>;
  insertRefreshToken(record: RefreshTokenRecord): Promise<void>;
  findRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Atomically: marks `hash` used, inserts `next`, and extends the grant's expiry to next.expiresAt —
   * only if `hash` was unused. False, with nothing written, when it was already used (a concurrent
   * rotation won: that is reuse).
   */
  rotateRefreshToken(hash: string, next: RefreshTokenRecord, at: number): Promise<boolean>;
  /** Revokes every live grant of `subject` to `clientId` (a withdrawn consent); returns how many. */
  revokeGrantsOf(subject: string, clientId: string, at: number): Promise<number>;
  /** Denies one access token until it would have expired anyway. */
  denyAccessToken(jti: string, expiresAt: number): Promise<void>;
  /** True when the jti is denied or the grant revoked. */
  isAccessTokenRevoked(jti: string, grantId: string): Promise<boolean>;
  /** Deletes expired grants, refresh tokens and denylist entries. */
  purgeExpired(now: number): Promise<void>;
}

export class MemoryTokenStore implements TokenStore {
  private readonly grants = new Map<string, GrantRecord>();
  private readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  private readonly denied = new Map<string, number>();

  async saveGrant(grant: GrantRecord): Promise<void> {
    const existing = this.grants.get(grant.id);
    this.grants.set(
      grant.id,
      existing ? { ...existing, expiresAt: Math.max(existing.expiresAt, grant.expiresAt) } : grant,
    );
  }

  async findGrant(id: string): Promise<GrantRecord | undefined> {
    return this.grants.get(id);
  }

  async revokeGrant(id: string, at: number, keepUntil: number): Promise<void> {
    const grant = this.grants.get(id);
    if (grant?.revokedAt != null) return;
    this.grants.set(
      id,
      grant
        ? { ...grant, revokedAt: at, expiresAt: Math.max(grant.expiresAt, keepUntil) }
        : { id, clientId: '', subject: '', resource: '', createdAt: at, expiresAt: keepUntil, revokedAt: at },
    );
  }

  async revokeGrantsOf(subject: string, clientId: string, at: number): Promise<number> {
    let count = 0;
    for (const grant of this.grants.values()) {
      if (grant.subject !== subject || grant.clientId !== clientId || grant.revokedAt != null) continue;
      this.grants.set(grant.id, { ...grant, revokedAt: at });
      count++;
    }
    return count;
  }

  async insertRefreshToken(record: RefreshTokenRecord): Promise<void> {
    this.refreshTokens.set(record.hash, record);
  }

  async findRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    return this.refreshTokens.get(hash);
  }

  async rotateRefreshToken(hash: string, next: RefreshTokenRecord, at: number): Promise<boolean> {
    const current = this.refreshTokens.get(hash);
    if (!current || current.usedAt !== null) return false;
    this.refreshTokens.set(hash, { ...current, usedAt: at });
    this.refreshTokens.set(next.hash, next);
    const grant = this.grants.get(next.grantId);
    if (grant) this.grants.set(grant.id, { ...grant, expiresAt: Math.max(grant.expiresAt, next.expiresAt) });
    return true;
  }

  async denyAccessToken(jti: string, expiresAt: number): Promise<void> {
    this.denied.set(jti, expiresAt);
  }

  async isAccessTokenRevoked(jti: string, grantId: string): Promise<boolean> {
    return this.denied.has(jti) || (this.grants.get(grantId)?.revokedAt ?? null) !== null;
  }

  async purgeExpired(now: number): Promise<void> {
    for (const [jti, exp] of this.denied) if (exp <= now) this.denied.delete(jti);
    for (const [hash, r] of this.refreshTokens) if (r.expiresAt <= now) this.refreshTokens.delete(hash);
    for (const [id, g] of this.grants) if (g.expiresAt <= now) this.grants.delete(id);
  }
}
