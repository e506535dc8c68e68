/**
 * The sign-in and consent pages as a person sees them (issue 14): the demo's own config
 * (portcullis.yaml, on a free port) and a client that registers itself and asks for every scope
 * the gateway advertises, as mcp-remote does, in headless Chromium on a 1280×800 laptop screen.
 * Each page is saved as a PNG (in $PORTCULLIS_SCREENSHOTS, default <tmp>/portcullis-screenshots)
 * for a person to look at; the tests assert what must hold in them: the self-declared name is
 * marked in the sign-in heading, the consent page folds the scopes a wider one covers (naming
 * every one), groups them by meaning, warns about the destructive ones, and keeps Approve and Deny
 * on screen without scrolling — and a phone-sized screen keeps them in view too.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { hashPassword } from '../../src/auth/passwords.js';
import { launchTestBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import {
  authorizeUrl,
  type CallbackServer,
  callbackServer,
  PASSWORD,
  pkce,
  register,
  remember,
} from '../helpers/oauth-flow.js';

const SCREENSHOTS = process.env.PORTCULLIS_SCREENSHOTS ?? join(tmpdir(), 'portcullis-screenshots');
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 700 };
const CLIENT_NAME = 'mcp-remote';

/** The demo config as shipped, on a free port, with a `viewer` user beside the bootstrap admin. */
async function demoYaml(): Promise<string> {
  const config = parse(readFileSync('portcullis.yaml', 'utf8'));
  config.listen.port = 0;
  config.auth.basic.users = { viewer: { passwordHash: await hashPassword(PASSWORD), roles: ['viewer'] } };
  remember(PASSWORD);
  return stringify(config);
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(path: string): { width: number; height: number } {
  const png = readFileSync(path);
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', `${path} is a PNG`);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function assertInViewport(page: Page, locator: Locator, what: string): Promise<void> {
  const box = await locator.boundingBox();
  const viewport = page.viewportSize();
  assert.ok(box && viewport, `${what} is rendered`);
  const inside =
    box.x >= 0 && box.y >= 0 && box.x + box.width <= viewport.width && box.y + box.height <= viewport.height;
  assert.ok(inside, `${what} at ${JSON.stringify(box)} is within ${viewport.width}×${viewport.height}`);
}

describe('the sign-in and consent pages on screen (demo config, headless Chromium)', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let callback: CallbackServer;
  let scopes: string[];

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    gw = await startTestGateway(await demoYaml());
    callback = await callbackServer();
    browser = await launchTestBrowser();
    const metadata = (await (await fetch(`${gw.url}/.well-known/oauth-authorization-server`)).json()) as {
      scopes_supported: string[];
    };
    scopes = metadata.scopes_supported;
  });
  after(async () => {
    await browser?.close();
    callback?.server.close();
    await gw?.close();
  });

  /**
   * The sign-in page of an authorization request for every advertised scope, from a client that
   * has just registered (so no consent of an earlier test is remembered for it).
   */
  async function openSignIn(viewport: { width: number; height: number }): Promise<Page> {
    const { res, body } = await register(gw.url, {
      client_name: CLIENT_NAME,
      redirect_uris: [callback.url],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    });
    assert.equal(res.status, 201, JSON.stringify(body));
    const { page } = await browser.newPage({ viewport });
    const url = authorizeUrl(gw.url, {
      response_type: 'code',
      client_id: body.client_id as string,
      redirect_uri: callback.url,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      resource: `${gw.url}/mcp`,
      scope: scopes.join(' '),
    });
    await page.goto(url.href);
    return page;
  }

  async function signIn(page: Page, username: string, password: string): Promise<void> {
    await page.getByLabel('User name').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Deny' }).waitFor();
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    const path = join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path });
    assert.deepEqual(pngSize(path), page.viewportSize(), `${path} is the screen as seen`);
  }

  const grantedCodes = (page: Page) => page.locator('.scope-group code').allTextContents();

  it("the demo advertises the eight scopes of the issue's consent page", () => {
    assert.deepEqual(scopes, [
      'tools:read',
      'tools:write',
      'tools:destructive',
      'resources:read',
      'prompts:read',
      'everything:read',
      'everything:write',
      'everything:destructive',
    ]);
  });

  it('the sign-in heading marks the name the client gave itself', async () => {
    const page = await openSignIn(LAPTOP);
    assert.equal(
      await page.locator('h1').innerText(),
      `Sign in to continue to ${CLIENT_NAME} self-declared name`,
    );
    assert.equal(await page.locator('h1 #name-mark').innerText(), 'self-declared name');
    await assertInViewport(page, page.locator('#name-mark'), 'the mark');
    await assertInViewport(page, page.getByRole('button', { name: 'Sign in' }), 'Sign in');
    await screenshot(page, 'sign-in');
  });

  it('the admin consent: folded, grouped, the destructive warning and both buttons on one screen', async () => {
    const page = await openSignIn(LAPTOP);
    assert.ok(gw.bootstrapPassword, 'the demo created the admin password');
    await signIn(page, 'admin', gw.bootstrapPassword);
    await screenshot(page, 'consent-admin');

    assert.equal(
      await page.locator('h1').innerText(),
      `${CLIENT_NAME} self-declared name wants to access your account`,
    );
    // Five lines, not eight: each everything:… scope folds into the tools:… one that covers it.
    assert.deepEqual(await page.locator('.scope-group h3').allInnerTexts(), [
      'DELETE OR OVERWRITE DATA',
      'CHANGE DATA',
      'READ DATA',
    ]);
    assert.deepEqual(await page.locator('.scope-group li > code').allTextContents(), [
      'tools:destructive',
      'tools:write',
      'tools:read',
      'resources:read',
      'prompts:read',
    ]);
    assert.deepEqual(await page.locator('.scope-group .covers').allInnerTexts(), [
      'includes everything:destructive',
      'includes everything:write',
      'includes everything:read',
    ]);
    assert.deepEqual((await grantedCodes(page)).sort(), [...scopes].sort(), 'every granted scope is named');
    assert.equal(await page.locator('#dropped-scopes').count(), 0);

    await assertInViewport(page, page.locator('#destructive-warning'), 'the destructive warning');
    await assertInViewport(page, page.getByRole('button', { name: 'Approve' }), 'Approve');
    await assertInViewport(page, page.getByRole('button', { name: 'Deny' }), 'Deny');
    assert.ok(
      await page.evaluate<boolean>('document.documentElement.scrollHeight <= innerHeight'),
      'the whole page fits: every permission is seen with the buttons',
    );

    await Promise.all([
      page.waitForURL(/\/callback\?code=/),
      page.getByRole('button', { name: 'Approve' }).click(),
    ]);
    remember(new URL(page.url()).searchParams.get('code') ?? undefined);
  });

  it('the viewer consent: the read scopes granted, the rest listed as not granted, buttons on screen', async () => {
    const page = await openSignIn(LAPTOP);
    await signIn(page, 'viewer', PASSWORD);
    await screenshot(page, 'consent-viewer');

    assert.deepEqual(await page.locator('.scope-group h3').allInnerTexts(), ['READ DATA']);
    assert.deepEqual(await grantedCodes(page), ['tools:read', 'resources:read', 'prompts:read']);
    assert.equal(await page.locator('#destructive-warning').count(), 0, 'nothing destructive is granted');
    assert.deepEqual(await page.locator('#dropped-scopes code').allTextContents(), [
      'tools:write',
      'tools:destructive',
      'everything:read',
      'everything:write',
      'everything:destructive',
    ]);
    await assertInViewport(page, page.getByRole('button', { name: 'Approve' }), 'Approve');
    await assertInViewport(page, page.getByRole('button', { name: 'Deny' }), 'Deny');
    assert.ok(await page.evaluate<boolean>('document.documentElement.scrollHeight <= innerHeight'));
  });

  it('on a phone-sized screen the page scrolls, and the buttons stay in view', async () => {
    const page = await openSignIn(PHONE);
    assert.ok(gw.bootstrapPassword);
    await signIn(page, 'admin', gw.bootstrapPassword);
    await screenshot(page, 'consent-admin-phone');
    assert.ok(
      await page.evaluate<boolean>('document.documentElement.scrollHeight > innerHeight'),
      'the control: this page is taller than the screen',
    );
    await assertInViewport(page, page.getByRole('button', { name: 'Approve' }), 'Approve');
    await assertInViewport(page, page.getByRole('button', { name: 'Deny' }), 'Deny');
  });
});
