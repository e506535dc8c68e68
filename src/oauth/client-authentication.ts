/**
 * Client authentication at the token and revocation endpoints (OAuth 2.1 §2.4): `none` (a public
 * client identified by client_id, proven by PKCE), `client_secret_basic` (RFC 6749 §2.3.1: the
 * Authorization header, each part form-urlencoded) or `client_secret_post` (the body). A client
 * must use the method it registered — a secret sent by another route, or by a public client, is
 * refused rather than ignored — and only one method per request.
 */
import type { OAuthClient, TokenEndpointAuthMethod } from './client-metadata.js';
import type { OAuthClients } from './clients.js';
import { OAuthError } from './errors.js';

export interface ClientCredentials {
  /** The request's Authorization header, if any. */
  readonly authorization: string | undefined;
  /** The form-encoded request body. */
  readonly body: URLSearchParams;
}

/** The authenticated client, or invalid_client / invalid_request saying what failed. */
export async function authenticateClient(
  input: ClientCredentials,
  clients: OAuthClients,
): Promise<OAuthClient> {
  const basic = input.authorization === undefined ? undefined : parseBasic(input.authorization);
  const bodyId = single(input.body, 'client_id');
  const bodySecret = single(input.body, 'client_secret');
  if (basic && bodySecret !== undefined) {
    throw new OAuthError(
      'invalid_request',
      'send the client secret once: in the Authorization header or in the body, not both',
    );
  }
  if (basic && bodyId !== undefined && bodyId !== basic.id) {
    throw new OAuthError(
      'invalid_request',
      'client_id in the body differs from the one in the Authorization header',
    );
  }
  const clientId = basic?.id ?? bodyId;
  if (clientId === undefined || clientId === '') {
    throw new OAuthError(
      'invalid_client',
      'client_id is required — send it in the body (public clients) or authenticate',
    );
  }
  const client = await clients.resolve(clientId);
  const used: TokenEndpointAuthMethod = basic
    ? 'client_secret_basic'
    : bodySecret !== undefined
      ? 'client_secret_post'
      : 'none';
  if (used !== client.tokenEndpointAuthMethod) {
    throw new OAuthError(
      'invalid_client',
      client.tokenEndpointAuthMethod === 'none'
        ? 'this client is public (token_endpoint_auth_method none) — send client_id without a secret'
        : `this client authenticates with ${client.tokenEndpointAuthMethod}, but the request used ${used}`,
    );
  }
  if (used === 'none') return client;
  const secret = basic?.secret ?? bodySecret ?? '';
  if (!(await clients.verifySecret(client, secret))) {
    throw new OAuthError('invalid_client', 'client authentication failed — the client secret is wrong');
  }
  return client;
}

function parseBasic(header: string): { id: string; secret: string } {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match)
    throw new OAuthError('invalid_request', 'the Authorization header is not HTTP Basic client credentials');
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0)
    throw new OAuthError(
      'invalid_request',
      'the Basic credentials have no colon between client id and secret',
    );
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_request', 'the Basic credentials are not correctly form-urlencoded');
  }
}

/** application/x-www-form-urlencoded decoding, as RFC 6749 §2.3.1 requires of both parts. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** A body parameter that must appear at most once (RFC 6749 §3.2: no repeated parameters). */
export function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new OAuthError('invalid_request', `${name} is repeated — send it once`);
  return values[0];
}
