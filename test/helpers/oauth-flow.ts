/**
 * The client side of the gateway's OAuth flow, for the end-to-end tests: what a desktop MCP client
 * keeps (MemoryProvider), its loopback redirect target (callbackServer), the SDK's flow with the
 * sign-in and consent pages driven in headless Chromium (authorizeInBrowser), and the same pages
 * driven by raw HTTP — cookie, CSRF token and request id read from the HTML — for the attack tests
 * (FormBrowser, obtainCode), plus the token endpoint and /mcp as a client calls them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Client,
  type FetchLike,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from '@modelcontextprotocol/client';
import type { Page } from 'playwright-core';
import { hashPassword } from '../../src/auth/passwords.js';
import { s256Challenge } from '../../src/oauth/pkce.js';
import type { TestBrowser } from './browser.js';
import { captureSecrets } from './capture.js';
import { EVERYTHING, NODE } from './gateway.js';

/**
 * Every code, token and secret the helpers saw in this process, for a test to check that none of
 * them reached the gateway's log (they also go to the suite-wide capture).
 */
export const seenSecrets: string[] = [];

/** Records credentials: in seenSecrets, and for the suite-wide leak check. */
export function remember(...values: (string | undefined)[]): void {
  for (const value of values) if (value !== undefined && value !== '') seenSecrets.push(value);
  captureSecrets(...values);
}

/** alice's password in every OAuth test gateway (oauthGatewayYaml). */
export const PASSWORD = 'correct horse battery staple';

/**
 * A gateway config with the `everything` upstream, the Basic user alice (role viewer, password
 * PASSWORD) and `auth.oauth: <oauth>`; `basic` adds to auth.basic (e.g. failedAttempts), `rest`
 * adds top-level sections (e.g. store).
 */
export async function oauthGatewayYaml(oauth: string, basic = '', rest = '', port = 0): Promise<string> {
  remember(PASSWORD);
  const hash = await hashPassword(PASSWORD);
  return [
    `listen: { host: 127.0.0.1, port: ${port} }`,
    'auth:',
    `  basic: { users: { alice: { passwordHash: "${hash}", roles: [viewer] } }${basic ? `, ${basic}` : ''} }`,
    `  oauth: ${oauth}`,
    'upstreams:',
    `  everything: { command: ${JSON.stringify(NODE)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }`,
    rest,
  ].join('\n');
}

type Tokens = Awaited<ReturnType<OAuthClientProvider['tokens']>>;
type ClientInfo = Awaited<ReturnType<OAuthClientProvider['clientInformation']>>;

