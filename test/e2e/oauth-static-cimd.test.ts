/**
 * The two other registration modes of the gateway's authorization server, end to end with the MCP
 * SDK client's own OAuth flow and the pages in headless Chromium:
 * - static: a confidential client added with `portcullis clients add` signs in with its id and
 *   secret (client_secret_basic at the token endpoint); the consent page calls it verified; there is
 *   no registration endpoint; `clients revoke` ends it at the next token request;
 * - Client ID Metadata Documents: the client_id is an https URL to a JSON document, served here on
 *   127.0.0.1 with a throw-away certificate (the gateway refuses loopback, so the test passes the
 *   test-only hook of startGateway); the consent page names the host that published it, and a
 *   document that names another client_id, or lacks the presented redirect URI, is refused.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  Client,
  type FetchLike,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from '@modelcontextprotocol/client';
import { launchTestBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { credentialLeaks } from '../helpers/leaks.js';
import {
  authorizeInBrowser,
  type CallbackServer,
  callbackServer,
  MemoryProvider,
  oauthGatewayYaml,
  pageText,
  register,
  remember,
  seenSecrets,
  tokenRequest,
} from '../helpers/oauth-flow.js';
import { selfSignedCert } from '../helpers/tls.js';

const CLI = resolve('dist/cli/main.js');
const VIEWER_SCOPES = ['prompts:read', 'resources:read', 'tools:read'];

/** `portcullis <args>` from dist/ (npm run build), without blocking the gateway in this process. */
async function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
}

/** Lists the tools through the SDK with the provider's token. */
async function listTools(mcp: string, provider: MemoryProvider): Promise<string[]> {
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcp), { authProvider: provider }));
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

function auditEvents(gw: TestGateway, type: string): Record<string, unknown>[] {
  return gw.logs
    .map((line) => JSON.parse(line) as { audit?: Record<string, unknown> })
    .flatMap((entry) => (entry.audit?.type === type ? [entry.audit] : []));
}

function assertNoSecretsIn(gw: TestGateway): void {
  const lines = gw.logs.map((line) => ({ source: 'gateway', line }));
  assert.ok(lines.length > 10 && seenSecrets.length > 3);
  assert.deepEqual(credentialLeaks(lines, seenSecrets), []);
}

