/**
 * Opaque access tokens checked through the identity provider's RFC 7662 introspection endpoint.
 * An active answer is cached under a hash of the token, never longer than the token lives nor than
 * `cacheTtl`; inactive answers and failures are not cached. The token must be active, unexpired,
 * issued by the configured issuer (when one is set) and meant for this resource.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { AuthConfig } from '../config/auth-schema.js';
import type { Principal } from '../core/principal.js';
import { AuthError } from './auth-error.js';
import { scopesFromClaims } from './scopes-claim.js';

type IntrospectionConfig = NonNullable<AuthConfig['introspection']>;

const FETCH_TIMEOUT_MS = 5000;
const MAX_RESPONSE_BYTES = 64 * 1024;

interface Introspected {
  active?: boolean;
  exp?: number;
  iss?: string;
  aud?: string | string[];
  sub?: string;
  client_id?: string;
  username?: string;
  [claim: string]: unknown;
}

export class Introspector {
  private readonly cache = new LRUCache<string, { principal: Principal; audiences: readonly string[] }>({
    max: 10_000,
  });
  private readonly authorization: string;

  constructor(
    private readonly config: IntrospectionConfig,
    private readonly now: () => number = Date.now,
  ) {
    // RFC 7662 §2.1 with client_secret_basic: both parts form-urlencoded before base64 (RFC 6749 §2.3.1).
    const pair = `${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`;
    this.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }

  async verify(token: string, resource: string): Promise<Principal> {
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = this.cache.get(key);
    if (cached) return this.forResource(cached.principal, cached.audiences, resource);
    const answer = await this.introspect(token);
    if (answer.active !== true)
      throw new AuthError('invalid_token', 'the token is not active (expired, revoked or unknown)');
    const nowSeconds = this.now() / 1000;
    if (typeof answer.exp === 'number' && answer.exp <= nowSeconds)
      throw new AuthError('invalid_token', 'the token has expired');
    if (this.config.issuer !== undefined && answer.iss !== this.config.issuer) {
      throw new AuthError('invalid_token', 'the token was issued by another issuer');
    }
    const audiences =
      typeof answer.aud === 'string' ? [answer.aud] : Array.isArray(answer.aud) ? answer.aud : [];
    const subject = answer.sub ?? answer.username ?? answer.client_id ?? 'unknown';
    const principal: Principal = {
      id: `introspection:${answer.iss ?? this.config.url}#${subject}`,
      kind: 'oauth',
      name: answer.username ?? subject,
      ...(answer.client_id ? { clientId: answer.client_id } : {}),
      scopes: scopesFromClaims(answer, this.config.scopeClaim),
    };
    const ttl = Math.min(
      this.config.cacheTtl,
      typeof answer.exp === 'number' ? answer.exp * 1000 - this.now() : this.config.cacheTtl,
    );
    if (ttl > 0) this.cache.set(key, { principal, audiences }, { ttl });
    return this.forResource(principal, audiences, resource);
  }

  private forResource(principal: Principal, audiences: readonly string[], resource: string): Principal {
    const accepted = this.config.audience ?? [resource];
    if (!audiences.some((a) => accepted.includes(a))) {
      throw new AuthError('invalid_token', 'the token was not issued for this resource (audience)');
    }
    return principal;
  }

  private async introspect(token: string): Promise<Introspected> {
    let res: Response;
    try {
      res = await fetch(this.config.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      });
    } catch {
      throw new AuthError(
        'invalid_token',
        'the identity provider cannot be reached to check the token — try again later',
      );
    }
    const text = await res.text();
    if (res.status !== 200 || text.length > MAX_RESPONSE_BYTES) {
      throw new AuthError(
        'invalid_token',
        'the identity provider refused to check the token — try again later',
      );
    }
    try {
      return JSON.parse(text) as Introspected;
    } catch {
      throw new AuthError('invalid_token', 'the identity provider answered with something other than JSON');
    }
  }
}