/** What a desktop MCP client keeps: its registration, its tokens, the PKCE verifier of the flow. */
export class MemoryProvider implements OAuthClientProvider {
  info: ClientInfo;
  saved: Tokens;
  verifier = '';
  discovery: OAuthDiscoveryState | undefined;
  authorizationUrl: URL | undefined;
  readonly clientMetadataUrl: string | undefined;
  /**
   * @param redirect the loopback callback URL
   * @param options.info a registration made beforehand (a static client's id and secret)
   * @param options.clientMetadataUrl the client's metadata document URL, used as its client_id
   *   when the server advertises client_id_metadata_document_supported
   */
  constructor(
    readonly redirect: string,
    options: { info?: NonNullable<ClientInfo>; clientMetadataUrl?: string } = {},
  ) {
    this.info = options.info;
    this.clientMetadataUrl = options.clientMetadataUrl;
  }
  get redirectUrl() {
    return this.redirect;
  }
  get clientMetadata() {
    return {
      client_name: 'Portcullis e2e client',
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: NonNullable<ClientInfo>) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: NonNullable<Tokens>) {
    this.saved = tokens;
    remember(tokens.access_token, tokens.refresh_token);
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  /** Kept with the verifier so the SDK can check the code came from the server it went to. */
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}

export interface CallbackServer {
  /** http://127.0.0.1:<port>/callback */
  readonly url: string;
  /** Every request to /callback, in order (a browser's /favicon.ico is not one). */
  readonly hits: URL[];
  readonly server: Server;
}

/** The client's loopback redirect target: records what the authorization server sent back. */
export async function callbackServer(): Promise<CallbackServer> {
  const hits: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // Chromium asks for /favicon.ico after landing on the callback, at a time of its choosing.
    if (url.pathname !== '/callback') return void res.writeHead(404).end();
    hits.push(url);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('You can close this window.');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`, hits, server };
}

export interface BrowserFlow {
  /** The gateway's base URL: the issuer, and where /oauth/authorize lives. */
  readonly issuer: string;
  /** The MCP endpoint the SDK connects to (the RFC 8707 resource). */
  readonly mcp: string;
  readonly browser: TestBrowser;
  readonly callback: CallbackServer;
  /** Given to the SDK's transport (e.g. to record the token request). */
  readonly fetch?: FetchLike;
  /** Signs in on the gateway's sign-in page; by default as alice with her password. */
  readonly signIn?: (page: Page) => Promise<void>;
  /** Where the browser opens the authorization URL (a fleet test sends it to one instance). */
  readonly visit?: (url: URL) => URL;
}

/**
 * Runs the SDK's own OAuth flow up to the browser, signs in (as alice, or with `flow.signIn`) in
 * Chromium, and finishes it.
 * With `consent`, the consent page is expected: `consent` checks it, then Approve is clicked; without
 * it, the sign-in must lead straight back to the client (a remembered consent). Asserts the
 * authorization request (S256, resource) and response (code, iss, state) and that the pages had no
 * CSP violation.
 */
export async function authorizeInBrowser(
  flow: BrowserFlow,
  provider: MemoryProvider,
  consent?: (page: Page) => Promise<void>,
): Promise<void> {
  const transport = new StreamableHTTPClientTransport(new URL(flow.mcp), {
    authProvider: provider,
    ...(flow.fetch ? { fetch: flow.fetch } : {}),
  });
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await assert.rejects(client.connect(transport), UnauthorizedError);
  const url = provider.authorizationUrl;
  assert.ok(url, 'the SDK was sent to the authorization endpoint');
  assert.equal(url.origin + url.pathname, `${flow.issuer}/oauth/authorize`);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('resource'), flow.mcp);

  const { page, cspViolations } = await flow.browser.newPage();
  const { callback } = flow;
  const before = callback.hits.length;
  await page.goto((flow.visit?.(url) ?? url).href);
  if (flow.signIn) await flow.signIn(page);
  else {
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  if (consent) {
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    await consent(page);
    await page.getByRole('button', { name: 'Approve' }).click();
  }
  await page.waitForURL(/\/callback\?/);
  assert.deepEqual(await cspViolations(), []);
  await page.context().close();

  const hit = callback.hits.at(-1);
  assert.equal(callback.hits.length, before + 1, `one hit: ${callback.hits.slice(before).join(' ')}`);
  assert.ok(hit, 'the browser reached the callback');
  assert.ok(hit.searchParams.get('code'), `a code came back: ${hit.href}`);
  assert.equal(hit.searchParams.get('iss'), flow.issuer, 'RFC 9207 iss');
  assert.equal(hit.searchParams.get('state'), url.searchParams.get('state'));
  await transport.finishAuth(hit.searchParams);
}

// ---- the same flow by raw HTTP ----

/** A PKCE pair (RFC 7636): a fresh 43-character verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: s256Challenge(verifier) };
}

/** `${issuer}/oauth/authorize` with these query parameters, in order. */
export function authorizeUrl(issuer: string, params: Record<string, string>): URL {
  const url = new URL(`${issuer}/oauth/authorize`);
  for (const [name, value] of Object.entries(params)) url.searchParams.append(name, value);
  return url;
}

/** An HTML page's text, tags dropped and the escapes the pages use undone, whitespace collapsed. */
export function pageText(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The hidden fields of a login or consent form. */
export function formFields(html: string): { requestId: string; csrfToken: string } {
  const field = (name: string) => {
    const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
    assert.ok(match?.[1], `the page has a ${name} field`);
    return match[1];
  };
  return { requestId: field('request_id'), csrfToken: field('csrf_token') };
}

/** A browser made of fetch: keeps its cookies, never follows a redirect. */
export class FormBrowser {
  private readonly cookies = new Map<string, string>();

  constructor(readonly issuer: string) {}

  /** The Cookie header this browser sends. */
  get cookie(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Forgets every cookie (a private window). */
  clearCookies(): void {
    this.cookies.clear();
  }

  async get(url: string | URL): Promise<{ res: Response; body: string }> {
    return this.keep(await fetch(url, { redirect: 'manual', headers: this.headers() }));
  }

  /** Posts a form to `path` on the gateway (the path may carry a query). */
  async post(path: string, fields: Record<string, string>): Promise<{ res: Response; body: string }> {
    const res = await fetch(`${this.issuer}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    return this.keep(res);
  }

