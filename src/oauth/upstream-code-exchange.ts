/**
 * The provider's authorization code for its id_token at its token endpoint (RFC 6749 §4.1.3 with
 * our PKCE verifier): a public client names itself in the body, a confidential one authenticates
 * with Basic. No redirects followed, bounded in time; a refusal says what the provider answered.
 */
import type { OidcLoginConfig } from '../config/oauth-schema.js';
import { OAuthError } from './errors.js';
import { FETCH_TIMEOUT_MS, type ProviderMetadata } from './upstream-discovery.js';

export interface CodeExchange {
  readonly metadata: ProviderMetadata;
  readonly config: OidcLoginConfig;
  readonly redirectUri: string;
  readonly code: string;
  readonly verifier: string;
}

/** The code for an id_token at the provider's token endpoint (RFC 6749 §4.1.3 with PKCE). */
export async function exchangeCode({
  metadata,
  config,
  redirectUri,
  code,
  verifier,
}: CodeExchange): Promise<string> {
  const { clientId, clientSecret } = config;
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
    // A public client names itself in the body; a confidential one in the Authorization header.
    ...(clientSecret === undefined ? { client_id: clientId } : {}),
  });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (clientSecret !== undefined) {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined.
    const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
  }
  let res: Response;
  try {
    res = await fetch(metadata.token_endpoint, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch {
    throw new OAuthError('temporarily_unavailable', 'the identity provider could not be reached — try again');
  }
  const answer = (await res.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown };
  if (!res.ok || typeof answer.id_token !== 'string') {
    const why = typeof answer.error === 'string' ? answer.error.slice(0, 64) : `HTTP ${res.status}`;
    throw new OAuthError('access_denied', `the identity provider did not accept the sign-in code (${why})`);
  }
  return answer.id_token;
}
