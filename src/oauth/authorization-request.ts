/**
 * The /authorize request, checked in the order that decides where an error may go (OAuth 2.1
 * §4.1.2.1): until the client and its redirect URI are known to belong together, an error is shown
 * on our own page — redirecting to an unverified URI would make us an open redirector. After that,
 * errors go back to the client's redirect URI with `error`, `error_description`, `state` and `iss`
 * (RFC 9207, against mix-up attacks). Then: response_type=code only, PKCE S256, exactly one
 * `resource` that is one of ours (RFC 8707), a well-formed `scope`. Parameters are allow-listed:
 * unknown ones are ignored, repeated known ones refused (RFC 6749 §3.1).
 */
import type { OAuthClient } from './client-metadata.js';
import { OAuthError } from './errors.js';
import { checkCodeChallenge } from './pkce.js';
import { matchRedirectUri } from './redirect-uri.js';
import { parseScopeParameter } from './scopes.js';

/** Long enough for any client's CSRF token or encoded state; longer is abuse of our redirect. */
export const MAX_STATE_LENGTH = 2048;

/** A request that passed every check: what the login and consent page works from. */
export interface AuthorizationRequest {
  readonly client: OAuthClient;
  /** As presented (a loopback port may differ from the registered one). */
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly resource: string;
  /** The scopes asked for; undefined when the request named none. */
  readonly scopes: readonly string[] | undefined;
  readonly state: string | undefined;
}

export interface AuthorizationRequestContext {
  /** Our issuer identifier, sent back as `iss`. */
  readonly issuer: string;
  /** The resource identifiers (MCP endpoint URLs) this server issues tokens for. */
  readonly resources: readonly string[];
  /** Resolves a client id, or throws invalid_client (OAuthClients.resolve). */
  readonly resolveClient: (clientId: string) => Promise<OAuthClient>;
}

export type AuthorizationRequestResult =
  | { readonly ok: true; readonly request: AuthorizationRequest }
  /** The client or redirect URI is not trustworthy: render the error on our page, never redirect. */
  | { readonly ok: false; readonly redirect: false; readonly error: OAuthError }
  /** Send the browser to `location`, which carries the error back to the client. */
  | { readonly ok: false; readonly redirect: true; readonly error: OAuthError; readonly location: string };

const SINGLE = [
  'response_type',
  'code_challenge',
  'code_challenge_method',
  'scope',
  'response_mode',
] as const;

export async function parseAuthorizationRequest(
  params: URLSearchParams,
  context: AuthorizationRequestContext,
): Promise<AuthorizationRequestResult> {
  let client: OAuthClient;
  let redirectUri: string;
  try {
    client = await context.resolveClient(required(params, 'client_id'));
    redirectUri = matchRedirectUri(required(params, 'redirect_uri'), client.redirectUris);
  } catch (err) {
    return { ok: false, redirect: false, error: asOAuthError(err) };
  }
  const states = params.getAll('state');
  const state =
    states.length === 1 && (states[0] as string).length <= MAX_STATE_LENGTH ? states[0] : undefined;
  try {
    if (states.length > 1) throw new OAuthError('invalid_request', 'state is repeated — send it once');
    if (states.length === 1 && state === undefined) {
      throw new OAuthError('invalid_request', `state is longer than ${MAX_STATE_LENGTH} characters`);
    }
    const request = checkAfterRedirect(params, context, client, redirectUri, state);
    return { ok: true, request };
  } catch (err) {
    const error = asOAuthError(err);
    const location = authorizationResponseLocation(redirectUri, errorParams(error), state, context.issuer);
    return { ok: false, redirect: true, error, location };
  }
}

function checkAfterRedirect(
  params: URLSearchParams,
  context: AuthorizationRequestContext,
  client: OAuthClient,
  redirectUri: string,
  state: string | undefined,
): AuthorizationRequest {
  for (const name of SINGLE) {
    if (params.getAll(name).length > 1)
      throw new OAuthError('invalid_request', `${name} is repeated — send it once`);
  }
  if (params.has('request') || params.has('request_uri')) {
    throw new OAuthError('invalid_request', 'request objects (request, request_uri) are not supported');
  }
  const responseType = params.get('response_type');
  if (responseType === null || responseType === '')
    throw new OAuthError('invalid_request', 'response_type is required');
  if (responseType !== 'code') {
    throw new OAuthError(
      'unsupported_response_type',
      `response_type ${JSON.stringify(responseType)} is not supported — use code`,
    );
  }
  if (!client.grantTypes.includes('authorization_code')) {
    throw new OAuthError('unauthorized_client', 'this client did not register the authorization_code grant');
  }
  const responseMode = params.get('response_mode');
  if (responseMode !== null && responseMode !== 'query') {
    throw new OAuthError(
      'invalid_request',
      `response_mode ${JSON.stringify(responseMode)} is not supported — responses use query`,
    );
  }
  const codeChallenge = checkCodeChallenge(
    params.get('code_challenge') ?? undefined,
    params.get('code_challenge_method') ?? undefined,
  );
  const resource = checkResource(params.getAll('resource'), context.resources);
  const scopes = parseScopeParameter(params.get('scope') ?? undefined);
  return { client, redirectUri, codeChallenge, resource, scopes, state };
}

/** RFC 8707: exactly one resource, one of ours, compared as a string. */
function checkResource(values: readonly string[], resources: readonly string[]): string {
  if (values.length === 0 || values[0] === '') {
    throw new OAuthError(
      'invalid_target',
      `resource is required (RFC 8707) — name the MCP endpoint the token is for, e.g. ${resources[0] ?? 'its URL'}`,
    );
  }
  if (values.length > 1)
    throw new OAuthError('invalid_target', 'name exactly one resource: a token is bound to one endpoint');
  const resource = values[0] as string;
  if (!resources.includes(resource)) {
    throw new OAuthError(
      'invalid_target',
      `resource ${JSON.stringify(resource.slice(0, 200))} is not served here — use one of: ${resources.join(', ')}`,
    );
  }
  return resource;
}

/**
 * Where to send the browser with an authorization response (OAuth 2.1 §4.1.2): the redirect URI
 * with `code` or the error added to its query, `state` echoed, and `iss` (RFC 9207 §2).
 */
export function authorizationResponseLocation(
  redirectUri: string,
  response: { code: string } | { error: string; error_description: string },
  state: string | undefined,
  issuer: string,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(response)) url.searchParams.set(name, value);
  if (state !== undefined) url.searchParams.set('state', state);
  url.searchParams.set('iss', issuer);
  return url.href;
}

function errorParams(error: OAuthError): { error: string; error_description: string } {
  return { error: error.error, error_description: error.expose ? error.description : 'the request failed' };
}

function required(params: URLSearchParams, name: string): string {
  const values = params.getAll(name);
  if (values.length > 1) throw new OAuthError('invalid_request', `${name} is repeated — send it once`);
  const value = values[0];
  if (value === undefined || value === '') throw new OAuthError('invalid_request', `${name} is required`);
  return value;
}

function asOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  return new OAuthError('server_error', 'the authorization request could not be processed', { cause: err });
}
