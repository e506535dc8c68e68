/**
 * The attacks issue 7 lists, each against a real gateway over HTTP (fetch with redirect: 'manual';
 * the sign-in and consent pages driven by raw form posts, the CSRF cookie and token read from the
 * pages), each refused with the exact error the server defines: PKCE missing or plain, a wrong
 * code_verifier, a replayed code (which also revokes what its first use issued), a code redeemed by
 * another client or with another redirect URI, unsafe redirect URIs at registration and at
 * /authorize, a tampered client id, a token for another resource, refresh-token reuse, CSRF on the
 * consent form, open redirects through next/return_to/redirect, oversized registrations, Client ID
 * Metadata Document URLs on private addresses (refused before any connection), forged access tokens,
 * and password guessing on the sign-in page. No token ever reaches the gateway's log.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  decodeJwt,
  decodeProtectedHeader,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { credentialLeaks } from '../helpers/leaks.js';
import {
  authorizeUrl,
  bearerError,
  type CallbackServer,
  callbackServer,
  FormBrowser,
  formFields,
  mcpWithToken,
  oauthGatewayYaml,
  obtainCode,
  PASSWORD,
  pageText,
  pkce,
  register,
  registerPublicClient,
  remember,
  seenSecrets,
  tokenRequest,
} from '../helpers/oauth-flow.js';

/** RFC 6749 §5.1: token responses, and their errors, are never cached. */
function assertNoStore(res: Response): void {
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('pragma'), 'no-cache');
}

/** The gateway's audit events of `type`, from its log. */
function auditEvents(gw: TestGateway, type: string): Record<string, unknown>[] {
  return gw.logs
    .map((line) => JSON.parse(line) as { audit?: Record<string, unknown> })
    .flatMap((entry) => (entry.audit?.type === type ? [entry.audit] : []));
}

/** Checks the logs hold none of the secrets seen, nor anything shaped like a token. */
function assertNoSecretsIn(gw: TestGateway): void {
  assert.ok(gw.logs.length > 10, `the gateway logged (${gw.logs.length} lines)`);
  assert.ok(seenSecrets.length > 5, `the tests saw tokens (${seenSecrets.length})`);
  const lines = gw.logs.map((line) => ({ source: 'gateway', line }));
  assert.deepEqual(credentialLeaks(lines, seenSecrets), []);
}

/** An error page: 400 (or `status`), our page headers, never a Location; its text. */
async function assertErrorPage(res: Response, status = 400): Promise<string> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('location'), null, 'an error page never redirects');
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  return pageText(await res.text());
}

