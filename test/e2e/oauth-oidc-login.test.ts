/**
 * Sign-in delegated to an external OpenID provider (auth.oauth.login.oidc), against a real one
 * (panva's oidc-provider, test/helpers/oidc-provider.ts): the MCP SDK client's OAuth flow goes
 * through our sign-in page, "Sign in with …", the provider's login page in Chromium, back to our
 * consent page, and ends with a token carrying the scopes the config gives the provider's users.
 * Then the refusals: a tampered or replayed state, the provider saying no, a disallowed domain, a
 * name taken by a local user, and id_tokens that are not for this sign-in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { importJWK, type JWK, SignJWT } from 'jose';
import { verifyIdToken } from '../../src/oauth/upstream-id-token.js';
import { launchTestBrowser, type TestBrowser } from '../helpers/browser.js';
import { captureSecrets } from '../helpers/capture.js';
import { EVERYTHING, NODE, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import {
  authorizeInBrowser,
  authorizeUrl,
  type CallbackServer,
  callbackServer,
  FormBrowser,
  MemoryProvider,
  oauthGatewayYaml,
  pageText,
  pkce,
  registerPublicClient,
} from '../helpers/oauth-flow.js';
import { type OidcFixture, startOidcProvider } from '../helpers/oidc-provider.js';
import { freePort } from '../helpers/processes.js';

const CONFIDENTIAL = 'portcullis-gateway';
const PUBLIC = 'portcullis-public';
const IDP_SECRET = 'idp-client-secret-0123456789abcdefghijklmnop';
const ACCOUNTS = {
  carol: { preferred_username: 'carol', email: 'carol@example.com', email_verified: true },
  mallory: { preferred_username: 'mallory', email: 'mallory@evil.test', email_verified: true },
  // Named like the gateway's local user alice.
  alice: { preferred_username: 'alice', email: 'alice@example.com', email_verified: true },
  unverified: { preferred_username: 'unverified', email: 'eve@example.com', email_verified: false },
};

/** The `href` of the sign-in page's "Sign in with …" link, unescaped. */
function externalLink(html: string): string {
  const href = /<a class="button" href="([^"]*)"/.exec(html)?.[1];
  assert.ok(href, 'the page links to the identity provider');
  return href.replace(/&amp;/g, '&');
}

/** A header the answer must carry. */
function location(res: Response): URL {
  const value = res.headers.get('location');
  assert.ok(value, `a redirect (${res.status})`);
  return new URL(value, res.url);
}

interface IdpRun {
  /** The provider's redirect back to the gateway: /oauth/callback?code&state&iss (or error). */
  readonly callback: URL;
  /** The gateway-side browser that started it (holds the CSRF cookie). */
  readonly browser: FormBrowser;
  readonly redirectUri: string;
  readonly state: string;
}

/**
 * By raw HTTP: /authorize at the gateway, its "Sign in with …" link, then the provider's login
 * page as `login` (or its Cancel link with `cancel`); stops at the provider's redirect back.
 */
async function throughProvider(
  gatewayUrl: string,
  clientId: string,
  redirectUri: string,
  login: string,
  options: { cancel?: boolean } = {},
): Promise<IdpRun> {
  const browser = new FormBrowser(gatewayUrl);
  const state = `st-${Math.random().toString(36).slice(2)}`;
  const page = await browser.get(
    authorizeUrl(gatewayUrl, {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      resource: `${gatewayUrl}/mcp`,
      state,
    }),
  );
  assert.equal(page.res.status, 200, pageText(page.body));
  const start = await browser.get(`${gatewayUrl}${externalLink(page.body)}`);
  assert.equal(start.res.status, 302, pageText(start.body));
  const toIdp = location(start.res);
  assert.equal(toIdp.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(toIdp.searchParams.get('redirect_uri'), `${gatewayUrl}/oauth/callback`);
  assert.ok(toIdp.searchParams.get('nonce'));
  assert.equal(toIdp.searchParams.get('state')?.split('.').length, 5, 'state is a JWE');

  const idp = new FormBrowser(toIdp.origin);
  let answer = await idp.get(toIdp);
  // The provider's own redirects (to its interaction page, and back after the login form).
  for (let hops = 0; hops < 6; hops++) {
    if (answer.res.status === 200) {
      if (options.cancel) {
        const abort = /href="([^"]*\/abort)"/.exec(answer.body)?.[1];
        assert.ok(abort, 'the provider offers to cancel');
        answer = await idp.get(new URL(abort, toIdp));
      } else {
        const action = /<form[^>]*action="([^"]*)"/.exec(answer.body)?.[1];
        assert.ok(action, `the provider shows its login form: ${pageText(answer.body).slice(0, 200)}`);
        answer = await idp.post(new URL(action.replace(/&amp;/g, '&'), toIdp).pathname, {
          prompt: 'login',
          login,
          password: 'any password',
        });
      }
      continue;
    }
    const next = location(answer.res);
    if (next.origin !== toIdp.origin) return { callback: next, browser, redirectUri, state };
    answer = await idp.get(next);
  }
  assert.fail('the provider never sent the browser back');
}

