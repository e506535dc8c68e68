/**
 * Headless Chromium for the end-to-end tests of the login and consent pages: Debian's `chromium`
 * package driven by playwright-core (no browser download), kept to loopback, with every console
 * message, page error and CSP violation recorded so a test can assert there were none.
 *
 * @example
 * let browser: TestBrowser;
 * before(async () => { browser = await launchTestBrowser(); });
 * after(() => browser.close());
 * it('…', async () => { const { page } = await browser.newPage(); await page.goto(url); });
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { isLoopbackHost } from '../../src/net/loopback.js';

/** Debian's package (installed by scripts/provision-tests.sh); its version is what the tests ran against. */
export const CHROMIUM = process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';

export interface CspViolation {
  readonly directive: string;
  readonly blockedUri: string;
  readonly documentUri: string;
}

export interface TestPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Every console message, as `type: text` (Chromium logs CSP and framing refusals here). */
  readonly console: string[];
  /** Uncaught errors in the page. */
  readonly errors: string[];
  /** Requests to a non-loopback host, refused by the guard (tests must never reach out). */
  readonly blocked: string[];
  /** `securitypolicyviolation` events the main frame's document saw. */
  cspViolations(): Promise<CspViolation[]>;
}

export interface TestBrowser {
  /**
   * A page in a fresh context: its own cookies, so each test starts as a new browser. The viewport
   * is Playwright's 1280×720 unless given (the screenshot tests use a 1280×800 laptop screen).
   */
  newPage(options?: { viewport?: { width: number; height: number } }): Promise<TestPage>;
  /** Closes every context and the browser; call it in after(). */
  close(): Promise<void>;
}

export async function launchTestBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing — run 'bash scripts/provision-tests.sh' (as root: it installs Debian's chromium)`,
    );
  }
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright adds --no-sandbox unless told otherwise; say so here: the tests run as root in a
    // container, where Chromium's sandbox cannot start, and only ever load our own loopback pages.
    chromiumSandbox: false,
    args: [
      // The flags this kind of machine needs (Playwright already passes --no-first-run and
      // --disable-background-networking, -component-update and -sync): no GPU, and no QUIC
      // attempts at a closed network.
      '--disable-gpu',
      '--disable-quic',
      // Nothing resolves but loopback (the rule covers IP literals too), so neither a page nor
      // Chromium's own background services can reach out.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]',
    ],
  });
  return {
    newPage: (options) => newTestPage(browser, options?.viewport),
    close: () => browser.close(),
  };
}

async function newTestPage(
  browser: Browser,
  viewport: { width: number; height: number } | undefined,
): Promise<TestPage> {
  const context = await browser.newContext(viewport ? { viewport } : {});
  const blocked: string[] = [];
  // An IP literal needs no resolver, so a request to a non-loopback address is refused here too.
  await context.route(
    (url) => (url.protocol === 'http:' || url.protocol === 'https:') && !isLoopbackHost(url.hostname),
    (route) => {
      blocked.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  // Runs before any page script and outside the page's CSP (Playwright injects it over CDP), so a
  // page with `default-src 'none'` can still report what its CSP refused. A string, because the
  // project compiles without the DOM library.
  await context.addInitScript({
    content: `globalThis.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  globalThis.__cspViolations.push({ directive: e.effectiveDirective, blockedUri: e.blockedURI, documentUri: e.documentURI });
});`,
  });
  const page = await context.newPage();
  const consoleMessages: string[] = [];
  const errors: string[] = [];
  page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(e.message));
  return {
    page,
    context,
    console: consoleMessages,
    errors,
    blocked,
    cspViolations: () => page.evaluate<CspViolation[]>('(globalThis.__cspViolations ?? []).slice()'),
  };
}
