/**
 * Authorization codes (OAuth 2.1 §4.1.2): 256 random bits, single-use, alive 5 minutes, bound to
 * the client, the redirect URI, the PKCE challenge, the resource and the scopes the user granted.
 * They are the one piece of shared state of the handshake, so the store is asynchronous (SQLite
 * here, Redis for a fleet). Only a SHA-256 of the code is stored: a leaked store holds no usable
 * code. A used code is kept until it expires so that a second use is recognised as a replay — the
 * code leaked — and reported with the grant it started, whose tokens the caller then revokes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CodeReplayError, OAuthError } from './errors.js';
import { verifyCodeVerifier } from './pkce.js';

export const AUTHORIZATION_CODE_LIFETIME_MS = 5 * 60_000;
export const AUTHORIZATION_CODE_PREFIX = 'pca_';
const CODE_FORMAT = /^pca_[A-Za-z0-9_-]{43}$/;

/** What a code stands for, as the store keeps it. */
export interface AuthorizationCodeRecord {
  /** SHA-256 of the code, hex: the lookup key. */
  readonly hash: string;
  readonly clientId: string;
  /** The redirect URI of the authorization request, exactly as sent (the port included). */
  readonly redirectUri: string;
  /** The S256 code_challenge. */
  readonly codeChallenge: string;
  /** RFC 8707 resource: the audience of every token issued from this code. */
  readonly resource: string;
  readonly scopes: readonly string[];
  /** Who authorized: the principal id the tokens will carry as `sub`. */
  readonly subject: string;
  /** Names the grant the code starts, so every token issued from it can be revoked together. */
  readonly grantId: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** What the store must provide for codes (SQLite table `oauth_codes`; Redis for a fleet). */
export interface AuthorizationCodeStore {
  insert(record: AuthorizationCodeRecord): Promise<void>;
  /**
   * Marks the code used and returns its record, atomically: of two concurrent calls exactly one
   * gets `firstUse: true`. Undefined when no code has this hash.
   */
  consume(
    hash: string,
    at: number,
  ): Promise<{ record: AuthorizationCodeRecord; firstUse: boolean } | undefined>;
  /** Deletes codes that expired before `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

export type NewAuthorizationCode = Omit<
  AuthorizationCodeRecord,
  'hash' | 'grantId' | 'issuedAt' | 'expiresAt'
>;

/** The token request's view of a code (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3). */
export interface CodeRedemption {
  readonly code: string | undefined;
  /** The client that authenticated at the token endpoint. */
  readonly clientId: string;
  /** OAuth 2.1 no longer requires it (PKCE binds the code); when sent it must match exactly. */
  readonly redirectUri: string | undefined;
  readonly codeVerifier: string | undefined;
  /** When sent it must be the code's resource (RFC 8707 §2.2). */
  readonly resource: string | undefined;
}

export function hashCode(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}

export class AuthorizationCodes {
  constructor(
    private readonly store: AuthorizationCodeStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new code for a completed authorization; the caller puts it in the redirect. */
  async issue(grant: NewAuthorizationCode): Promise<string> {
    const code = `${AUTHORIZATION_CODE_PREFIX}${randomBytes(32).toString('base64url')}`;
    const issuedAt = this.now();
    await this.store.insert({
      ...grant,
      scopes: [...grant.scopes],
      hash: hashCode(code),
      grantId: `grt_${randomBytes(16).toString('base64url')}`,
      issuedAt,
      expiresAt: issuedAt + AUTHORIZATION_CODE_LIFETIME_MS,
    });
    return code;
  }

  /**
   * The code's record when every binding holds. The code is burnt first, so a failed attempt —
   * wrong client, redirect or verifier — cannot be retried with the same code. A second use
   * throws CodeReplayError carrying the grant id to revoke.
   */
  async redeem(request: CodeRedemption): Promise<AuthorizationCodeRecord> {
    const { code } = request;
    if (code === undefined || code === '') throw new OAuthError('invalid_request', 'code is required');
    if (!CODE_FORMAT.test(code)) throw new OAuthError('invalid_grant', 'the authorization code is malformed');
    const now = this.now();
    const found = await this.store.consume(hashCode(code), now);
    if (!found) throw new OAuthError('invalid_grant', 'the authorization code is not known (or has expired)');
    const { record, firstUse } = found;
    if (!firstUse) throw new CodeReplayError(record.grantId);
    if (record.expiresAt <= now) {
      throw new OAuthError(
        'invalid_grant',
        'the authorization code has expired — codes live 5 minutes; authorize again',
      );
    }
    if (record.clientId !== request.clientId) {
      throw new OAuthError('invalid_grant', 'the authorization code was issued to another client');
    }
    if (request.redirectUri !== undefined && request.redirectUri !== record.redirectUri) {
      throw new OAuthError('invalid_grant', 'redirect_uri differs from the one of the authorization request');
    }
    verifyCodeVerifier(request.codeVerifier, record.codeChallenge);
    if (request.resource !== undefined && request.resource !== record.resource) {
      throw new OAuthError(
        'invalid_target',
        `resource must be ${record.resource}, the resource the code was issued for`,
      );
    }
    return record;
  }
}

/** In-memory AuthorizationCodeStore: for tests and a single instance without a store. */
export class MemoryAuthorizationCodeStore implements AuthorizationCodeStore {
  private readonly records = new Map<string, { record: AuthorizationCodeRecord; usedAt: number | null }>();

  async insert(record: AuthorizationCodeRecord): Promise<void> {
    this.records.set(record.hash, { record, usedAt: null });
  }

  async consume(
    hash: string,
    at: number,
  ): Promise<{ record: AuthorizationCodeRecord; firstUse: boolean } | undefined> {
    const entry = this.records.get(hash);
    if (!entry) return undefined;
    const firstUse = entry.usedAt === null;
    if (firstUse) entry.usedAt = at;
    return { record: entry.record, firstUse };
  }

  async purgeExpired(now: number): Promise<number> {
    let purged = 0;
    for (const [hash, entry] of this.records) {
      if (entry.record.expiresAt <= now) {
        this.records.delete(hash);
        purged++;
      }
    }
    return purged;
  }
}
