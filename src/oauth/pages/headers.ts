/**
 * The headers of every login, consent and error page. The CSP allows exactly what the pages use:
 * our own stylesheet and nothing else — no script at all, no inline style, forms posting only
 * back to us, never framed (clickjacking a consent button is the attack `frame-ancestors` and
 * X-Frame-Options stop), no `<base>` to re-point relative URLs.
 *
 * One exception is needed for the OAuth redirect: `form-action` also covers the redirects that
 * follow a form submission (Chromium enforces it, and reports the blocked redirect as the form's
 * own URL — see test/e2e/oauth-pages.test.ts), so when POST /consent answers 303 to the client's redirect URI,
 * `form-action 'self'` alone would block the authorization response. `pageHeaders` therefore adds
 * the origin (or the private-use scheme) of the one redirect URI this request was validated for.
 */

/** The CSP of a page whose forms only ever lead back to this server. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface PageHeaderOptions {
  /**
   * Redirect URIs a form on the page may end at (the request's validated `redirect_uri`, for the
   * login page when consent may already be remembered and for the consent page). Never a value
   * that has not passed `matchRedirectUri`.
   *
   * @example pageHeaders({ redirectUris: [request.redirectUri] })
   */
  readonly redirectUris?: readonly string[];
}

/** Every header a page response needs, besides its status; `content-type` included. */
export function pageHeaders(options: PageHeaderOptions = {}): ReadonlyArray<readonly [string, string]> {
  const sources = [...new Set((options.redirectUris ?? []).map(formActionSource))];
  const csp =
    sources.length === 0
      ? PAGE_CSP
      : PAGE_CSP.replace("form-action 'self'", `form-action 'self' ${sources.join(' ')}`);
  return [
    ['content-type', 'text/html; charset=utf-8'],
    ['content-security-policy', csp],
    // For browsers without frame-ancestors; CSP wins where both are supported.
    ['x-frame-options', 'DENY'],
    // A page carries a CSRF token and a pending request: never stored, never replayed from cache.
    ['cache-control', 'no-store'],
    // The page's URL holds the authorization request (state, PKCE challenge): keep it from others.
    ['referrer-policy', 'no-referrer'],
    ['x-content-type-options', 'nosniff'],
  ];
}

/** The headers of a page whose forms only lead back here (the error page, a login page). */
export const PAGE_HEADERS = pageHeaders();

/**
 * The CSP source expression matching a redirect URI: its origin for http(s) — a path would not
 * match anyway, since CSP ignores paths after a redirect — or its scheme for a native app's
 * private-use scheme. Throws on anything that could not be a source expression, so a value can
 * never add a directive.
 */
export function formActionSource(redirectUri: string): string {
  if (!URL.canParse(redirectUri)) throw new TypeError('the redirect URI is not an absolute URI');
  const url = new URL(redirectUri);
  const source = url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
  // RFC 3986 scheme, or scheme://host[:port] with an ASCII host (IPv6 in brackets).
  if (!/^[a-z][a-z0-9+.-]*:(?:\/\/[a-z0-9.\-[\]:]+)?$/.test(source)) {
    throw new TypeError(
      `the redirect URI gives no usable CSP source: ${JSON.stringify(source.slice(0, 100))}`,
    );
  }
  return source;
}