describe('OAuth attacks over HTTP (open registration, ES256 access tokens)', () => {
  let gw: TestGateway;
  let callback: CallbackServer;
  let mcp: string;
  /** Two self-registered public clients with the same redirect URI. */
  let clientA: string;
  let clientB: string;

  before(async () => {
    gw = await startTestGateway(
      await oauthGatewayYaml('{ registration: open, accessTokens: { signing: ES256 } }'),
    );
    mcp = `${gw.url}/mcp`;
    callback = await callbackServer();
    clientA = await registerPublicClient(gw.url, callback.url);
    clientB = await registerPublicClient(gw.url, callback.url);
  });
  after(async () => {
    callback?.server.close();
    await gw?.close();
  });

  /** A code for client A (or `clientId`) for /mcp, with its verifier. */
  async function codeFor(clientId = clientA, resource = mcp) {
    const { verifier, challenge } = pkce();
    const { code } = await obtainCode(gw.url, {
      clientId,
      redirectUri: callback.url,
      resource,
      challenge,
    });
    return { code, verifier };
  }

  const redeem = (code: string, verifier: string, extra: Record<string, string> = {}) =>
    tokenRequest(gw.url, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: clientA,
      redirect_uri: callback.url,
      ...extra,
    });

  it('sends a request without PKCE, or with plain PKCE, back to the client with invalid_request', async () => {
    const { verifier, challenge } = pkce();
    const base = {
      response_type: 'code',
      client_id: clientA,
      redirect_uri: callback.url,
      resource: mcp,
      state: 'st-pkce',
    };
    const cases: [Record<string, string>, string][] = [
      [{}, 'code_challenge is required — this server requires PKCE with code_challenge_method=S256'],
      [
        { code_challenge: challenge },
        'code_challenge_method is required and must be S256 (without it PKCE would fall back to plain)',
      ],
      [
        { code_challenge: verifier, code_challenge_method: 'plain' },
        'code_challenge_method plain is not allowed — use S256 (the SHA-256 of the code_verifier)',
      ],
    ];
    for (const [pkceParams, description] of cases) {
      const res = await fetch(authorizeUrl(gw.url, { ...base, ...pkceParams }), { redirect: 'manual' });
      assert.equal(res.status, 302, 'no sign-in page: the request goes back to the client');
      const location = new URL(res.headers.get('location') as string);
      assert.equal(location.origin + location.pathname, callback.url);
      assert.equal(location.searchParams.get('error'), 'invalid_request');
      assert.equal(location.searchParams.get('error_description'), description);
      assert.equal(location.searchParams.get('state'), 'st-pkce');
      assert.equal(location.searchParams.get('iss'), gw.url);
      assert.equal(location.searchParams.get('code'), null);
    }
    const metadata = (await (await fetch(`${gw.url}/.well-known/oauth-authorization-server`)).json()) as {
      code_challenge_methods_supported: string[];
    };
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
  });

  it('refuses a wrong or missing code_verifier, and the code is spent by the attempt', async () => {
    const { code, verifier } = await codeFor();
    const wrong = await redeem(code, pkce().verifier);
    assert.equal(wrong.res.status, 400);
    assertNoStore(wrong.res);
    assert.deepEqual(wrong.body, {
      error: 'invalid_grant',
      error_description: 'code_verifier does not match the code_challenge of the authorization request',
    });
    // The code was burnt first: guessing verifiers against one code gets one try.
    const right = await redeem(code, verifier);
    assert.equal(right.res.status, 400);
    assert.equal(right.body.error, 'invalid_grant');
    assert.equal(right.body.access_token, undefined);

    const second = await codeFor();
    const missing = await tokenRequest(gw.url, {
      grant_type: 'authorization_code',
      code: second.code,
      client_id: clientA,
    });
    assert.equal(missing.res.status, 400);
    assert.deepEqual(missing.body, {
      error: 'invalid_request',
      error_description: 'code_verifier is required — send the PKCE verifier of this code',
    });
  });

  it('refuses a replayed code and revokes the tokens its first use issued', async () => {
    const { code, verifier } = await codeFor();
    const first = await redeem(code, verifier);
    assert.equal(first.res.status, 200);
    assertNoStore(first.res);
    const { access_token: access, refresh_token: refresh } = first.body;
    assert.ok(access && refresh);
    assert.equal((await mcpWithToken(mcp, access)).status, 200, 'the token works before the replay');

    const replay = await redeem(code, verifier);
    assert.equal(replay.res.status, 400);
    assertNoStore(replay.res);
    assert.deepEqual(replay.body, {
      error: 'invalid_grant',
      error_description:
        'the authorization code has already been used — every token issued for it is revoked',
    });

    const call = await mcpWithToken(mcp, access);
    assert.equal(call.status, 401);
    assert.deepEqual(bearerError(call), {
      error: 'invalid_token',
      description: 'the access token has been revoked',
    });
    const refreshed = await tokenRequest(gw.url, {
      grant_type: 'refresh_token',
      refresh_token: refresh,
      client_id: clientA,
    });
    assert.equal(refreshed.res.status, 400);
    assert.deepEqual(refreshed.body, {
      error: 'invalid_grant',
      error_description: 'the grant of this refresh token has been revoked',
    });
    assert.ok(
      auditEvents(gw, 'oauth.refused').some((e) => e.endpoint === 'token' && e.grantRevoked === true),
      'the replay is audited with the revocation',
    );
  });

  it('refuses a code redeemed by another client, or with another redirect URI', async () => {
    const stolen = await codeFor();
    const other = await redeem(stolen.code, stolen.verifier, { client_id: clientB });
    assert.equal(other.res.status, 400);
    assert.deepEqual(other.body, {
      error: 'invalid_grant',
      error_description: 'the authorization code was issued to another client',
    });

    const moved = await codeFor();
    const elsewhere = await redeem(moved.code, moved.verifier, { redirect_uri: `${callback.url}/elsewhere` });
    assert.equal(elsewhere.res.status, 400);
    assert.deepEqual(elsewhere.body, {
      error: 'invalid_grant',
      error_description: 'redirect_uri differs from the one of the authorization request',
    });
  });

  it('refuses to register a plain-http redirect to another host, a fragment, or a browser scheme', async () => {
    const cases: [string, string][] = [
      [
        'http://attacker.example/cb',
        'is plain http:// to attacker.example — use https://, or http:// only to a loopback address (127.0.0.1, [::1] or localhost)',
      ],
      [
        'http://10.0.0.5:8080/cb',
        'is plain http:// to 10.0.0.5:8080 — use https://, or http:// only to a loopback address (127.0.0.1, [::1] or localhost)',
      ],
      [
        'https://app.example/cb#done',
        'has a #fragment — the authorization code is sent in the query, so remove it',
      ],
      [`${callback.url}#x`, 'has a #fragment — the authorization code is sent in the query, so remove it'],
      ['javascript:alert(1)', 'uses the javascript: scheme, which cannot receive a redirect'],
    ];
    for (const [uri, problem] of cases) {
      const { res, body } = await register(gw.url, { client_name: 'x', redirect_uris: [uri] });
      assert.equal(res.status, 400, uri);
      assertNoStore(res);
      assert.deepEqual(body, {
        error: 'invalid_redirect_uri',
        error_description: `redirect_uris.0 ${JSON.stringify(uri)} ${problem}`,
      });
    }
  });

  it('refuses oversized registration documents', async () => {
    const big = JSON.stringify({
      client_name: 'big',
      redirect_uris: [callback.url],
      padding: 'x'.repeat(9000),
    });
    // Declared too large (Content-Length), then streamed without a length (chunked): both cut at 8 KiB.
    const declared = await register(gw.url, big);
    const streamed = await fetch(`${gw.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    for (const [res, body] of [
      [declared.res, declared.body],
      [streamed, await streamed.json()],
    ] as const) {
      assert.equal(res.status, 400);
      assertNoStore(res);
      assert.deepEqual(body, {
        error: 'invalid_client_metadata',
        error_description: 'the registration is larger than 8192 bytes',
      });
    }
    // Under 8 KiB on the wire, but more than a signed client id may carry.
    const uris = Array.from({ length: 10 }, (_, i) => `https://app.example/${String(i).repeat(450)}`);
    const wide = await register(gw.url, { client_name: 'wide', redirect_uris: uris });
    assert.equal(wide.res.status, 400);
    assert.equal(wide.body.error, 'invalid_client_metadata');
    assert.match(
      String(wide.body.error_description),
      /^the registered metadata is \d+ bytes; at most 2048 are accepted — register fewer or shorter redirect URIs and names$/,
    );
    assert.equal(auditEvents(gw, 'oauth.client_registered').length, 2, 'only clients A and B registered');
  });

  it('shows an error page, never a redirect, for a redirect URI the client did not register', async () => {
    const { challenge } = pkce();
    const port = new URL(callback.url).port;
    for (const uri of [
      'https://attacker.example/cb',
      `http://127.0.0.1:${port}/elsewhere`,
      `http://127.0.0.1:${port}/callback/../elsewhere`,
      `http://attacker.example:${port}/callback`,
    ]) {
      const res = await fetch(
        authorizeUrl(gw.url, {
          response_type: 'code',
          client_id: clientA,
          redirect_uri: uri,
          code_challenge: challenge,
          code_challenge_method: 'S256',
          resource: mcp,
          state: 'x',
        }),
        { redirect: 'manual' },
      );
      const text = await assertErrorPage(res);
      assert.ok(text.includes('Error code: invalid_request'), text);
      assert.ok(!text.includes('Sign in'), 'no sign-in form');
    }
    const res = await fetch(
      authorizeUrl(gw.url, {
        response_type: 'code',
        client_id: clientA,
        redirect_uri: 'https://attacker.example/cb',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: mcp,
      }),
      { redirect: 'manual' },
    );
    const text = await assertErrorPage(res);
    assert.ok(
      text.includes(
        `Redirect_uri "https://attacker.example/cb" is not registered for this client — it must equal one of: "${callback.url}".`,
      ),
      text,
    );
  });

  it('refuses a tampered client id at /authorize (error page) and at /token (invalid_client)', async () => {
    const [prefixAndHeader, payload, signature] = clientA.split('.') as [string, string, string];
    // The registration inside the id, re-pointed at the attacker, under the original signature.
    const registration = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      m: { redirect_uris: string[] };
    };
    registration.m.redirect_uris = ['https://attacker.example/cb'];
    const repointed = `${prefixAndHeader}.${Buffer.from(JSON.stringify(registration)).toString('base64url')}.${signature}`;
    const flipped = `${clientA.slice(0, -2)}${clientA.endsWith('AA') ? 'BB' : 'AA'}`;
    const { challenge } = pkce();
    for (const [id, redirect] of [
      [repointed, 'https://attacker.example/cb'],
      [flipped, callback.url],
    ] as const) {
      const res = await fetch(
        authorizeUrl(gw.url, {
          response_type: 'code',
          client_id: id,
          redirect_uri: redirect,
          code_challenge: challenge,
          code_challenge_method: 'S256',
          resource: mcp,
        }),
        { redirect: 'manual' },
      );
      const text = await assertErrorPage(res);
      assert.ok(
        text.includes(
          'The client id does not verify — it was altered, or the signing secret was rotated since it was registered (register again).',
        ),
        text,
      );
      assert.ok(text.includes('Error code: invalid_client'), text);
    }
    const { code, verifier } = await codeFor();
    const token = await redeem(code, verifier, { client_id: flipped });
    assert.equal(token.res.status, 401);
    assertNoStore(token.res);
    assert.equal(token.body.error, 'invalid_client');
    assert.match(token.body.error_description ?? '', /^the client id does not verify/);
  });

  it('refuses a token presented to another resource, and a code redeemed for another resource', async () => {
    const { code, verifier } = await codeFor();
    const { access_token: access } = (await redeem(code, verifier)).body;
    assert.ok(access);
    assert.equal(decodeJwt(access).aud, mcp);
    const other = await mcpWithToken(`${gw.url}/servers/everything/mcp`, access);
    assert.equal(other.status, 401);
    assert.deepEqual(bearerError(other), {
      error: 'invalid_token',
      description: 'the access token was issued for another resource',
    });
    assert.equal((await mcpWithToken(mcp, access)).status, 200, 'its own resource accepts it');

    const elsewhere = await codeFor(clientA, `${gw.url}/servers/everything/mcp`);
    const swapped = await redeem(elsewhere.code, elsewhere.verifier, { resource: mcp });
    assert.equal(swapped.res.status, 400);
    assert.deepEqual(swapped.body, {
      error: 'invalid_target',
      error_description: `resource must be ${gw.url}/servers/everything/mcp, the resource the code was issued for`,
    });

    const foreign = await fetch(
      authorizeUrl(gw.url, {
        response_type: 'code',
        client_id: clientA,
        redirect_uri: callback.url,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        resource: 'https://attacker.example/mcp',
      }),
      { redirect: 'manual' },
    );
    assert.equal(foreign.status, 302);
    const location = new URL(foreign.headers.get('location') as string);
    assert.equal(location.origin + location.pathname, callback.url);
    assert.equal(location.searchParams.get('error'), 'invalid_target');
  });

  it('revokes the whole family when a rotated refresh token is used again', async () => {
    const { code, verifier } = await codeFor();
    const first = (await redeem(code, verifier)).body;
    assert.ok(first.refresh_token);
    const refresh = (token: string) =>
      tokenRequest(gw.url, { grant_type: 'refresh_token', refresh_token: token, client_id: clientA });
    const rotated = await refresh(first.refresh_token);
    assert.equal(rotated.res.status, 200);
    assertNoStore(rotated.res);
    const next = rotated.body;
    assert.ok(next.access_token && next.refresh_token && next.refresh_token !== first.refresh_token);
    assert.equal((await mcpWithToken(mcp, next.access_token)).status, 200);

    const reuse = await refresh(first.refresh_token);
    assert.equal(reuse.res.status, 400);
    assertNoStore(reuse.res);
    assert.deepEqual(reuse.body, {
      error: 'invalid_grant',
      error_description:
        'the refresh token has already been used — the grant is revoked; sign in again to get new tokens',
    });
    for (const token of [first.access_token as string, next.access_token]) {
      const call = await mcpWithToken(mcp, token);
      assert.equal(call.status, 401);
      assert.deepEqual(bearerError(call), {
        error: 'invalid_token',
        description: 'the access token has been revoked',
      });
    }
    const newest = await refresh(next.refresh_token);
    assert.equal(newest.res.status, 400);
    assert.deepEqual(newest.body, {
      error: 'invalid_grant',
      error_description: 'the grant of this refresh token has been revoked',
    });
    // Another client cannot use (or probe) the family's refresh token either.
    const foreign = await tokenRequest(gw.url, {
      grant_type: 'refresh_token',
      refresh_token: next.refresh_token,
      client_id: clientB,
    });
    assert.equal(foreign.body.error, 'invalid_grant');
  });

  it('refuses a consent form posted without the browser cookie, or with another browser token', async () => {
    const { challenge } = pkce();
    /** Signs in through `browser` and returns its consent form. */
    const consentForm = async (browser: FormBrowser) => {
      const login = await browser.get(
        authorizeUrl(gw.url, {
          response_type: 'code',
          client_id: clientB,
          redirect_uri: callback.url,
          code_challenge: challenge,
          code_challenge_method: 'S256',
          resource: `${gw.url}/servers/everything/mcp`,
          scope: 'tools:read',
        }),
      );
      assert.match(
        login.res.headers.get('set-cookie') ?? '',
        /^portcullis-csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
      );
      const fields = formFields(login.body);
      const answer = await browser.post('/oauth/login', {
        request_id: fields.requestId,
        csrf_token: fields.csrfToken,
        username: 'alice',
        password: PASSWORD,
      });
      assert.equal(answer.res.status, 200, 'the consent page');
      assert.match(answer.body, /Approve/);
      return formFields(answer.body);
    };
    const victim = new FormBrowser(gw.url);
    const attacker = new FormBrowser(gw.url);
    const victimForm = await consentForm(victim);
    const attackerForm = await consentForm(attacker);
    const consents = auditEvents(gw, 'oauth.consent').length;
    const stranger = new FormBrowser(gw.url);

    const attempts: [FormBrowser, Record<string, string>, string, string][] = [
      [
        stranger,
        { request_id: victimForm.requestId, csrf_token: victimForm.csrfToken },
        'csrf_cookie_missing',
        'This browser did not send the sign-in cookie',
      ],
      [
        victim,
        { request_id: attackerForm.requestId, csrf_token: attackerForm.csrfToken },
        'csrf_cookie_mismatch',
        'The form was issued to a different browser session',
      ],
      [
        victim,
        { request_id: victimForm.requestId, csrf_token: attackerForm.csrfToken },
        'csrf_token_forged',
        'The form’s security token is not one this server issued.',
      ],
      [
        victim,
        { request_id: victimForm.requestId },
        'csrf_token_missing',
        'The form arrived without its security token',
      ],
    ];
    for (const [browser, fields, code, message] of attempts) {
      const { res, body } = await browser.post('/oauth/consent', { ...fields, decision: 'approve' });
      assert.equal(res.status, 403, code);
      assert.equal(res.headers.get('location'), null, 'no code issued');
      const text = pageText(body);
      assert.ok(text.includes(message), text);
      assert.ok(text.includes(`Error code: ${code}`), text);
    }
    assert.equal(auditEvents(gw, 'oauth.consent').length, consents, 'nothing was approved');

    // The victim's own form, from the victim's browser, still works: nothing above consumed it.
    const approved = await victim.post('/oauth/consent', {
      request_id: victimForm.requestId,
      csrf_token: victimForm.csrfToken,
      decision: 'approve',
    });
    assert.equal(approved.res.status, 302);
    const location = new URL(approved.res.headers.get('location') as string);
    assert.equal(location.origin + location.pathname, callback.url);
    remember(location.searchParams.get('code') ?? undefined);
  });

  it('never follows next, return_to or redirect parameters: only the registered redirect URI is a Location', async () => {
    const evil = 'https://evil.example/steal';
    const lures = {
      next: evil,
      return_to: evil,
      returnTo: evil,
      redirect: evil,
      redirect_to: evil,
      continue: evil,
    };
    const lureQuery = new URLSearchParams(lures).toString();
    const { challenge } = pkce();
    const params = {
      response_type: 'code',
      client_id: clientB,
      redirect_uri: callback.url,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource: mcp,
      state: 'st-lure',
    };
    const assertNotEvil = (res: Response, body: string) => {
      const location = res.headers.get('location');
      if (location !== null) {
        const url = new URL(location);
        assert.equal(url.origin + url.pathname, callback.url, `Location ${location}`);
      }
      assert.ok(!body.includes('evil.example'), 'the page does not carry the lure');
    };
    // A bad request with lures: the error page, no redirect anywhere.
    const bad = await fetch(authorizeUrl(gw.url, { ...params, client_id: 'pcd_nope', ...lures }), {
      redirect: 'manual',
    });
    assertNotEvil(bad, await assertErrorPage(bad));
    // An error after the redirect URI is trusted goes to that URI, not to a lure.
    const { code_challenge: _, ...noPkce } = params;
    const early = await fetch(authorizeUrl(gw.url, { ...noPkce, ...lures }), { redirect: 'manual' });
    assert.equal(early.status, 302);
    assertNotEvil(early, await early.text());

    for (const round of ['consent', 'remembered'] as const) {
      const browser = new FormBrowser(gw.url);
      const login = await browser.get(authorizeUrl(gw.url, { ...params, ...lures }));
      assert.equal(login.res.status, 200);
      assertNotEvil(login.res, login.body);
      assert.match(login.body, /<form method="post" action="\/oauth\/login">/);
      const fields = formFields(login.body);
      const answer = await browser.post(`/oauth/login?${lureQuery}`, {
        request_id: fields.requestId,
        csrf_token: fields.csrfToken,
        username: 'alice',
        password: PASSWORD,
        ...lures,
      });
      assertNotEvil(answer.res, answer.body);
      let final = answer;
      if (round === 'consent') {
        assert.equal(answer.res.status, 200, 'the consent page');
        const consent = formFields(answer.body);
        final = await browser.post(`/oauth/consent?${lureQuery}`, {
          request_id: consent.requestId,
          csrf_token: consent.csrfToken,
          decision: 'approve',
          ...lures,
        });
      }
      assert.equal(final.res.status, 302, `${round}: back to the client`);
      assertNotEvil(final.res, final.body);
      const location = new URL(final.res.headers.get('location') as string);
      assert.equal(location.searchParams.get('state'), 'st-lure');
      remember(location.searchParams.get('code') ?? undefined);
    }
    // There is no GET sign-in page to bounce through.
    const get = await fetch(`${gw.url}/oauth/login?${lureQuery}`, { redirect: 'manual' });
    assert.equal(get.status, 404);
    assertNotEvil(get, await get.text());
  });

  it('refuses Client ID Metadata Document URLs on loopback, private or link-local addresses before connecting', async () => {
    // A listener on loopback that would see any connection the gateway made to it.
    const sockets: Socket[] = [];
    const listener: Server = createServer((socket) => {
      sockets.push(socket);
      socket.destroy();
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const port = (listener.address() as { port: number }).port;
    // Every node:http(s) request this process starts: the gateway runs here, and fetch does not use node:http.
    const started: string[] = [];
    const onRequest = (message: unknown) => {
      const { request } = message as { request: { host: string; path: string } };
      started.push(`${request.host}${request.path}`);
    };
    subscribe('http.client.request.start', onRequest);
    try {
      const cases: [string, string][] = [
        [
          `https://127.0.0.1:${port}/client.json`,
          'The client_id host 127.0.0.1 resolves to a loopback address (127.0.0.1)',
        ],
        [`https://[::1]:${port}/client.json`, 'The client_id host ::1 resolves to a loopback address (::1)'],
        ['https://10.0.0.1/x', 'The client_id host 10.0.0.1 resolves to a private address (10.0.0.1)'],
        ['https://192.168.1.20/client.json', 'resolves to a private address (192.168.1.20)'],
        [
          'https://169.254.169.254/latest/meta-data',
          'The client_id host 169.254.169.254 resolves to a linkLocal address (169.254.169.254)',
        ],
        [
          'https://[::ffff:10.0.0.1]/x',
          'The client_id host ::ffff:a00:1 resolves to a private address (::ffff:a00:1)',
        ],
        [
          `https://localhost:${port}/client.json`,
          'The client_id host localhost resolves to a loopback address',
        ],
      ];
      for (const [clientId, why] of cases) {
        const res = await fetch(
          authorizeUrl(gw.url, {
            response_type: 'code',
            client_id: clientId,
            redirect_uri: callback.url,
            code_challenge: pkce().challenge,
            code_challenge_method: 'S256',
            resource: mcp,
          }),
          { redirect: 'manual' },
        );
        const text = await assertErrorPage(res);
        assert.ok(text.includes(why), `${clientId}: ${text}`);
        assert.ok(text.includes('metadata documents must be served from a public address.'), text);
        assert.ok(text.includes('Error code: invalid_client'), text);
      }
      // The token endpoint resolves the client the same way.
      const token = await tokenRequest(gw.url, {
        grant_type: 'authorization_code',
        code: `pca_${'A'.repeat(43)}`,
        code_verifier: pkce().verifier,
        client_id: 'https://10.0.0.1/x',
      });
      assert.equal(token.res.status, 401);
      assert.equal(token.body.error, 'invalid_client');
      assert.deepEqual(started, [], 'no request was started toward any of them');
      assert.equal(sockets.length, 0, 'nothing connected to the loopback listener');
      // The control: a node:https request from this process is seen by both, so the two checks above see.
      const control = httpsRequest({ host: '127.0.0.1', port, path: '/control' });
      await new Promise((resolve) => control.on('error', resolve).end());
      assert.deepEqual(started, [`127.0.0.1/control`]);
      assert.equal(sockets.length, 1);
    } finally {
      unsubscribe('http.client.request.start', onRequest);
      listener.close();
    }
  });

  it('refuses forged access tokens at /mcp: alg none, HS256 under the public key, a foreign key, altered claims', async () => {
    const { code, verifier } = await codeFor();
    const real = (await redeem(code, verifier)).body.access_token as string;
    const header = decodeProtectedHeader(real);
    const claims = { ...decodeJwt(real), scope: '*', jti: 'forged' };
    assert.equal(header.alg, 'ES256');
    const { keys } = (await (await fetch(`${gw.url}/oauth/jwks.json`)).json()) as { keys: JWK[] };
    const published = keys.find((k) => k.kid === header.kid);
    assert.ok(published, 'the signing key is published');
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const hs256 = (secret: Uint8Array) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: header.kid }).sign(secret);
    const foreignKey = (await generateKeyPair('ES256')).privateKey;
    const [realHead, , realSignature] = real.split('.');
    const forged: [string, string, string][] = [
      [
        'alg none',
        `${b64({ alg: 'none', typ: 'at+jwt', kid: header.kid })}.${b64(claims)}.`,
        "the access token's signing algorithm is not accepted",
      ],
      [
        'HS256 keyed with the public JWK',
        await hs256(new TextEncoder().encode(JSON.stringify(published))),
        "the access token's signing algorithm is not accepted",
      ],
      [
        'HS256 keyed with the public key PEM',
        await hs256(
          new TextEncoder().encode(
            await exportSPKI((await importJWK(published, 'ES256')) as Parameters<typeof exportSPKI>[0]),
          ),
        ),
        "the access token's signing algorithm is not accepted",
      ],
      [
        'ES256 under a key of our own, with their kid',
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: header.kid })
          .sign(foreignKey),
        "the access token's signature does not verify",
      ],
      [
        'ES256 with an unknown kid',
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'es256-1' })
          .sign(foreignKey),
        'the access token was signed with a key this server no longer accepts',
      ],
      [
        'the real signature over raised scopes',
        `${realHead}.${b64(claims)}.${realSignature}`,
        "the access token's signature does not verify",
      ],
    ];
    for (const [what, token, description] of forged) {
      const res = await mcpWithToken(mcp, token);
      assert.equal(res.status, 401, what);
      assert.deepEqual(bearerError(res), { error: 'invalid_token', description }, what);
    }
    assert.equal((await mcpWithToken(mcp, real)).status, 200, 'the real token still works');
  });

  it('never writes a code, an access token or a refresh token to the log', () => {
    assert.ok(auditEvents(gw, 'oauth.token').length >= 5, 'tokens were issued');
    assertNoSecretsIn(gw);
  });
});

