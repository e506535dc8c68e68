/**
 * Redirect URIs: which forms a client may register, and whether the one presented at /authorize is
 * one of them. The rules (OAuth 2.1 §2.3 and §7.5, RFC 8252 §7):
 * - `https://` to any host, with no user name, password or fragment;
 * - `http://` only to a loopback address (127.0.0.1, [::1], localhost): nothing else sees the
 *   code on the wire, and a native app listens there on a port it picks at run time;
 * - a private-use scheme for native apps (`com.example.app:/callback`, `cursor://…`), except the
 *   schemes a browser runs or resolves itself (`javascript:`, `data:`, `file:`…);
 * - never a fragment: the code must arrive in the query, where the client looks for it.
 * Matching is exact string comparison; only for a loopback http URI may the port differ (RFC 8252
 * §7.3), because the app cannot know its free port when it registers.
 */
import { OAuthError } from './errors.js';

/** Longer URIs are refused so a signed client id (which carries them) stays URL-sized. */
export const MAX_REDIRECT_URI_LENGTH = 512;

/** Schemes a browser handles itself: a "redirect" there runs code or reads local data. */
const FORBIDDEN_SCHEMES: ReadonlySet<string> = new Set([
  'javascript:',
  'data:',
  'vbscript:',
  'file:',
  'blob:',
  'about:',
  'filesystem:',
  'view-source:',
  'ftp:',
  'ws:',
  'wss:',
  'mailto:',
  'tel:',
  'sms:',
]);

/**
 * The raw form of a loopback http URI: host, optional port, then the rest. Compared as written, so
 * `/a/../cb` can never stand in for `/cb`.
 */
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(?::(\d{1,5}))?([/?][^#]*)?$/;

/** Why `uri` may not be registered as a redirect URI, or undefined when it may. */
export function redirectUriProblem(uri: string): string | undefined {
  if (uri.length === 0) return 'is empty';
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return `is longer than ${MAX_REDIRECT_URI_LENGTH} characters`;
  // URL parsing silently drops tabs, newlines and edge spaces; an exact match must not depend on that.
  if (hasUnsafeCharacter(uri)) return 'contains whitespace, a control character or a backslash';
  if (uri.includes('#')) return 'has a #fragment — the authorization code is sent in the query, so remove it';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URI — write it like https://app.example.com/callback';
  }
  if (url.username || url.password) return 'must not carry a user name or password';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    if (LOOPBACK.test(uri)) return undefined;
    return `is plain http:// to ${url.host} — use https://, or http:// only to a loopback address (127.0.0.1, [::1] or localhost)`;
  }
  if (FORBIDDEN_SCHEMES.has(url.protocol))
    return `uses the ${url.protocol} scheme, which cannot receive a redirect`;
  return undefined;
}

/** The URI itself when it may be registered; otherwise invalid_redirect_uri (RFC 7591 §3.2.2). */
export function checkRedirectUri(uri: string): string {
  const problem = redirectUriProblem(uri);
  if (problem) throw new OAuthError('invalid_redirect_uri', `redirect URI ${quote(uri)} ${problem}`);
  return uri;
}

/** True for an http URI to 127.0.0.1, [::1] or localhost (the consent page warns about these). */
export function isLoopbackRedirectUri(uri: string): boolean {
  return LOOPBACK.test(uri);
}

/** Whether `presented` is `registered`: the same string, or the same loopback URI on another port. */
export function redirectUriMatches(presented: string, registered: string): boolean {
  if (presented === registered) return true;
  const a = LOOPBACK.exec(presented);
  const b = LOOPBACK.exec(registered);
  if (!a || !b) return false;
  return a[1] === b[1] && (a[3] ?? '') === (b[3] ?? '');
}

/**
 * The presented redirect URI when the client registered it; otherwise an invalid_request that the
 * caller must show on its own page, never send to the URI (that would be an open redirect).
 */
export function matchRedirectUri(presented: string, registered: readonly string[]): string {
  const problem = redirectUriProblem(presented);
  if (problem) throw new OAuthError('invalid_request', `redirect_uri ${quote(presented)} ${problem}`);
  if (!registered.some((r) => redirectUriMatches(presented, r))) {
    throw new OAuthError(
      'invalid_request',
      `redirect_uri ${quote(presented)} is not registered for this client — it must equal one of: ${registered.map(quote).join(', ')}`,
    );
  }
  return presented;
}

/**
 * True when `uri` holds a space, a control character or a backslash: URL parsing silently drops
 * or rewrites them, so what is compared would not be what is used.
 */
export function hasUnsafeCharacter(uri: string): boolean {
  for (let i = 0; i < uri.length; i++) {
    const code = uri.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}

/** Quotes a caller-supplied URI for a message, cut short so a huge value cannot flood a page or log. */
function quote(uri: string): string {
  return JSON.stringify(uri.length > 100 ? `${uri.slice(0, 100)}…` : uri);
}
