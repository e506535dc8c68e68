/**
 * The login, consent and error pages in a real browser (headless Chromium): served by a tiny
 * node:http server with the exact headers the gateway sends, and a stand-in for the /authorize
 * flow (pending requests, the CSRF cookie and tokens). Checks what only a browser can tell: the
 * forms submit with their cookie and token, the CSP blocks nothing the pages need (and does block
 * what they must not do), the pages cannot be framed, hostile names stay text, and the 303 to the
 * client's redirect URI after consent gets past `form-action`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Csrf, CsrfError, LOOPBACK_COOKIE_NAME, SECURE_COOKIE_NAME } from '../../src/oauth/csrf.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { type ConsentClient, renderConsentPage } from '../../src/oauth/pages/consent-page.js';
import { renderAuthorizeErrorPage, renderCsrfErrorPage } from '../../src/oauth/pages/error-page.js';
import { FIELDS } from '../../src/oauth/pages/fields.js';
import { PAGE_CSP, PAGE_HEADERS, pageHeaders } from '../../src/oauth/pages/headers.js';
import { renderLoginPage } from '../../src/oauth/pages/login-page.js';
import { STYLESHEET, STYLESHEET_HEADERS, STYLESHEET_PATH } from '../../src/oauth/pages/stylesheet.js';
import type { ScopeGrant } from '../../src/oauth/scopes.js';
import { launchTestBrowser, type TestBrowser, type TestPage } from '../helpers/browser.js';

const HOSTILE_NAME = `<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">`;
const GRANT: ScopeGrant = {
  granted: ['tools:read', 'resources:read'],
  dropped: ['tools:destructive', 'files:write'],
};

interface Pending {
  readonly client: ConsentClient;
  /** Whether the consent page lets its form end at the redirect URI (pageHeaders' redirectUris). */
  readonly allowRedirect: boolean;
}

interface Submitted {
  readonly form: 'login' | 'consent';
  readonly fields: Record<string, string>;
  readonly cookie: string | undefined;
  readonly csrf: string;
}

async function listen(server: Server, host: string): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 10_000) throw new Error('form too large');
  }
  return Object.fromEntries(new URLSearchParams(body));
}

function send(
  res: ServerResponse,
  status: number,
  headers: ReadonlyArray<readonly [string, string]>,
  body: string,
) {
  for (const [name, value] of headers) res.setHeader(name, value);
  res.writeHead(status).end(body);
}