describe('OAuth: sign-in with an external OpenID provider', () => {
  let op: OidcFixture;
  let gw: TestGateway;
  let strict: TestGateway;
  let browser: TestBrowser;
  let callback: CallbackServer;
  let mcp: string;

  before(async () => {
    const [port, strictPort] = [await freePort(), await freePort()];
    const gatewayUrl = `http://127.0.0.1:${port}`;
    const strictUrl = `http://127.0.0.1:${strictPort}`;
    captureSecrets(IDP_SECRET);
    op = await startOidcProvider({
      resource: `${gatewayUrl}/mcp`,
      interactive: {
        clients: [
          {
            clientId: CONFIDENTIAL,
            clientSecret: IDP_SECRET,
            redirectUris: [`${gatewayUrl}/oauth/callback`],
          },
          { clientId: PUBLIC, redirectUris: [`${strictUrl}/oauth/callback`] },
        ],
        accounts: ACCOUNTS,
      },
    });
    // Local users and the provider, a confidential client; its users get the viewer role.
    gw = await startTestGateway(
      await oauthGatewayYaml(
        `{ registration: open, login: { oidc: { issuer: "${op.issuer}", clientId: ${CONFIDENTIAL}, clientSecret: "\${env:IDP_SECRET}", name: Example SSO, roles: [viewer] } } }`,
        '',
        '',
        port,
      ),
      { IDP_SECRET },
    );
    // The provider only — no auth.basic at all (public client, PKCE alone), and only verified
    // example.com addresses.
    strict = await startTestGateway(
      [
        `listen: { host: 127.0.0.1, port: ${strictPort} }`,
        'auth:',
        `  oauth: { registration: open, login: { oidc: { issuer: "${op.issuer}", clientId: ${PUBLIC}, roles: [viewer], allowedDomains: [example.com] } } }`,
        'upstreams:',
        `  everything: { command: ${JSON.stringify(NODE)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }`,
      ].join('\n'),
    );
    mcp = `${gw.url}/mcp`;
    callback = await callbackServer();
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    callback?.server.close();
    await gw?.close();
    await strict?.close();
    await op?.close();
  });

  it('the SDK client signs in through the provider in Chromium, consents, and calls tools', async () => {
    const provider = new MemoryProvider(callback.url);
    await authorizeInBrowser(
      {
        issuer: gw.url,
        mcp,
        browser,
        callback,
        signIn: async (page) => {
          assert.ok(await page.getByLabel('Password').isVisible(), 'local sign-in is offered too');
          await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
          await page.waitForURL(`${op.issuer}/**`);
          await page.locator('input[name="login"]').fill('carol');
          await page.locator('input[name="password"]').fill('any password');
          await page.getByRole('button', { name: 'Sign-in' }).click();
          await page.waitForURL(`${gw.url}/oauth/callback?**`);
        },
      },
      provider,
      async (page) => {
        assert.match(await page.locator('body').innerText(), /carol/);
      },
    );
    const granted = (provider.saved?.scope ?? '').split(' ').sort();
    assert.deepEqual(granted, ['prompts:read', 'resources:read', 'tools:read'], 'the viewer role');

    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcp), { authProvider: provider }));
    const tools = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes('echo'), tools.join(','));
    await client.close();

    const events = gw.logs.map((l) => JSON.parse(l)).map((l) => l.audit);
    const signIn = events.find((e) => e?.type === 'auth.success' && e.endpoint === '/oauth/callback');
    assert.equal(signIn?.principal.id, 'oauth:carol');
    const call = events.find((e) => e?.type === 'auth.success' && e.endpoint === '/mcp');
    assert.equal(call?.principal.id, 'oauth:carol');
    assert.equal(events.find((e) => e?.type === 'oauth.consent')?.subject, 'carol');
  });

  it('a tampered state gets an error page, not a sign-in', async () => {
    const redirectUri = callback.url;
    const clientId = await registerPublicClient(gw.url, redirectUri);
    const run = await throughProvider(gw.url, clientId, redirectUri, 'carol');
    const state = run.callback.searchParams.get('state') as string;
    const parts = state.split('.');
    const ciphertext = parts[3] as string;
    parts[3] = `${ciphertext.slice(0, -2)}${ciphertext.endsWith('AA') ? 'BB' : 'AA'}`;
    const tampered = new URL(run.callback);
    tampered.searchParams.set('state', parts.join('.'));
    const answer = await run.browser.get(tampered);
    assert.equal(answer.res.status, 400);
    assert.match(pageText(answer.body), /expired or its answer was altered/);
    assert.equal(answer.res.headers.get('location'), null);
  });

  it('an answer naming another issuer, or none, is refused (RFC 9207 mix-up)', async () => {
    const clientId = await registerPublicClient(gw.url, callback.url);
    const run = await throughProvider(gw.url, clientId, callback.url, 'carol');
    assert.equal(run.callback.searchParams.get('iss'), op.issuer);
    for (const iss of ['https://evil.example', undefined]) {
      const mixed = new URL(run.callback);
      if (iss === undefined) mixed.searchParams.delete('iss');
      else mixed.searchParams.set('iss', iss);
      const answer = await run.browser.get(mixed);
      assert.equal(answer.res.status, 403, String(iss));
      assert.match(pageText(answer.body), /another identity provider/);
    }
  });

  it('the callback replayed in another browser is refused; the browser that started it goes on', async () => {
    const redirectUri = callback.url;
    const clientId = await registerPublicClient(gw.url, redirectUri);
    const run = await throughProvider(gw.url, clientId, redirectUri, 'carol');
    for (const other of [new FormBrowser(gw.url), await otherBrowserWithCookie(gw.url)]) {
      const answer = await other.get(run.callback);
      assert.equal(answer.res.status, 403, pageText(answer.body));
      assert.match(pageText(answer.body), /started in another browser/);
    }
    // The code was never spent on the refusals: the right browser still reaches the consent page.
    const mine = await run.browser.get(run.callback);
    assert.equal(mine.res.status, 200, pageText(mine.body));
    assert.match(pageText(mine.body), /Approve/);
  });

  it('the provider saying no reaches the client as access_denied, with state and iss', async () => {
    const redirectUri = callback.url;
    const clientId = await registerPublicClient(gw.url, redirectUri);
    const run = await throughProvider(gw.url, clientId, redirectUri, 'carol', { cancel: true });
    assert.equal(run.callback.searchParams.get('error'), 'access_denied');
    const answer = await run.browser.get(run.callback);
    assert.equal(answer.res.status, 302, pageText(answer.body));
    const back = location(answer.res);
    assert.equal(`${back.origin}${back.pathname}`, redirectUri);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), run.state);
    assert.equal(back.searchParams.get('iss'), gw.url);
    assert.equal(back.searchParams.get('code'), null);
  });

  it('an account named like a local user is refused rather than merged with it', async () => {
    const clientId = await registerPublicClient(gw.url, callback.url);
    const run = await throughProvider(gw.url, clientId, callback.url, 'alice');
    const answer = await run.browser.get(run.callback);
    assert.equal(answer.res.status, 403);
    assert.match(pageText(answer.body), /belongs to a local user/);
  });

  it('the sign-in link needs its CSRF token and the cookie it was issued to', async () => {
    const page = new FormBrowser(gw.url);
    const { challenge } = pkce();
    const clientId = await registerPublicClient(gw.url, callback.url);
    const login = await page.get(
      authorizeUrl(gw.url, {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: callback.url,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: mcp,
      }),
    );
    const link = new URL(externalLink(login.body), gw.url);
    const forged = new URL(link);
    forged.searchParams.set('csrf_token', 'A'.repeat(64));
    assert.equal((await page.get(forged)).res.status, 403);
    assert.equal((await new FormBrowser(gw.url).get(link)).res.status, 403, 'another browser');
    assert.equal((await page.get(link)).res.status, 302);
  });

  describe('provider only, allowedDomains, public client', () => {
    it('offers no password form and has no /oauth/login', async () => {
      const clientId = await registerPublicClient(strict.url, callback.url);
      const page = await new FormBrowser(strict.url).get(
        authorizeUrl(strict.url, {
          response_type: 'code',
          client_id: clientId,
          redirect_uri: callback.url,
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
          resource: `${strict.url}/mcp`,
        }),
      );
      assert.equal(page.res.status, 200);
      assert.doesNotMatch(page.body, /type="password"/);
      assert.match(pageText(page.body), /Sign in with single sign-on/);
      const post = await fetch(`${strict.url}/oauth/login`, { method: 'POST', body: '' });
      assert.ok([404, 405].includes(post.status), String(post.status));
    });

    it('signs in a verified example.com account (PKCE, no client secret)', async () => {
      const clientId = await registerPublicClient(strict.url, callback.url);
      const run = await throughProvider(strict.url, clientId, callback.url, 'carol');
      const answer = await run.browser.get(run.callback);
      assert.equal(answer.res.status, 200, pageText(answer.body));
      assert.match(pageText(answer.body), /carol/);
    });

    it('refuses another domain and an unverified address with an error page', async () => {
      const clientId = await registerPublicClient(strict.url, callback.url);
      for (const [login, why] of [
        ['mallory', /accounts of evil\.test may not sign in here/i],
        ['unverified', /has not verified this account’s email address/],
      ] as const) {
        const run = await throughProvider(strict.url, clientId, callback.url, login);
        const answer = await run.browser.get(run.callback);
        assert.equal(answer.res.status, 403, login);
        assert.match(pageText(answer.body), why);
        assert.equal(answer.res.headers.get('location'), null);
      }
      const refusals = strict.logs
        .map((l) => JSON.parse(l).audit)
        .filter((e) => e?.type === 'auth.failure' && e.endpoint === '/oauth/callback');
      assert.deepEqual(refusals.map((e) => e.username).sort(), ['mallory', 'unverified']);
    });
  });

  describe('id_token checks (tokens signed with the provider’s real key)', () => {
    const NONCE = 'the-nonce';
    let publicJwk: JWK;
    const sign = async (claims: Record<string, unknown>, alg: 'RS256' | 'HS256' = 'RS256') => {
      const jwk = op.signingKeys.RS256;
      const key = alg === 'RS256' ? await importJWK(jwk, 'RS256') : new TextEncoder().encode(IDP_SECRET);
      return new SignJWT({ iss: op.issuer, sub: 'carol', aud: CONFIDENTIAL, nonce: NONCE, ...claims })
        .setProtectedHeader({ alg, kid: jwk.kid })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
    };
    const verify = (token: string) =>
      verifyIdToken(token, { issuer: op.issuer, clientId: CONFIDENTIAL, nonce: NONCE, keys: publicJwk });

    before(() => {
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = op.signingKeys.RS256;
      publicJwk = pub;
    });

    it('accepts one made for this sign-in', async () => {
      assert.equal((await verify(await sign({}))).sub, 'carol');
    });

    it('refuses another audience, another azp, another nonce, another issuer, HS256', async () => {
      const cases: Array<[Promise<string>, RegExp]> = [
        [sign({ aud: 'someone-else' }), /another client \(aud\)/],
        [sign({ aud: [CONFIDENTIAL, 'someone-else'] }), /another client \(azp\)/],
        [sign({ azp: 'someone-else' }), /another client \(azp\)/],
        [sign({ nonce: 'another-nonce' }), /nonce/],
        [sign({ nonce: undefined }), /nonce/],
        [sign({ iss: 'https://evil.example' }), /another identity provider/],
        [sign({}, 'HS256'), /signing algorithm is not accepted/],
      ];
      for (const [token, why] of cases) {
        await assert.rejects(verify(await token), (err: Error) => why.test(err.message));
      }
    });
  });
});

/** A browser with a CSRF cookie of its own (it opened some sign-in page of the gateway). */
async function otherBrowserWithCookie(gatewayUrl: string): Promise<FormBrowser> {
  const other = new FormBrowser(gatewayUrl);
  const clientId = await registerPublicClient(gatewayUrl, 'http://127.0.0.1:1/callback');
  await other.get(
    authorizeUrl(gatewayUrl, {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'http://127.0.0.1:1/callback',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      resource: `${gatewayUrl}/mcp`,
    }),
  );
  assert.ok(other.cookie.includes('portcullis-csrf='), 'it holds a cookie');
  return other;
}
