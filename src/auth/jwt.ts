/**
 * Access tokens issued by an external identity provider as JWTs, checked with jose against the
 * provider's JWKS: signature with an allow-listed asymmetric algorithm (so `alg: none` and HS/RS
 * confusion cannot pass), exact issuer, audience = the resource being called, exp required, exp and
 * nbf with a small clock tolerance. jose caches the key set and refetches it for an unknown kid
 * (at most once per cooldown).
 */
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import type { AuthConfig } from '../config/auth-schema.js';
import type { Principal } from '../core/principal.js';
import { AuthError } from './auth-error.js';
import { scopesFromClaims } from './scopes-claim.js';

type JwtConfig = NonNullable<AuthConfig['jwt']>;

const FETCH_TIMEOUT_MS = 5000;

export class JwtVerifier {
  private keySet: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(private readonly config: JwtConfig) {}

  /** The principal for `token` presented to `resource`, or an AuthError naming what failed. */
  async verify(token: string, resource: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.jwks(), {
        issuer: this.config.issuer,
        audience: this.config.audience ?? resource,
        algorithms: this.config.algorithms,
        clockTolerance: Math.round(this.config.clockTolerance / 1000),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw new AuthError('invalid_token', describe(err));
    }
    const clientId =
      typeof payload.client_id === 'string'
        ? payload.client_id
        : typeof payload.azp === 'string'
          ? payload.azp
          : undefined;
    const name =
      typeof payload.preferred_username === 'string' ? payload.preferred_username : (payload.sub as string);
    return {
      id: `jwt:${payload.iss}#${payload.sub}`,
      kind: 'jwt',
      name,
      ...(clientId ? { clientId } : {}),
      scopes: scopesFromClaims(payload, this.config.scopeClaim),
    };
  }

  private jwks(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.keySet) return this.keySet;
    const keySet = this.resolveJwksUrl().then((url) =>
      createRemoteJWKSet(url, {
        timeoutDuration: FETCH_TIMEOUT_MS,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
      }),
    );
    // A failed discovery is retried on the next request rather than remembered.
    keySet.catch(() => {
      if (this.keySet === keySet) this.keySet = undefined;
    });
    this.keySet = keySet;
    return keySet;
  }

  /** The configured jwksUrl, or jwks_uri from the issuer's metadata (RFC 8414, then OIDC discovery). */
  private async resolveJwksUrl(): Promise<URL> {
    if (this.config.jwksUrl) return new URL(this.config.jwksUrl);
    const issuer = this.config.issuer.replace(/\/$/, '');
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const res = await fetch(`${issuer}${path}`, {
        redirect: 'manual',
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      }).catch(() => undefined);
      if (res?.status !== 200) continue;
      const metadata = (await res.json()) as { issuer?: string; jwks_uri?: string };
      if (metadata.issuer !== this.config.issuer || typeof metadata.jwks_uri !== 'string') continue;
      const url = new URL(metadata.jwks_uri);
      if (url.protocol !== 'https:' && new URL(issuer).protocol === 'https:') continue;
      return url;
    }
    throw new AuthError(
      'invalid_token',
      'the identity provider cannot be reached to check the token — try again later',
    );
  }
}

function describe(err: unknown): string {
  if (err instanceof AuthError) return err.message;
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'the token is not valid yet';
    return `the token's "${err.claim}" claim is not accepted here (${err.reason.replace('_', ' ')})`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return "the token's signing algorithm is not allowed";
  if (err instanceof errors.JWKSNoMatchingKey)
    return "no signing key of the identity provider matches the token's kid";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) {
    return 'the identity provider cannot be reached to check the token — try again later';
  }
  return 'the token is malformed or not a JWT this gateway accepts';
}
