import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AuthorizationRequestContext,
  type AuthorizationRequestResult,
  authorizationResponseLocation,
  parseAuthorizationRequest,
} from '../../src/oauth/authorization-request.js';
import type { OAuthClient } from '../../src/oauth/client-metadata.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { s256Challenge } from '../../src/oauth/pkce.js';
import { ISSUER, RESOURCE } from '../helpers/oauth.js';

const CLIENT: OAuthClient = {
  clientId: 'pcc_0123456789abcdef01234567',
  kind: 'static',
  redirectUris: ['https://app.example.com/cb', 'http://127.0.0.1/callback'],
  tokenEndpointAuthMethod: 'none',
  grantTypes: ['authorization_code', 'refresh_token'],
};
const CHALLENGE = s256Challenge('v'.repeat(43));

const context: AuthorizationRequestContext = {
  issuer: ISSUER,
  resources: [RESOURCE, 'https://mcp.example.com/servers/files/mcp'],
  resolveClient: async (id) => {
    if (id === CLIENT.clientId) return CLIENT;
    if (id === 'pcc_noauthcode00000000000000')
      return { ...CLIENT, clientId: id, grantTypes: ['refresh_token'] };
    throw new OAuthError('invalid_client', 'the client id is not known');
  },
};

function params(overrides: Record<string, string | null> = {}): URLSearchParams {
  const base: Record<string, string> = {
    client_id: CLIENT.clientId,
    redirect_uri: 'https://app.example.com/cb',
    response_type: 'code',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    resource: RESOURCE,
    scope: 'tools:read files:*',
    state: 'xyz 123',
  };
  const merged = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...base, ...overrides })) if (v !== null) merged.append(k, v);
  return merged;
}

/** Asserts an error shown on our own page (no redirect). */
function page(result: AuthorizationRequestResult, error: string, description: RegExp | string): void {
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.redirect, false, 'must not redirect');
  assert.equal(result.error.error, error);
  if (typeof description === 'string') assert.equal(result.error.description, description);
  else assert.match(result.error.description, description);
}

/** Asserts an error redirected to the client, returning the redirect's query. */
function redirected(
  result: AuthorizationRequestResult,
  error: string,
  description: RegExp | string,
): URLSearchParams {
  assert.equal(result.ok, false);
  if (result.ok || !result.redirect) assert.fail('expected a redirect');
  const url = new URL(result.location);
  assert.equal(`${url.origin}${url.pathname}`, 'https://app.example.com/cb');
  assert.equal(url.searchParams.get('error'), error);
  assert.equal(url.searchParams.get('iss'), ISSUER, 'RFC 9207 iss on errors too');
  const text = url.searchParams.get('error_description') ?? '';
  if (typeof description === 'string') assert.equal(text, description);
  else assert.match(text, description);
  return url.searchParams;
}

describe('parseAuthorizationRequest: a valid request', () => {
  it('returns the client, redirect URI, challenge, resource, scopes and state', async () => {
    const result = await parseAuthorizationRequest(params({ unknown: 'ignored', nonce: 'n' }), context);
    assert.deepEqual(result, {
      ok: true,
      request: {
        client: CLIENT,
        redirectUri: 'https://app.example.com/cb',
        codeChallenge: CHALLENGE,
        resource: RESOURCE,
        scopes: ['tools:read', 'files:*'],
        state: 'xyz 123',
      },
    });
  });

  it('accepts a loopback redirect on another port, and no scope or state', async () => {
    const result = await parseAuthorizationRequest(
      params({ redirect_uri: 'http://127.0.0.1:49152/callback', scope: null, state: null }),
      context,
    );
    assert.ok(result.ok);
    assert.equal(result.request.redirectUri, 'http://127.0.0.1:49152/callback');
    assert.equal(result.request.scopes, undefined);
    assert.equal(result.request.state, undefined);
  });
});

describe('parseAuthorizationRequest: errors that must never redirect', () => {
  it('an unknown client', async () => {
    page(
      await parseAuthorizationRequest(params({ client_id: 'pcc_unknown' }), context),
      'invalid_client',
      'the client id is not known',
    );
  });

  it('a missing or repeated client_id', async () => {
    page(
      await parseAuthorizationRequest(params({ client_id: null }), context),
      'invalid_request',
      'client_id is required',
    );
    const twice = params();
    twice.append('client_id', 'other');
    page(
      await parseAuthorizationRequest(twice, context),
      'invalid_request',
      'client_id is repeated — send it once',
    );
  });

  it('a foreign redirect URI, even with every other parameter wrong too', async () => {
    const result = await parseAuthorizationRequest(
      params({
        redirect_uri: 'https://evil.example/cb',
        response_type: 'token',
        code_challenge_method: 'plain',
      }),
      context,
    );
    page(
      result,
      'invalid_request',
      /^redirect_uri "https:\/\/evil\.example\/cb" is not registered for this client/,
    );
  });

  it('a non-loopback http redirect, a fragment, a missing redirect_uri', async () => {
    page(
      await parseAuthorizationRequest(params({ redirect_uri: 'http://app.example.com/cb' }), context),
      'invalid_request',
      /plain http/,
    );
    page(
      await parseAuthorizationRequest(params({ redirect_uri: 'https://app.example.com/cb#x' }), context),
      'invalid_request',
      /#fragment/,
    );
    page(
      await parseAuthorizationRequest(params({ redirect_uri: null }), context),
      'invalid_request',
      'redirect_uri is required',
    );
  });

  it('a client resolver that fails unexpectedly becomes a generic server_error page', async () => {
    const broken = {
      ...context,
      resolveClient: async () => Promise.reject(new Error('db down at /var/lib/x')),
    };
    const result = await parseAuthorizationRequest(params(), broken);
    page(result, 'server_error', 'the authorization request could not be processed');
  });
});