  private headers(): Record<string, string> {
    return this.cookies.size > 0 ? { cookie: this.cookie } : {};
  }

  private async keep(res: Response): Promise<{ res: Response; body: string }> {
    for (const header of res.headers.getSetCookie()) {
      const [pair = ''] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return { res, body: await res.text() };
  }
}

export interface CodeRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly resource: string;
  readonly challenge: string;
  readonly state?: string;
  readonly scope?: string;
}

/**
 * Signs in as alice through the pages by raw HTTP and approves (when asked): the redirect back to
 * the client, as a URL. `browser` keeps the CSRF cookie (a fresh one by default).
 */
export async function obtainCode(
  issuer: string,
  request: CodeRequest,
  browser = new FormBrowser(issuer),
): Promise<{ code: string; location: URL }> {
  const login = await browser.get(
    authorizeUrl(issuer, {
      response_type: 'code',
      client_id: request.clientId,
      redirect_uri: request.redirectUri,
      code_challenge: request.challenge,
      code_challenge_method: 'S256',
      resource: request.resource,
      ...(request.state !== undefined ? { state: request.state } : {}),
      ...(request.scope !== undefined ? { scope: request.scope } : {}),
    }),
  );
  assert.equal(login.res.status, 200, pageText(login.body));
  const loginForm = formFields(login.body);
  let answer = await browser.post('/oauth/login', {
    request_id: loginForm.requestId,
    csrf_token: loginForm.csrfToken,
    username: 'alice',
    password: PASSWORD,
  });
  if (answer.res.status === 200) {
    const consentForm = formFields(answer.body);
    answer = await browser.post('/oauth/consent', {
      request_id: consentForm.requestId,
      csrf_token: consentForm.csrfToken,
      decision: 'approve',
    });
  }
  assert.equal(answer.res.status, 302, pageText(answer.body));
  const location = new URL(answer.res.headers.get('location') as string);
  const code = location.searchParams.get('code');
  assert.ok(code, `a code came back: ${location.href}`);
  remember(code);
  return { code, location };
}

/** POST /oauth/register with a JSON body; the answer and its parsed body. */
export async function register(
  issuer: string,
  metadata: unknown,
): Promise<{ res: Response; body: Record<string, unknown> }> {
  const res = await fetch(`${issuer}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof metadata === 'string' ? metadata : JSON.stringify(metadata),
  });
  const text = await res.text();
  const body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  if (typeof body.client_secret === 'string') remember(body.client_secret);
  return { res, body };
}

/** Registers a public client (none, PKCE) with this redirect URI; its client_id. */
export async function registerPublicClient(issuer: string, redirectUri: string): Promise<string> {
  const { res, body } = await register(issuer, {
    client_name: 'Attack test client',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
  });
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.client_id as string;
}

export interface TokenAnswer {
  readonly res: Response;
  readonly body: {
    access_token?: string;
    refresh_token?: string;
    scope?: string;
    error?: string;
    error_description?: string;
  };
}

/** POST /oauth/token with a form body (and `headers`, e.g. client_secret_basic); every token seen is captured. */
export async function tokenRequest(
  issuer: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<TokenAnswer> {
  const res = await fetch(`${issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  });
  const body = (await res.json()) as TokenAnswer['body'];
  remember(body.access_token, body.refresh_token);
  return { res, body };
}

/** An MCP initialize request to `url` with this bearer token: 200 when the token is accepted. */
export async function mcpWithToken(url: string, token: string): Promise<Response> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'oauth-e2e', version: '1.0.0' },
      },
    }),
  });
  await res.arrayBuffer();
  return res;
}

/** The RFC 6750 error_description of a Bearer challenge. */
export function bearerError(res: Response): { error?: string; description?: string } {
  const header = res.headers.get('www-authenticate') ?? '';
  const error = /Bearer error="([^"]*)"/.exec(header)?.[1];
  const description = /error_description="([^"]*)"/.exec(header)?.[1];
  return { ...(error ? { error } : {}), ...(description ? { description } : {}) };
}