describe('OAuth pages in headless Chromium', () => {
  let browser: TestBrowser;
  let origin: string;
  let callbackOrigin: string;
  let attackerOrigin: string;
  let csrf: Csrf;
  /** A Csrf configured as under https, to see whether Chromium keeps its cookie on loopback. */
  let httpsCsrf: Csrf;
  const pending = new Map<string, Pending>();
  const submitted: Submitted[] = [];
  const callbacks: string[] = [];
  const servers: Server[] = [];

  const clients: Record<string, ConsentClient> = {
    acme: { clientId: 'pcd_acme', kind: 'dynamic', clientName: 'Acme Notes', redirectUris: [] },
    hostile: { clientId: 'pcd_evil', kind: 'dynamic', clientName: HOSTILE_NAME, redirectUris: [] },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const redirectUri = `${callbackOrigin}/callback`;
    if (req.method === 'GET' && url.pathname === STYLESHEET_PATH)
      return send(res, 200, STYLESHEET_HEADERS, STYLESHEET);
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const client = clients[url.searchParams.get('client') ?? 'acme'];
      if (!client) {
        const error = new OAuthError('invalid_client', 'the client id is not known');
        return send(res, 400, PAGE_HEADERS, renderAuthorizeErrorPage(error));
      }
      const requestId = randomUUID();
      pending.set(requestId, {
        client: { ...client, redirectUris: [redirectUri] },
        allowRedirect: url.searchParams.get('redirect') !== 'blocked',
      });
      const c = url.searchParams.get('cookie') === 'https' ? httpsCsrf : csrf;
      const binding = c.binding(req.headers.cookie);
      if (binding.setCookie) res.setHeader('set-cookie', binding.setCookie);
      const page = renderLoginPage({
        action: `/login${c === httpsCsrf ? '?cookie=https' : ''}`,
        requestId,
        csrfToken: c.token('login', requestId, binding.value),
        client,
      });
      return send(res, 200, PAGE_HEADERS, page);
    }
    if (req.method === 'POST' && (url.pathname === '/login' || url.pathname === '/consent')) {
      const form = url.pathname === '/login' ? 'login' : 'consent';
      const c = url.searchParams.get('cookie') === 'https' ? httpsCsrf : csrf;
      const fields = await readForm(req);
      const requestId = fields[FIELDS.requestId] ?? '';
      const request = pending.get(requestId);
      if (!request) return send(res, 400, PAGE_HEADERS, 'unknown request');
      let refusal: CsrfError | undefined;
      try {
        c.verify(form, requestId, req.headers.cookie, fields[FIELDS.csrfToken]);
      } catch (err) {
        if (!(err instanceof CsrfError)) throw err;
        refusal = err;
      }
      submitted.push({ form, fields, cookie: req.headers.cookie, csrf: refusal?.code ?? 'ok' });
      if (refusal) return send(res, 403, PAGE_HEADERS, renderCsrfErrorPage(refusal));
      if (form === 'login') {
        if (fields[FIELDS.username] !== 'alice' || fields[FIELDS.password] !== 'correct horse') {
          return send(res, 200, PAGE_HEADERS, 'wrong password');
        }
        res
          .writeHead(303, { location: `/consent?${FIELDS.requestId}=${encodeURIComponent(requestId)}` })
          .end();
        return;
      }
      const target = new URL(request.client.redirectUris[0] as string);
      target.searchParams.set(fields[FIELDS.decision] === 'approve' ? 'code' : 'error', 'x');
      res.writeHead(303, { location: target.href }).end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/consent') {
      const requestId = url.searchParams.get(FIELDS.requestId) ?? '';
      const request = pending.get(requestId);
      if (!request) return send(res, 400, PAGE_HEADERS, 'unknown request');
      const redirectUri = request.client.redirectUris[0] as string;
      const page = renderConsentPage({
        action: '/consent',
        requestId,
        csrfToken: csrf.token('consent', requestId, csrf.binding(req.headers.cookie).value),
        client: request.client,
        redirectUri,
        resource: `${origin}/mcp`,
        grant: GRANT,
        userName: 'alice',
      });
      const headers = request.allowRedirect ? pageHeaders({ redirectUris: [redirectUri] }) : PAGE_HEADERS;
      return send(res, 200, headers, page);
    }
    if (req.method === 'GET' && url.pathname === '/inline-style') {
      // A control: what the CSP must refuse, to prove the violation listener hears it.
      return send(res, 200, PAGE_HEADERS, '<!doctype html><p style="color: red">inline</p>');
    }
    if (req.method === 'GET' && url.pathname === '/frameable') {
      return send(res, 200, [['content-type', 'text/html; charset=utf-8']], '<!doctype html><h1>framed</h1>');
    }
    send(res, 404, [['content-type', 'text/plain']], 'not found');
  }

  before(async () => {
    const pages = createServer((req, res) => {
      handle(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
    const callback = createServer((req, res) => {
      if (req.url?.startsWith('/callback')) callbacks.push(req.url);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('back at the client');
    });
    // Another origin (localhost, another port) that tries to frame the pages.
    const attacker = createServer((req, res) => {
      const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><iframe id="victim" src="${src.replace(/[^\w:/.?=&-]/g, '')}"></iframe>`);
    });
    servers.push(pages, callback, attacker);
    origin = await listen(pages, '127.0.0.1');
    callbackOrigin = await listen(callback, '127.0.0.1');
    attackerOrigin = await listen(attacker, 'localhost');
    const key = new Uint8Array(32).fill(9);
    csrf = new Csrf({ key, publicUrl: origin });
    httpsCsrf = new Csrf({ key, publicUrl: 'https://mcp.example.com' });
    browser = await launchTestBrowser();
  });

  after(async () => {
    await browser?.close();
    for (const server of servers) server.close();
  });

  /**
   * Fails on any console error, page error, CSP violation or request that left loopback; `status`
   * is the page's own error status, which Chromium also logs as a console error.
   */
  async function assertClean(tab: TestPage, status?: number): Promise<void> {
    assert.deepEqual(await tab.cspViolations(), []);
    const expected = `error: Failed to load resource: the server responded with a status of ${status} `;
    assert.deepEqual(
      tab.console.filter(
        (m) => (m.startsWith('error') || /Content Security Policy/i.test(m)) && !m.startsWith(expected),
      ),
      [],
    );
    assert.deepEqual(tab.errors, []);
    assert.deepEqual(tab.blocked, []);
  }

  async function signIn(tab: TestPage, query = ''): Promise<void> {
    const { page } = tab;
    await page.goto(`${origin}/authorize${query}`);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('correct horse');
    await Promise.all([
      page.waitForURL(/\/consent\?/),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
  }

  it('the login form submits its CSRF token and cookie, and the server accepts them', async () => {
    const tab = await browser.newPage();
    const { page } = tab;
    const response = await page.goto(`${origin}/authorize`);
    assert.equal(response?.headers()['content-security-policy'], PAGE_CSP);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.getByLabel('User name').getAttribute('autocomplete'), 'username');
    assert.equal(await page.getByLabel('Password').getAttribute('autocomplete'), 'current-password');
    // The stylesheet loaded under the CSP and matched its integrity hash.
    assert.equal(
      await page.evaluate<string>("getComputedStyle(document.querySelector('main')).maxWidth"),
      '544px',
    );
    const [cookie] = await tab.context.cookies();
    assert.equal(cookie?.name, LOOPBACK_COOKIE_NAME);
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Lax');

    const before = submitted.length;
    await signIn(tab);
    const login = submitted[before];
    assert.equal(login?.form, 'login');
    assert.equal(login?.csrf, 'ok');
    assert.ok(login?.cookie?.includes(`${LOOPBACK_COOKIE_NAME}=${cookie?.value}`));
    assert.match(login?.fields[FIELDS.csrfToken] ?? '', /^[A-Za-z0-9_-]{64}$/);
    await assertClean(tab);
  });

  it('the consent page shows the client, the unverified and loopback warnings, and the dropped scopes', async () => {
    const tab = await browser.newPage();
    const { page } = tab;
    await signIn(tab);
    assert.equal(
      await page.locator('h1').textContent(),
      'Acme Notes self-declared name wants to access your account',
    );
    assert.equal(await page.locator('#client-kind').textContent(), 'Unverified application');
    assert.match((await page.locator('#unverified-warning').textContent()) ?? '', /registered itself/);
    assert.match(
      (await page.locator('#loopback-warning').textContent()) ?? '',
      /only receives answers on this computer/,
    );
    assert.deepEqual(await page.locator('ul.granted code').allTextContents(), GRANT.granted);
    assert.deepEqual(await page.locator('#dropped-scopes code').allTextContents(), GRANT.dropped);
    assert.ok(await page.getByRole('region', { name: 'It asked for, but will not get' }).isVisible());
    await assertClean(tab);

    // Approve: the 303 to the client's redirect URI passes the page's form-action.
    const before = submitted.length;
    await Promise.all([
      page.waitForURL(`${callbackOrigin}/callback?code=x`),
      page.getByRole('button', { name: 'Approve' }).click(),
    ]);
    assert.equal(submitted[before]?.csrf, 'ok');
    assert.equal(submitted[before]?.fields[FIELDS.decision], 'approve');
    assert.ok(callbacks.includes('/callback?code=x'));
  });

  it('without the redirect origin in form-action, Chromium blocks the 303 to the client', async () => {
    const tab = await browser.newPage();
    const { page } = tab;
    await signIn(tab, '?redirect=blocked');
    const seen = callbacks.length;
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForTimeout(500);
    assert.equal(callbacks.length, seen, 'the callback was reached');
    assert.ok(
      tab.console.some((m) =>
        m.includes(`violates the following Content Security Policy directive: "form-action 'self'"`),
      ),
    );
  });

  it('a form posted without the cookie is refused with csrf_cookie_missing', async () => {
    const tab = await browser.newPage();
    const { page } = tab;
    await page.goto(`${origin}/authorize`);
    await tab.context.clearCookies();
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('correct horse');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${origin}/login`),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    assert.equal(response.status(), 403);
    assert.equal(await page.locator('h1').textContent(), 'This form could not be accepted');
    assert.equal(await page.locator('code').textContent(), 'csrf_cookie_missing');
    await assertClean(tab, 403);
  });

  it('the error page for an unknown client renders cleanly and leads nowhere', async () => {
    const tab = await browser.newPage();
    const { page } = tab;
    const response = await page.goto(`${origin}/authorize?client=unknown`);
    assert.equal(response?.status(), 400);
    assert.equal(await page.locator('h1').textContent(), 'This sign-in link is not valid');
    assert.equal(await page.locator('a, form').count(), 0);
    await assertClean(tab, 400);
  });

  it('the violation listener does hear what the CSP refuses (control)', async () => {
    const tab = await browser.newPage();
    await tab.page.goto(`${origin}/inline-style`);
    const violations = await tab.cspViolations();
    assert.equal(violations[0]?.directive, 'style-src-attr');
    assert.ok(tab.console.some((m) => /Content Security Policy/.test(m)));
  });

  it('another origin cannot frame the pages', async () => {
    const tab = await browser.newPage();
    const { page } = tab;
    // Control: a page without frame-ancestors does load in the attacker's frame.
    await page.goto(`${attackerOrigin}/?src=${encodeURIComponent(`${origin}/frameable`)}`);
    await page.waitForLoadState('load');
    const control = page.frames().find((f) => f !== page.mainFrame());
    assert.equal(await control?.locator('h1').textContent(), 'framed');

    await page.goto(`${attackerOrigin}/?src=${encodeURIComponent(`${origin}/authorize`)}`);
    await page.waitForLoadState('load');
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame);
    assert.doesNotMatch(frame.url(), /\/authorize/, 'the frame shows an error page, not ours');
    assert.equal(await frame.locator('form').count(), 0);
    assert.ok(
      tab.console.some((m) =>
        m.includes(
          `Framing '${origin}/' violates the following Content Security Policy directive: "frame-ancestors 'none'"`,
        ),
      ),
      tab.console.join('\n'),
    );
  });

  it('hostile client names render as text, in the login and the consent page', async () => {
    const tab = await browser.newPage();
    const { page } = tab;
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    await page.goto(`${origin}/authorize?client=hostile`);
    assert.equal(
      await page.locator('h1').textContent(),
      `Sign in to continue to ${HOSTILE_NAME} self-declared name`,
    );
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill('correct horse');
    await Promise.all([
      page.waitForURL(/\/consent\?/),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    assert.equal(
      await page.locator('h1').textContent(),
      `${HOSTILE_NAME} self-declared name wants to access your account`,
    );
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('script').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
    assert.equal(dialogs, 0);
    await assertClean(tab);
  });

  it('Chromium also keeps the https posture’s __Host- Secure cookie on loopback (not every browser does)', async () => {
    const tab = await browser.newPage();
    await tab.page.goto(`${origin}/authorize?cookie=https`);
    const [cookie] = await tab.context.cookies();
    assert.equal(cookie?.name, SECURE_COOKIE_NAME);
    assert.equal(cookie?.secure, true);
    const before = submitted.length;
    await tab.page.getByLabel('User name').fill('alice');
    await tab.page.getByLabel('Password').fill('correct horse');
    await Promise.all([
      tab.page.waitForURL(/\/consent\?/),
      tab.page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    assert.equal(submitted[before]?.csrf, 'ok');
  });
});
