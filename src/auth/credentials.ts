/**
 * Finds the one credential a request carries. Rules, each failing closed:
 * - a credential in the URL query is refused outright (URLs end up in logs, proxies and history);
 * - `X-API-Key: pcl_…`, or `Authorization: Bearer …` (an API key when it starts with pcl_, else a
 *   token for the identity provider), or `Authorization: Basic …`;
 * - two credentials at once are refused rather than guessing which one counts — two Authorization
 *   headers, two X-API-Key headers, or one of each (read from the raw headers: Node keeps only the
 *   first Authorization and joins repeated X-API-Key values, so the parsed headers cannot tell).
 */
import type { IncomingMessage } from 'node:http';
import { API_KEY_PREFIX } from './api-keys.js';
import { AuthError } from './auth-error.js';

export type Credential =
  | { readonly kind: 'api-key'; readonly key: string }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string };

/** RFC 6750 b64token / RFC 7235 token68. */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const CREDENTIAL_PARAMS = new Set([
  'api_key',
  'apikey',
  'api-key',
  'key',
  'access_token',
  'token',
  'x-api-key',
  'auth',
  'authorization',
  'bearer',
  'password',
]);

export function readCredential(req: IncomingMessage): Credential | undefined {
  refuseCredentialInQuery(req.url ?? '/');
  refuseRepeatedHeaders(req.rawHeaders);
  const apiKeyHeader = req.headers['x-api-key'];
  const authorization = req.headers.authorization;
  if (apiKeyHeader !== undefined && authorization !== undefined) {
    throw new AuthError(
      'invalid_request',
      'send one credential: either X-API-Key or Authorization, not both',
    );
  }
  if (apiKeyHeader !== undefined) {
    if (typeof apiKeyHeader !== 'string' || !apiKeyHeader.startsWith(API_KEY_PREFIX)) {
      throw new AuthError('invalid_request', 'X-API-Key must hold one Portcullis API key (pcl_…)');
    }
    return { kind: 'api-key', key: apiKeyHeader };
  }
  if (authorization === undefined) return undefined;
  const space = authorization.indexOf(' ');
  const scheme = (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase();
  const value = space === -1 ? '' : authorization.slice(space + 1).trim();
  if (scheme === 'bearer') {
    if (!TOKEN68.test(value))
      throw new AuthError('invalid_request', 'the Authorization header is not "Bearer <token>"');
    return value.startsWith(API_KEY_PREFIX)
      ? { kind: 'api-key', key: value }
      : { kind: 'bearer', token: value };
  }
  if (scheme === 'basic') return decodeBasic(value);
  // Name the scheme only when it looks like one: a bare credential must never be echoed back.
  const named = space !== -1 && /^[a-z][a-z0-9-]{0,19}$/.test(scheme) ? ` "${scheme}"` : '';
  throw new AuthError(
    'invalid_request',
    `the Authorization scheme${named} is not supported — use Bearer or Basic`,
  );
}

function decodeBasic(value: string): Credential {
  if (!TOKEN68.test(value))
    throw new AuthError('invalid_request', 'the Authorization header is not "Basic <base64>"');
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1)
    throw new AuthError('invalid_request', 'Basic credentials must be base64 of "user:password"');
  return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function refuseRepeatedHeaders(rawHeaders: readonly string[]): void {
  const counts = { authorization: 0, 'x-api-key': 0 };
  // rawHeaders alternates names and values.
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]?.toLowerCase();
    if (name === 'authorization' || name === 'x-api-key') counts[name]++;
  }
  for (const [name, count] of [
    ['Authorization', counts.authorization],
    ['X-API-Key', counts['x-api-key']],
  ] as const) {
    if (count > 1)
      throw new AuthError(
        'invalid_request',
        `send one credential: this request has ${count} ${name} headers — send exactly one`,
      );
  }
}

function refuseCredentialInQuery(url: string): void {
  const q = url.indexOf('?');
  if (q === -1) return;
  for (const [name, value] of new URLSearchParams(url.slice(q + 1))) {
    const hidden = name.includes(API_KEY_PREFIX) || value.includes(API_KEY_PREFIX);
    if (!hidden && !CREDENTIAL_PARAMS.has(name.toLowerCase())) continue;
    // The parameter is named only when its name cannot itself be the credential.
    const named = name.includes(API_KEY_PREFIX) || name.length > 32 ? '' : ` ("${name}")`;
    throw new AuthError(
      'invalid_request',
      `credentials are refused in the URL query${named}: URLs are written to logs and browser history — send the key in an Authorization: Bearer or X-API-Key header, and revoke the key you just exposed`,
    );
  }
}
