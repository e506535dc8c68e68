/**
 * Refresh tokens (OAuth 2.1 §4.3): opaque, 256 random bits, stored by SHA-256 only, and rotated on
 * every use — required for public clients, which cannot prove who they are. Each token remembers
 * that it was used; presenting a used one means two parties hold it, and since the server cannot
 * tell the thief from the client, the whole family (the grant) is revoked and both must sign in
 * again. A refresh may narrow the scopes of the access token, never widen them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { OAuthError, RefreshTokenReuseError } from './errors.js';
import type { RefreshTokenRecord, TokenStore } from './token-store.js';

export const REFRESH_TOKEN_PREFIX = 'pcr_';
export const DEFAULT_REFRESH_TOKEN_LIFETIME_MS = 30 * 86_400_000;
const TOKEN_FORMAT = /^pcr_[A-Za-z0-9_-]{43}$/;

export interface NewRefreshToken {
  readonly grantId: string;
  readonly clientId: string;
  readonly subject: string;
  readonly resource: string;
  readonly scopes: readonly string[];
}

export interface RefreshRequest {
  readonly token: string | undefined;
  /** The client that authenticated at the token endpoint. */
  readonly clientId: string;
  /** The resource asked for; when sent it must be the grant's (RFC 8707 §2.2). */
  readonly resource: string | undefined;
  /** Parsed `scope` parameter: a subset of the grant's scopes, or undefined for all of them. */
  readonly scopes: readonly string[] | undefined;
}

export interface Rotation {
  /** The record of the token that was presented (now used). */
  readonly previous: RefreshTokenRecord;
  /** The successor, to send back to the client. */
  readonly token: string;
  readonly expiresAt: number;
  /** The scopes for the new access token. */
  readonly scopes: readonly string[];
}

export function isRefreshToken(token: string): boolean {
  return token.startsWith(REFRESH_TOKEN_PREFIX);
}

export class RefreshTokens {
  /**
   * `key` (derived from the signing secret) keys the stored hashes: rotating the secret makes every
   * outstanding refresh token unknown at once, as it does every access token.
   */
  constructor(
    private readonly store: TokenStore,
    private readonly key: Uint8Array,
    readonly lifetimeMs: number = DEFAULT_REFRESH_TOKEN_LIFETIME_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The first token of a grant. */
  async issue(input: NewRefreshToken): Promise<{ token: string; expiresAt: number }> {
    const { token, record } = this.mint(input, this.now());
    await this.store.insertRefreshToken(record);
    return { token, expiresAt: record.expiresAt };
  }

  /** Exchanges a refresh token for its successor; reuse revokes the grant (RefreshTokenReuseError). */
  async rotate(request: RefreshRequest): Promise<Rotation> {
    const { token } = request;
    if (token === undefined || token === '')
      throw new OAuthError('invalid_request', 'refresh_token is required');
    if (!TOKEN_FORMAT.test(token)) throw new OAuthError('invalid_grant', 'the refresh token is malformed');
    const hash = this.hash(token);
    const previous = await this.store.findRefreshToken(hash);
    if (!previous) throw new OAuthError('invalid_grant', 'the refresh token is not known (or has expired)');
    if (previous.clientId !== request.clientId) {
      throw new OAuthError('invalid_grant', 'the refresh token was issued to another client');
    }
    const now = this.now();
    if (previous.usedAt !== null) return this.reused(previous.grantId, now);
    const grant = await this.store.findGrant(previous.grantId);
    if (grant?.revokedAt != null)
      throw new OAuthError('invalid_grant', 'the grant of this refresh token has been revoked');
    if (previous.expiresAt <= now)
      throw new OAuthError('invalid_grant', 'the refresh token has expired — sign in again');
    if (request.resource !== undefined && request.resource !== previous.resource) {
      throw new OAuthError(
        'invalid_target',
        `resource must be ${previous.resource}, the resource this grant is for`,
      );
    }
    const scopes = request.scopes ?? previous.scopes;
    const beyond = scopes.filter((s) => !previous.scopes.includes(s));
    if (beyond.length > 0) {
      throw new OAuthError(
        'invalid_scope',
        `a refresh may only narrow the granted scopes; not granted: ${beyond.join(' ')}`,
      );
    }
    const next = this.mint(previous, now);
    // A concurrent rotation of the same token got there first: that is reuse too.
    if (!(await this.store.rotateRefreshToken(hash, next.record, now)))
      return this.reused(previous.grantId, now);
    return { previous, token: next.token, expiresAt: next.record.expiresAt, scopes };
  }

  private async reused(grantId: string, now: number): Promise<never> {
    await this.store.revokeGrant(grantId, now, now + this.lifetimeMs);
    throw new RefreshTokenReuseError(grantId);
  }

  /** The store's lookup key for a refresh token. */
  hash(token: string): string {
    return createHmac('sha256', this.key).update(token).digest('hex');
  }

  private mint(input: NewRefreshToken, now: number): { token: string; record: RefreshTokenRecord } {
    const token = `${REFRESH_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    return {
      token,
      record: {
        hash: this.hash(token),
        grantId: input.grantId,
        clientId: input.clientId,
        subject: input.subject,
        resource: input.resource,
        scopes: [...input.scopes],
        issuedAt: now,
        expiresAt: now + this.lifetimeMs,
        usedAt: null,
      },
    };
  }
}