describe('OAuth attacks: password guessing on the sign-in page, HS256 forgeries', () => {
  let gw: TestGateway;
  let callback: CallbackServer;
  let mcp: string;
  let clientId: string;

  before(async () => {
    gw = await startTestGateway(
      await oauthGatewayYaml('{ registration: open }', 'failedAttempts: { perIp: 3, perUser: 100 }'),
    );
    mcp = `${gw.url}/mcp`;
    callback = await callbackServer();
    clientId = await registerPublicClient(gw.url, callback.url);
  });
  after(async () => {
    callback?.server.close();
    await gw?.close();
  });

  it('refuses an access token signed HS256 with a guessed secret, or with alg none', async () => {
    const { verifier, challenge } = pkce();
    const { code } = await obtainCode(gw.url, {
      clientId,
      redirectUri: callback.url,
      resource: mcp,
      challenge,
    });
    const answer = await tokenRequest(gw.url, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: clientId,
    });
    const real = answer.body.access_token as string;
    assert.equal(decodeProtectedHeader(real).alg, 'HS256');
    const claims = { ...decodeJwt(real), scope: '*' };
    const kid = decodeProtectedHeader(real).kid as string;
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const [token, description] of [
      [
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid })
          .sign(new TextEncoder().encode('a-guessed-secret-of-at-least-32-bytes!!')),
        "the access token's signature does not verify",
      ],
      [
        `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`,
        "the access token's signing algorithm is not accepted",
      ],
    ] as const) {
      const res = await mcpWithToken(mcp, token);
      assert.equal(res.status, 401);
      assert.deepEqual(bearerError(res), { error: 'invalid_token', description });
    }
    assert.equal((await mcpWithToken(mcp, real)).status, 200);
  });

  it('answers a wrong password with 401 and the form again, then 429 once auth.basic.failedAttempts is spent', async () => {
    const browser = new FormBrowser(gw.url);
    const login = await browser.get(
      authorizeUrl(gw.url, {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: callback.url,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        resource: mcp,
      }),
    );
    let fields = formFields(login.body);
    const attempt = (password: string) =>
      browser.post('/oauth/login', {
        request_id: fields.requestId,
        csrf_token: fields.csrfToken,
        username: 'alice',
        password,
      });
    for (let i = 1; i <= 3; i++) {
      const { res, body } = await attempt(`guess number ${i}`);
      assert.equal(res.status, 401, `attempt ${i}`);
      assert.equal(res.headers.get('location'), null);
      assert.ok(pageText(body).includes('The user name or password is not right.'), pageText(body));
      assert.match(body, /name="username" value="alice"/, 'the name typed is kept');
      fields = formFields(body);
    }
    // perIp is 3: the next attempt is refused before the password is even checked — the right one too.
    for (const password of ['guess number 4', PASSWORD]) {
      const { res, body } = await attempt(password);
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('location'), null, 'no code for a throttled sign-in');
      assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.ok(
        pageText(body).includes('Too many failed attempts. Wait a while and try again.'),
        pageText(body),
      );
      fields = formFields(body);
    }
    const failures = auditEvents(gw, 'auth.failure').filter((e) => e.endpoint === '/oauth/login');
    assert.deepEqual(
      failures.map((e) => [e.reason, e.status]),
      [
        ['invalid_credentials', 401],
        ['invalid_credentials', 401],
        ['invalid_credentials', 401],
        ['too_many_attempts', 429],
        ['too_many_attempts', 429],
      ],
    );
    assert.ok(!gw.logs.some((line) => line.includes('guess number')), 'no password is logged');
  });

  it('never writes a code, an access token or a refresh token to the log', () => {
    assertNoSecretsIn(gw);
  });
});