describe('OAuth with a pre-registered (static) confidential client, through the browser', () => {
  let dir: string;
  let configFile: string;
  let gw: TestGateway;
  let browser: TestBrowser;
  let callback: CallbackServer;
  let mcp: string;
  let clientId: string;
  let secret: string;
  let provider: MemoryProvider;
  const basic = () => `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-oauth-static-'));
    configFile = join(dir, 'portcullis.yaml');
    callback = await callbackServer();
    const yaml = await oauthGatewayYaml('{ registration: static }', '', 'store: { sqlite: ./portcullis.db }');
    writeFileSync(configFile, yaml);
    // The gateway and the CLI share the store named in the config, as in production.
    gw = await startTestGateway(yaml, {}, dir);
    mcp = `${gw.url}/mcp`;
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    callback?.server.close();
    await gw?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('clients add prints the client id and its secret once; the metadata offers no registration', async () => {
    const added = await cli(
      'clients',
      'add',
      '--name',
      'Acme Desktop',
      '--redirect-uris',
      callback.url,
      '--config',
      configFile,
    );
    const lines = added.stdout.split('\n');
    assert.equal(lines.length, 3, `client_id, secret and a final newline: ${JSON.stringify(added.stdout)}`);
    [clientId, secret] = lines as [string, string];
    remember(secret);
    assert.match(clientId, /^pcc_[0-9a-f]{24}$/);
    assert.match(secret, /^pcs_[A-Za-z0-9_-]{43}$/);
    assert.match(added.stderr, /Registered Acme Desktop \(confidential\)/);
    assert.ok(!added.stderr.includes(secret), 'the secret is printed on stdout only');
    assert.match(
      (await cli('clients', 'list', '--config', configFile)).stdout,
      new RegExp(`^${clientId}  Acme Desktop  confidential  ${callback.url}  active$`, 'm'),
    );

    const metadata = (await (
      await fetch(`${gw.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    assert.equal(metadata.registration_endpoint, undefined);
    assert.equal(metadata.client_id_metadata_document_supported, undefined, 'off by default with static');
    assert.deepEqual(metadata.token_endpoint_auth_methods_supported, [
      'none',
      'client_secret_basic',
      'client_secret_post',
    ]);
  });

  it('signs the SDK client in with its preset id and secret: verified on the consent page, client_secret_basic at /token', async () => {
    const tokenCalls: { authorization: string | null; body: string }[] = [];
    const recording: FetchLike = async (url, init) => {
      if (String(url) === `${gw.url}/oauth/token`) {
        tokenCalls.push({
          authorization: new Headers(init?.headers).get('authorization'),
          body: String(init?.body ?? ''),
        });
      }
      return fetch(url, init);
    };
    provider = new MemoryProvider(callback.url, { info: { client_id: clientId, client_secret: secret } });
    await authorizeInBrowser(
      { issuer: gw.url, mcp, browser, callback, fetch: recording },
      provider,
      async (page) => {
        assert.equal(await page.locator('#client-kind').innerText(), 'Verified application');
        assert.match(await page.locator('h1').innerText(), /^Acme Desktop wants to access your account$/);
        assert.equal(await page.locator('#unverified-warning').count(), 0);
        assert.ok(await page.locator('#loopback-warning').isVisible(), 'its only redirect URI is loopback');
      },
    );
    assert.equal(provider.authorizationUrl?.searchParams.get('client_id'), clientId);
    assert.equal(tokenCalls.length, 1, 'one token request');
    const [call] = tokenCalls as [(typeof tokenCalls)[number]];
    assert.equal(call.authorization, basic(), 'client_secret_basic');
    const body = new URLSearchParams(call.body);
    assert.equal(body.get('grant_type'), 'authorization_code');
    assert.equal(body.get('client_secret'), null, 'the secret is not also in the body');
    assert.deepEqual((provider.saved?.scope ?? '').split(' ').sort(), VIEWER_SCOPES);
    assert.ok(provider.saved?.refresh_token);

    assert.ok((await listTools(mcp, provider)).includes('echo'));
    const consent = auditEvents(gw, 'oauth.consent').at(-1);
    assert.equal(consent?.clientId, clientId);
    assert.equal(consent?.clientKind, 'static');
  });

  it('has no registration endpoint, and accepts no metadata document URL, in static mode', async () => {
    const { res, body } = await register(gw.url, {
      client_name: 'Intruder',
      redirect_uris: [callback.url],
      token_endpoint_auth_method: 'none',
    });
    assert.equal(res.status, 404);
    assert.deepEqual(body, {
      error: 'invalid_request',
      error_description:
        'dynamic client registration is off on this server (auth.oauth.registration: static) — ask its operator for a client id',
    });
    const page = await fetch(
      `${gw.url}/oauth/authorize?response_type=code&client_id=${encodeURIComponent('https://app.example/client.json')}&redirect_uri=${encodeURIComponent(callback.url)}`,
      { redirect: 'manual' },
    );
    assert.equal(page.status, 400);
    assert.equal(page.headers.get('location'), null);
    assert.ok(
      pageText(await page.text()).includes(
        'This server does not accept client metadata documents (URL client ids) — use a registered client.',
      ),
    );
  });

  it('refuses a wrong secret, and the secret sent another way than registered', async () => {
    const refresh = provider.saved?.refresh_token as string;
    const fields = { grant_type: 'refresh_token', refresh_token: refresh };
    const wrong = await tokenRequest(gw.url, fields, {
      authorization: `Basic ${Buffer.from(`${clientId}:pcs_${'x'.repeat(43)}`).toString('base64')}`,
    });
    assert.equal(wrong.res.status, 401);
    assert.equal(
      wrong.res.headers.get('www-authenticate'),
      'Basic realm="portcullis-oauth", charset="UTF-8"',
    );
    assert.deepEqual(wrong.body, {
      error: 'invalid_client',
      error_description: 'client authentication failed — the client secret is wrong',
    });
    const post = await tokenRequest(gw.url, { ...fields, client_id: clientId, client_secret: secret });
    assert.equal(post.res.status, 401);
    assert.deepEqual(post.body, {
      error: 'invalid_client',
      error_description:
        'this client authenticates with client_secret_basic, but the request used client_secret_post',
    });
    const none = await tokenRequest(gw.url, { ...fields, client_id: clientId });
    assert.equal(none.res.status, 401);
    assert.deepEqual(none.body, {
      error: 'invalid_client',
      error_description: 'this client authenticates with client_secret_basic, but the request used none',
    });
  });

  it('clients revoke ends the client: its live access token and its next token request are refused', async () => {
    const fields = { grant_type: 'refresh_token', refresh_token: provider.saved?.refresh_token as string };
    const rotated = await tokenRequest(gw.url, fields, { authorization: basic() });
    assert.equal(rotated.res.status, 200, 'the refused attempts above left the refresh token usable');
    const next = rotated.body.refresh_token as string;
    const access = rotated.body.access_token as string;
    const listTools = () =>
      fetch(`${gw.url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${access}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    assert.equal((await listTools()).status, 400, 'authenticated (then session_required) before the revoke');

    const revoked = await cli('clients', 'revoke', clientId, '--config', configFile);
    assert.equal(revoked.stdout, `revoked ${clientId}\n`);
    assert.match(
      (await cli('clients', 'list', '--config', configFile)).stdout,
      new RegExp(`^${clientId} .* revoked$`, 'm'),
    );

    const live = await listTools();
    assert.equal(live.status, 401);
    assert.match(
      live.headers.get('www-authenticate') ?? '',
      /error="invalid_token", error_description="the client has been revoked"/,
    );
    const refused = await tokenRequest(
      gw.url,
      { ...fields, refresh_token: next },
      { authorization: basic() },
    );
    assert.equal(refused.res.status, 401);
    assert.deepEqual(refused.body, {
      error: 'invalid_client',
      error_description: 'the client has been revoked',
    });
    const page = await fetch(
      `${gw.url}/oauth/authorize?response_type=code&client_id=${clientId}&redirect_uri=${encodeURIComponent(callback.url)}`,
      { redirect: 'manual' },
    );
    assert.equal(page.status, 400);
    assert.equal(page.headers.get('location'), null);
    assert.ok(pageText(await page.text()).includes('The client has been revoked.'));
  });

  it('consents revoke withdraws a consent: its live token stops working and the next sign-in asks again', async () => {
    const added = await cli(
      'clients',
      'add',
      '--name',
      'Second App',
      '--public',
      '--redirect-uris',
      callback.url,
      '--config',
      configFile,
    );
    const [second] = added.stdout.split('\n') as [string];
    const app = new MemoryProvider(callback.url, { info: { client_id: second } });
    await authorizeInBrowser({ issuer: gw.url, mcp, browser, callback }, app, async (page) => {
      assert.match(await page.locator('h1').innerText(), /^Second App wants/);
    });
    assert.ok((await listTools(mcp, app)).includes('echo'));
    const listed = await cli('consents', 'list', '--user', 'alice', '--config', configFile);
    const row = new RegExp(
      `^(cns_[0-9a-f]{12})  alice  Second App +${second}  prompts:read,resources:read,tools:read +\\d{4}-`,
      'm',
    );
    assert.match(listed.stdout, row);
    const consent = row.exec(listed.stdout)?.[1] as string;

    const revoked = await cli('consents', 'revoke', consent, '--config', configFile);
    assert.equal(revoked.stdout, 'revoked the consent of alice; 1 grant(s) revoked\n');
    const refused = await fetch(mcp, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${app.saved?.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(refused.status, 401);
    assert.ok(!(await cli('consents', 'list', '--config', configFile)).stdout.includes(second));
    await assert.rejects(
      cli('consents', 'revoke', '--user', 'alice', '--client', second, '--config', configFile),
      (err: { code?: number; stderr?: string }) =>
        err.code === 1 && /no consent or live grant of alice to that client/.test(err.stderr ?? ''),
    );

    // The next sign-in shows the consent page again (a remembered consent would skip it).
    app.saved = undefined;
    let asked = false;
    await authorizeInBrowser({ issuer: gw.url, mcp, browser, callback }, app, async () => {
      asked = true;
    });
    assert.ok(asked, 'the consent page was shown');
    const events = await cli(
      'audit',
      'query',
      '--type',
      'admin.consent_revoked',
      '--json',
      '--config',
      configFile,
    );
    assert.match(events.stdout, new RegExp(`"clientId":"${second}"`));
  });

  it('never writes the client secret or a token to the log', () => {
    assertNoSecretsIn(gw);
  });
});

describe('OAuth with Client ID Metadata Documents, through the browser', () => {
  let dir: string;
  let documents: Server;
  let origin: string;
  let gw: TestGateway;
  let browser: TestBrowser;
  let callback: CallbackServer;
  let mcp: string;
  const served = new Map<string, object>();
  const fetched: IncomingMessage[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-oauth-cimd-'));
    // A throw-away certificate, trusted only by this gateway (the test hook's ca).
    selfSignedCert(dir);
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    documents = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
      fetched.push(req);
      const document = served.get(req.url ?? '');
      if (!document) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    });
    await new Promise<void>((ok) => documents.listen(0, '127.0.0.1', ok));
    origin = `https://127.0.0.1:${(documents.address() as AddressInfo).port}`;
    callback = await callbackServer();
    const client = (path: string, extra: object = {}) => ({
      client_id: `${origin}${path}`,
      client_name: 'Notes for MCP',
      client_uri: 'https://notes.example/',
      redirect_uris: [callback.url],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...extra,
    });
    served.set('/oauth/client.json', client('/oauth/client.json'));
    served.set(
      '/oauth/impostor.json',
      client('/oauth/impostor.json', { client_id: `${origin}/oauth/client.json` }),
    );
    served.set(
      '/oauth/elsewhere.json',
      client('/oauth/elsewhere.json', { redirect_uris: ['https://notes.example/oauth/callback'] }),
    );
    gw = await startTestGateway(
      await oauthGatewayYaml('{ registration: off, clientMetadataDocuments: true }'),
      {},
      process.cwd(),
      { clientMetadataDocuments: { allowLoopbackForTests: true, ca: cert } },
    );
    mcp = `${gw.url}/mcp`;
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    callback?.server.close();
    documents?.close();
    await gw?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const fetchesOf = (path: string) => fetched.filter((req) => req.url === path);

  it('signs the SDK client in with its document URL as client_id; the consent page names the host', async () => {
    const metadata = (await (
      await fetch(`${gw.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    assert.equal(metadata.client_id_metadata_document_supported, true);
    assert.equal(metadata.registration_endpoint, undefined, 'no dynamic registration to fall back on');

    const url = `${origin}/oauth/client.json`;
    const provider = new MemoryProvider(callback.url, { clientMetadataUrl: url });
    const host = new URL(origin).host;
    await authorizeInBrowser({ issuer: gw.url, mcp, browser, callback }, provider, async (page) => {
      assert.equal(await page.locator('#client-kind').innerText(), `Published by ${host}`);
      assert.equal(
        await page.locator('h1').innerText(),
        `Notes for MCP name given by ${host} wants to access your account`,
      );
      assert.ok((await page.locator('main').innerText()).includes(`its name is whatever ${host} says`));
      assert.ok(await page.locator('#loopback-warning').isVisible(), 'its only redirect URI is loopback');
      assert.equal(await page.locator('#unverified-warning').count(), 0);
    });
    assert.equal(provider.info?.client_id, url, 'the SDK used the URL as its client_id');
    assert.equal(provider.authorizationUrl?.searchParams.get('client_id'), url);
    assert.deepEqual((provider.saved?.scope ?? '').split(' ').sort(), VIEWER_SCOPES);
    assert.ok((await listTools(mcp, provider)).includes('echo'));

    // Fetched by the gateway once (the token request used the cached copy), as a plain GET.
    const requests = fetchesOf('/oauth/client.json');
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.headers['user-agent'], 'Portcullis (client metadata document fetch)');
    assert.equal(requests[0]?.headers.authorization, undefined);
    const consent = auditEvents(gw, 'oauth.consent').at(-1);
    assert.equal(consent?.clientId, url);
    assert.equal(consent?.clientKind, 'metadata-document');
  });

  /** The SDK's flow for a document, up to the page the browser is sent to; that page's text. */
  async function refusedPage(path: string, code: string): Promise<string> {
    const url = `${origin}${path}`;
    const provider = new MemoryProvider(callback.url, { clientMetadataUrl: url });
    const transport = new StreamableHTTPClientTransport(new URL(mcp), { authProvider: provider });
    await assert.rejects(new Client({ name: 'e2e', version: '1.0.0' }).connect(transport), UnauthorizedError);
    const authorization = provider.authorizationUrl as URL;
    assert.equal(authorization.searchParams.get('client_id'), url);
    const hits = callback.hits.length;
    const { page, cspViolations } = await browser.newPage();
    try {
      const response = await page.goto(authorization.href);
      assert.equal(response?.status(), 400);
      assert.equal(new URL(page.url()).pathname, '/oauth/authorize', 'the browser stayed on our page');
      assert.equal(await page.locator('h1').innerText(), 'This sign-in link is not valid');
      assert.equal(await page.locator('form').count(), 0, 'no sign-in form');
      assert.deepEqual(await cspViolations(), []);
      const text = await page.locator('main').innerText();
      assert.ok(text.includes(`Error code: ${code}`), text);
      assert.equal(callback.hits.length, hits, 'nothing went to the redirect URI');
      assert.equal(fetchesOf(path).length, 1, 'the document was fetched');
      return text.replace(/\s+/g, ' ');
    } finally {
      await page.context().close();
    }
  }

  it('refuses a document whose client_id is not its own URL', async () => {
    const text = await refusedPage('/oauth/impostor.json', 'invalid_client');
    assert.ok(
      text.includes(
        `The client metadata document's client_id ("${origin}/oauth/client.json") does not equal its URL ${origin}/oauth/impostor.json.`,
      ),
      text,
    );
  });

  it('refuses a redirect URI the document does not list', async () => {
    const text = await refusedPage('/oauth/elsewhere.json', 'invalid_request');
    assert.ok(
      text.includes(
        `Redirect_uri "${callback.url}" is not registered for this client — it must equal one of: "https://notes.example/oauth/callback".`,
      ),
      text,
    );
  });

  it('never writes a token to the log', () => {
    assertNoSecretsIn(gw);
  });
});
