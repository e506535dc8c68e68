/**
 * The identity provider as the gateway reads it: its OpenID discovery document (cached an hour, a
 * failure not cached; its issuer exactly the configured one, its endpoints https or loopback only,
 * PKCE S256 supported) and its key set for id_tokens (jose's remote JWKS, refetched on a new kid).
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { insecureUrlReason } from '../config/secure-url.js';
import { OAuthError } from './errors.js';

export const FETCH_TIMEOUT_MS = 10_000;
const METADATA_TTL_MS = 60 * 60_000;

/** The provider's OpenID discovery document, the fields used here. */
export interface ProviderMetadata {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly jwks_uri: string;
  readonly code_challenge_methods_supported?: readonly string[];
  readonly authorization_response_iss_parameter_supported?: boolean;
}

export class ProviderDiscovery {
  private metadata: { value: Promise<ProviderMetadata>; until: number } | undefined;
  private keys: { uri: string; set: JWTVerifyGetKey } | undefined;

  constructor(private readonly issuer: string) {}

  /** The discovery document, cached an hour; a failure is not cached. */
  discover(): Promise<ProviderMetadata> {
    const now = Date.now();
    if (this.metadata && this.metadata.until > now) return this.metadata.value;
    const value = fetchMetadata(this.issuer);
    this.metadata = { value, until: now + METADATA_TTL_MS };
    value.catch(() => {
      if (this.metadata?.value === value) this.metadata = undefined;
    });
    return value;
  }

  jwks(uri: string): JWTVerifyGetKey {
    if (this.keys?.uri !== uri) {
      // jose caches the set and refetches for an unknown kid (the provider rotated), at most every 30 s.
      const set = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: FETCH_TIMEOUT_MS,
        cooldownDuration: 30_000,
        cacheMaxAge: METADATA_TTL_MS,
      });
      this.keys = { uri, set };
    }
    return this.keys.set;
  }
}

async function fetchMetadata(issuer: string): Promise<ProviderMetadata> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const unreachable = (why: string) =>
    new OAuthError(
      'temporarily_unavailable',
      `the identity provider's configuration could not be read (${why}) — try again, or tell the operator of this server`,
    );
  let res: Response;
  try {
    res = await fetch(url, {
      redirect: 'manual',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch {
    throw unreachable('no answer');
  }
  if (res.status !== 200) throw unreachable(`HTTP ${res.status}`);
  const metadata = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  // OpenID Connect Discovery §4.3: the document must name exactly the issuer it was read from.
  if (metadata?.issuer !== issuer) throw unreachable('it names another issuer');
  for (const name of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    const value = metadata[name];
    // Same rule as the issuer: https, or plain http only to loopback.
    if (typeof value !== 'string' || insecureUrlReason(value, undefined, false) !== undefined) {
      throw unreachable(`${name} is missing or not https`);
    }
  }
  const methods = metadata.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes('S256')) throw unreachable('it does not support PKCE S256');
  return metadata as unknown as ProviderMetadata;
}
