/**
 * Access tokens: JWTs (RFC 9068 shape, `typ: at+jwt`) signed by SigningKeys, bound to one resource
 * as `aud` (RFC 8707, so a token for one MCP endpoint is refused by every other), short-lived
 * (1 h by default), carrying the client and the granted scopes. Verification accepts only the
 * configured algorithm (never `none`, never the other family), our issuer, the resource being
 * called, a live exp, and a jti and grant that have not been revoked.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type { Principal } from '../core/principal.js';
import { OAuthError } from './errors.js';
import { formatScope, parseScope } from './scopes.js';
import type { SigningKeys } from './signing-keys.js';
import type { TokenStore } from './token-store.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const DEFAULT_ACCESS_TOKEN_LIFETIME_MS = 3_600_000;
/** An empty signature is let through to jose so that `alg: none` is refused by name. */
const JWT_FORMAT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 8192;

/** The claims every access token carries. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly client_id: string;
  readonly scope: string;
  readonly jti: string;
  /** The grant (family) the token belongs to: revoking it revokes the token. */
  readonly gid: string;
  readonly iat: number;
  readonly exp: number;
}

export interface NewAccessToken {
  readonly subject: string;
  readonly clientId: string;
  readonly resource: string;
  readonly scopes: readonly string[];
  readonly grantId: string;
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly jti: string;
  /** Seconds, for the token response's expires_in. */
  readonly expiresIn: number;
  readonly expiresAt: number;
}

export interface AccessTokensOptions {
  /** Our issuer identifier (the public URL's origin). */
  readonly issuer: string;
  readonly keys: SigningKeys;
  readonly store: Pick<TokenStore, 'isAccessTokenRevoked'>;
  readonly lifetimeMs?: number;
  readonly now?: () => number;
}

export class AccessTokens {
  readonly lifetimeMs: number;
  private readonly now: () => number;

  constructor(private readonly options: AccessTokensOptions) {
    this.lifetimeMs = options.lifetimeMs ?? DEFAULT_ACCESS_TOKEN_LIFETIME_MS;
    if (!Number.isInteger(this.lifetimeMs) || this.lifetimeMs < 1000) {
      throw new TypeError('the access token lifetime must be at least one second');
    }
    this.now = options.now ?? Date.now;
  }

  async issue(input: NewAccessToken): Promise<IssuedAccessToken> {
    const { kid, key } = await this.options.keys.signingKey();
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + Math.floor(this.lifetimeMs / 1000);
    const jti = randomBytes(16).toString('base64url');
    const token = await new SignJWT({
      client_id: input.clientId,
      scope: formatScope(input.scopes),
      gid: input.grantId,
    })
      .setProtectedHeader({ alg: this.options.keys.algorithm, typ: ACCESS_TOKEN_TYPE, kid })
      .setIssuer(this.options.issuer)
      .setSubject(input.subject)
      .setAudience(input.resource)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(key);
    return { token, jti, expiresIn: exp - iat, expiresAt: exp * 1000 };
  }

  /**
   * Whether `token` claims to be one of ours (our typ and issuer), read without verifying: it only
   * decides which verifier checks it, and verify() then checks everything.
   */
  isOurs(token: string): boolean {
    try {
      return (
        decodeProtectedHeader(token).typ === ACCESS_TOKEN_TYPE && decodeJwt(token).iss === this.options.issuer
      );
    } catch {
      return false;
    }
  }

  /** The claims of a token presented to `resource`; invalid_token saying what failed otherwise. */
  async verify(token: string, resource: string): Promise<AccessTokenClaims> {
    const claims = await this.verifySignature(token, resource);
    if (await this.options.store.isAccessTokenRevoked(claims.jti, claims.gid)) {
      throw new OAuthError('invalid_token', 'the access token has been revoked');
    }
    return claims;
  }

  /**
   * The claims of a token we signed, whatever resource it is for, or undefined when it is not a
   * live token of ours (for RFC 7009 revocation, which ignores invalid tokens).
   */
  async inspect(token: string): Promise<AccessTokenClaims | undefined> {
    try {
      return await this.verifySignature(token, undefined);
    } catch {
      return undefined;
    }
  }

  private async verifySignature(token: string, resource: string | undefined): Promise<AccessTokenClaims> {
    if (token.length > MAX_TOKEN_LENGTH || !JWT_FORMAT.test(token)) {
      throw new OAuthError('invalid_token', 'the access token is malformed');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = await this.options.keys.verificationKey(header.kid);
          if (!key) throw new errors.JWKSNoMatchingKey();
          return key;
        },
        {
          algorithms: [this.options.keys.algorithm],
          typ: ACCESS_TOKEN_TYPE,
          issuer: this.options.issuer,
          ...(resource !== undefined ? { audience: resource } : {}),
          requiredClaims: ['sub', 'aud', 'exp', 'iat', 'jti'],
          currentDate: new Date(this.now()),
        },
      ));
    } catch (err) {
      throw new OAuthError('invalid_token', describe(err), { cause: err });
    }
    return claimsOf(payload);
  }
}

/** The principal a verified access token stands for: its scopes are exactly the granted ones. */
export function accessTokenPrincipal(claims: AccessTokenClaims): Principal {
  return {
    id: `oauth:${claims.sub}`,
    kind: 'oauth',
    name: claims.sub,
    clientId: claims.client_id,
    scopes: parseScope(claims.scope) ?? [],
  };
}

function claimsOf(payload: JWTPayload): AccessTokenClaims {
  const { iss, sub, aud, jti, iat, exp } = payload;
  const { client_id, scope, gid } = payload as Record<string, unknown>;
  if (
    typeof iss !== 'string' ||
    typeof sub !== 'string' ||
    typeof aud !== 'string' ||
    typeof jti !== 'string' ||
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    typeof client_id !== 'string' ||
    typeof scope !== 'string' ||
    typeof gid !== 'string'
  ) {
    throw new OAuthError('invalid_token', 'the access token lacks a claim this server always sets');
  }
  return { iss, sub, aud, jti, iat, exp, client_id, scope, gid };
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the access token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'the access token was issued for another resource';
    if (err.claim === 'iss') return 'the access token was issued by another authorization server';
    if (err.claim === 'typ') return 'the token is not an access token (typ must be at+jwt)';
    if (err.claim === 'nbf' || err.claim === 'iat') return 'the access token is not valid yet';
    return `the access token's "${err.claim}" claim is not accepted (${err.reason.replace('_', ' ')})`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return "the access token's signing algorithm is not accepted";
  if (err instanceof errors.JWKSNoMatchingKey)
    return 'the access token was signed with a key this server no longer accepts';
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return "the access token's signature does not verify";
  return 'the access token is malformed';
}
