/**
 * The gateway as its own OAuth 2.1 authorization server, end to end: the MCP SDK client's own OAuth
 * flow (its OAuthClientProvider) discovers the gateway from a 401, registers itself (open dynamic
 * registration), sends the person to the sign-in and consent pages — driven in headless Chromium —
 * and comes back with a token whose scopes are what the user may grant; a remembered consent skips
 * the page; refresh tokens rotate. The attacks an authorization server must refuse are in
 * oauth-attacks.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { launchTestBrowser, type TestBrowser } from '../helpers/browser.js';
import { captureSecrets } from '../helpers/capture.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import {
  authorizeInBrowser,
  type CallbackServer,
  callbackServer,
  MemoryProvider,
  oauthGatewayYaml,
} from '../helpers/oauth-flow.js';

describe('OAuth: the SDK client signs in through the browser (open registration)', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let callback: CallbackServer;
  let mcp: string;

  before(async () => {
    gw = await startTestGateway(await oauthGatewayYaml('{ registration: open }'));
    mcp = `${gw.url}/mcp`;
    callback = await callbackServer();
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    callback?.server.close();
    await gw?.close();
  });

  /** Runs the SDK's flow through the browser; the consent page must show an unverified, loopback-only client. */
  const authorize = (provider: MemoryProvider, expectConsent: boolean) =>
    authorizeInBrowser(
      { issuer: gw.url, mcp, browser, callback },
      provider,
      expectConsent
        ? async (page) => {
            assert.match(await page.locator('#client-kind').innerText(), /Unverified application/);
            assert.ok(await page.locator('#loopback-warning').isVisible(), 'every redirect URI is loopback');
          }
        : undefined,
    );

  it('registers, signs in, consents, and calls tools with only what the user may grant', async () => {
    const provider = new MemoryProvider(callback.url);
    await authorize(provider, true);
    assert.ok(provider.info?.client_id.startsWith('pcd_'), 'a self-contained signed client id');
    const granted = (provider.saved?.scope ?? '').split(' ').sort();
    assert.deepEqual(granted, ['prompts:read', 'resources:read', 'tools:read'], 'the viewer role, no more');

    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcp), { authProvider: provider }));
    const tools = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes('echo'), tools.join(','));
    const echoed = await client.callTool({ name: 'echo', arguments: { message: 'through OAuth' } });
    assert.match(JSON.stringify(echoed.content), /through OAuth/);
    await client.close();

    const consent = gw.logs.map((l) => JSON.parse(l)).find((l) => l.audit?.type === 'oauth.consent');
    assert.equal(consent?.audit.subject, 'alice');
    const success = gw.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.audit?.type === 'auth.success' && l.audit.method === 'oauth');
    assert.equal(success?.audit.principal.id, 'oauth:alice');
  });

  it('skips the consent page once the user approved this client for these scopes', async () => {
    const provider = new MemoryProvider(callback.url);
    await authorize(provider, true);
    const firstToken = provider.saved?.access_token;
    provider.saved = undefined;
    await authorize(provider, false);
    const second = provider.tokens();
    assert.ok(
      second?.access_token && second.access_token !== firstToken,
      'a new token, with no consent page',
    );
  });

  it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
    const provider = new MemoryProvider(callback.url);
    await authorize(provider, true);
    const first = provider.saved;
    assert.ok(first?.refresh_token);
    const refresh = (token: string) =>
      fetch(`${gw.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: token,
          client_id: provider.info?.client_id as string,
        }),
      });
    const rotated = await refresh(first.refresh_token);
    assert.equal(rotated.status, 200);
    assert.equal(rotated.headers.get('cache-control'), 'no-store');
    const next = (await rotated.json()) as { access_token: string; refresh_token: string };
    captureSecrets(next.access_token, next.refresh_token);
    assert.notEqual(next.refresh_token, first.refresh_token);

    const reuse = await refresh(first.refresh_token);
    assert.equal(reuse.status, 400);
    assert.equal(((await reuse.json()) as { error: string }).error, 'invalid_grant');
    // The family is gone: the newest access token and refresh token are refused too.
    const call = await fetch(mcp, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${next.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(call.status, 401);
    assert.match(call.headers.get('www-authenticate') ?? '', /invalid_token/);
    assert.equal((await refresh(next.refresh_token)).status, 400);
  });
});