describe('parseAuthorizationRequest: errors sent back to the client with state and iss', () => {
  it('PKCE missing, plain, or without a method', async () => {
    const missing = redirected(
      await parseAuthorizationRequest(params({ code_challenge: null, code_challenge_method: null }), context),
      'invalid_request',
      /^code_challenge is required/,
    );
    assert.equal(missing.get('state'), 'xyz 123');
    redirected(
      await parseAuthorizationRequest(params({ code_challenge_method: 'plain' }), context),
      'invalid_request',
      /plain is not allowed/,
    );
    redirected(
      await parseAuthorizationRequest(params({ code_challenge_method: null }), context),
      'invalid_request',
      /code_challenge_method is required/,
    );
  });

  it('response_type other than code, or missing', async () => {
    redirected(
      await parseAuthorizationRequest(params({ response_type: 'token' }), context),
      'unsupported_response_type',
      'response_type "token" is not supported — use code',
    );
    redirected(
      await parseAuthorizationRequest(params({ response_type: null }), context),
      'invalid_request',
      'response_type is required',
    );
  });

  it('a client that did not register the authorization_code grant', async () => {
    redirected(
      await parseAuthorizationRequest(params({ client_id: 'pcc_noauthcode00000000000000' }), context),
      'unauthorized_client',
      /did not register the authorization_code grant/,
    );
  });

  it('resource missing, foreign, or repeated (RFC 8707)', async () => {
    redirected(
      await parseAuthorizationRequest(params({ resource: null }), context),
      'invalid_target',
      /^resource is required \(RFC 8707\)/,
    );
    redirected(
      await parseAuthorizationRequest(params({ resource: 'https://other.example.com/mcp' }), context),
      'invalid_target',
      /^resource "https:\/\/other\.example\.com\/mcp" is not served here — use one of: https:\/\/mcp\.example\.com\/mcp/,
    );
    const two = params();
    two.append('resource', 'https://mcp.example.com/servers/files/mcp');
    redirected(await parseAuthorizationRequest(two, context), 'invalid_target', /exactly one resource/);
  });

  it('a malformed scope, repeated parameters, request objects, another response_mode', async () => {
    redirected(
      await parseAuthorizationRequest(params({ scope: 'a "b"' }), context),
      'invalid_scope',
      /^scope is malformed/,
    );
    const twice = params();
    twice.append('code_challenge', CHALLENGE);
    redirected(
      await parseAuthorizationRequest(twice, context),
      'invalid_request',
      'code_challenge is repeated — send it once',
    );
    redirected(
      await parseAuthorizationRequest(params({ request_uri: 'urn:x' }), context),
      'invalid_request',
      /request objects/,
    );
    redirected(
      await parseAuthorizationRequest(params({ response_mode: 'fragment' }), context),
      'invalid_request',
      /response_mode "fragment"/,
    );
  });

  it('a repeated or oversized state is refused and not echoed', async () => {
    const twice = params();
    twice.append('state', 'other');
    const q = redirected(
      await parseAuthorizationRequest(twice, context),
      'invalid_request',
      'state is repeated — send it once',
    );
    assert.equal(q.get('state'), null);
    const long = redirected(
      await parseAuthorizationRequest(params({ state: 's'.repeat(2049) }), context),
      'invalid_request',
      /longer than 2048/,
    );
    assert.equal(long.get('state'), null);
  });
});

describe('authorizationResponseLocation', () => {
  it('adds code, state and iss to the redirect URI, keeping its query', () => {
    const location = authorizationResponseLocation(
      'https://app.example.com/cb?tenant=1',
      { code: 'pca_x' },
      'a&b',
      ISSUER,
    );
    assert.equal(
      location,
      'https://app.example.com/cb?tenant=1&code=pca_x&state=a%26b&iss=https%3A%2F%2Fmcp.example.com',
    );
  });

  it('works for private-use schemes', () => {
    const location = authorizationResponseLocation('com.example.app:/cb', { code: 'c' }, undefined, ISSUER);
    assert.equal(location, 'com.example.app:/cb?code=c&iss=https%3A%2F%2Fmcp.example.com');
  });
});
