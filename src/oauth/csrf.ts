/**
 * CSRF protection for the login and consent forms (issue 7 §3): a form is accepted only from the
 * browser that was shown it, for the request it was shown for.
 *
 * - The browser holds a random 256-bit binding in an HttpOnly cookie, set on its first /authorize.
 * - The form carries a token: HMAC-SHA256 over (form, pending request id, that binding) under a
 *   server key, so it cannot be made without the key, cannot be moved to another request or form,
 *   and is worthless in a browser without the matching cookie (a cross-site attacker can neither
 *   read the victim's cookie nor set it). The comparison is constant-time.
 * - The token also carries two 8-byte keyed hints, one of the request and one of the binding. They
 *   never decide anything (only the full MAC does); they tell apart a token for another request,
 *   a swapped cookie and a forged token, so the error says which.
 * - Nothing is stored: any instance with the same key checks any token, and a token dies with
 *   its pending request (the caller refuses an unknown or expired request id first).
 *
 * The cookie. Under https it is `__Host-portcullis-csrf; Path=/; Secure; HttpOnly; SameSite=Lax`:
 * the prefix makes browsers refuse a copy set by a sibling subdomain or over plain http (cookie
 * tossing). Under the plain-http loopback URL the config allows, it is `portcullis-csrf` without
 * Secure: Chromium accepts Secure and `__Host-` cookies from http://127.0.0.1 and localhost
 * (test/e2e/oauth-pages.test.ts checks it), but Safari refuses Secure cookies there (WebKit bug
 * 281149, mdn/browser-compat-data#28461), browsers have disagreed on the prefixes there
 * (httpwg/http-extensions#2605), and a refused cookie would make every login fail. On
 * loopback nothing crosses a network and there is no sibling domain, so the prefix guards nothing
 * there; the different name keeps the https cookie's guarantees from being claimed without them.
 * SameSite=Lax, not Strict: the browser must still send it when an external identity provider
 * redirects back to us (a cross-site top-level GET), while Lax already keeps it off every
 * cross-site POST, which is what a forged form submission is.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isLoopbackHost } from '../net/loopback.js';

/** Which form a token is for: a login token cannot approve consent. */
export type CsrfForm = 'login' | 'consent' | 'external-login' | 'approval-login' | 'approval';

export type CsrfErrorCode =
  | 'csrf_cookie_missing'
  | 'csrf_token_missing'
  | 'csrf_token_forged'
  | 'csrf_token_wrong_request'
  | 'csrf_cookie_mismatch';

const DESCRIPTIONS: Readonly<Record<CsrfErrorCode, string>> = {
  csrf_cookie_missing:
    'This browser did not send the sign-in cookie: cookies may be blocked for this site, or the form was opened in another browser or a private window.',
  csrf_token_missing: 'The form arrived without its security token, or with a damaged one.',
  csrf_token_forged: 'The form’s security token is not one this server issued.',
  csrf_token_wrong_request: 'The form belongs to a different sign-in request than the one it was sent for.',
  csrf_cookie_mismatch:
    'The form was issued to a different browser session: the sign-in cookie changed after the page was shown.',
};

/** A refused form: 403, a stable code, and a description fit for the error page. */
export class CsrfError extends Error {
  readonly code: CsrfErrorCode;
  readonly status = 403;

  constructor(code: CsrfErrorCode) {
    super(DESCRIPTIONS[code]);
    this.name = 'CsrfError';
    this.code = code;
  }

  get description(): string {
    return this.message;
  }
}

export interface CsrfOptions {
  /**
   * At least 32 bytes, the same on every instance; derive it from the OAuth signing secret with a
   * purpose of its own, so rotating the secret also retires every outstanding form.
   */
  readonly key: Uint8Array;
  /** The gateway's public URL: https gets the `__Host-` cookie, loopback http the plain one. */
  readonly publicUrl: string | URL;
}

/** The browser's binding, and the Set-Cookie header to send when it was just made. */
export interface BrowserBinding {
  readonly value: string;
  readonly setCookie: string | undefined;
}

export const SECURE_COOKIE_NAME = '__Host-portcullis-csrf';
export const LOOPBACK_COOKIE_NAME = 'portcullis-csrf';

const BINDING = /^[A-Za-z0-9_-]{43}$/;
const HINT_BYTES = 8;
/** base64url of two 8-byte hints and a 32-byte HMAC-SHA256. */
const TOKEN = /^[A-Za-z0-9_-]{64}$/;

export class Csrf {
  readonly cookieName: string;
  readonly #key: Uint8Array;
  readonly #cookieAttributes: string;

  constructor(options: CsrfOptions) {
    if (!(options.key instanceof Uint8Array) || options.key.byteLength < 32) {
      throw new TypeError('the CSRF key must be at least 32 bytes');
    }
    const url = new URL(options.publicUrl);
    const secure = url.protocol === 'https:';
    if (!secure && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      throw new TypeError('the public URL must be https:// (plain http:// only for a loopback address)');
    }
    this.#key = new Uint8Array(options.key);
    this.cookieName = secure ? SECURE_COOKIE_NAME : LOOPBACK_COOKIE_NAME;
    this.#cookieAttributes = `Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  }

  /**
   * The binding this browser already holds (from the request's Cookie header), or a new one with
   * the Set-Cookie header that stores it. Call it when showing a form.
   */
  binding(cookieHeader: string | undefined): BrowserBinding {
    const values = cookieValues(cookieHeader, this.cookieName);
    const existing = values.length === 1 ? values[0] : undefined;
    if (existing !== undefined && BINDING.test(existing)) return { value: existing, setCookie: undefined };
    const value = randomBytes(32).toString('base64url');
    return { value, setCookie: `${this.cookieName}=${value}; ${this.#cookieAttributes}` };
  }

  /** The token to put in `form`'s hidden field for `requestId`, in the browser holding `binding`. */
  token(form: CsrfForm, requestId: string, binding: string): string {
    const token = Buffer.concat([
      this.#mac(['request', form, requestId]).subarray(0, HINT_BYTES),
      this.#mac(['browser', binding]).subarray(0, HINT_BYTES),
      this.#mac(['csrf', form, requestId, binding]),
    ]);
    return token.toString('base64url');
  }

  /**
   * Returns the browser's binding when `token` was issued for `form` and `requestId` to the
   * browser that sent `cookieHeader`; otherwise throws a CsrfError naming what does not match.
   */
  verify(
    form: CsrfForm,
    requestId: string,
    cookieHeader: string | undefined,
    token: string | undefined,
  ): string {
    const values = cookieValues(cookieHeader, this.cookieName);
    // Two cookies of our name means one was planted; neither can be trusted to be ours.
    const binding = values.length === 1 ? values[0] : undefined;
    if (binding === undefined || !BINDING.test(binding)) throw new CsrfError('csrf_cookie_missing');
    if (token === undefined || !TOKEN.test(token)) throw new CsrfError('csrf_token_missing');
    const presented = Buffer.from(token, 'base64url');
    const mac = presented.subarray(2 * HINT_BYTES);
    if (timingSafeEqual(mac, this.#mac(['csrf', form, requestId, binding]))) return binding;
    // Refused either way; the hints only choose the message.
    const requestHint = this.#mac(['request', form, requestId]).subarray(0, HINT_BYTES);
    const browserHint = this.#mac(['browser', binding]).subarray(0, HINT_BYTES);
    const sameRequest = timingSafeEqual(presented.subarray(0, HINT_BYTES), requestHint);
    const sameBrowser = timingSafeEqual(presented.subarray(HINT_BYTES, 2 * HINT_BYTES), browserHint);
    if (sameBrowser && !sameRequest) throw new CsrfError('csrf_token_wrong_request');
    if (sameRequest && !sameBrowser) throw new CsrfError('csrf_cookie_mismatch');
    throw new CsrfError('csrf_token_forged');
  }

  /** A Set-Cookie header that removes the binding (e.g. after the flow ends, or on sign-out). */
  clearCookie(): string {
    return `${this.cookieName}=; ${this.#cookieAttributes}; Max-Age=0`;
  }

  /** JSON framing keeps the fields apart: no choice of request id can imitate another binding. */
  #mac(fields: readonly string[]): Buffer {
    return createHmac('sha256', this.#key).update(JSON.stringify(fields)).digest();
  }
}

/** Every value of cookie `name` in a Cookie header (RFC 6265 §5.4: `name=value; name2=value2`). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (header === undefined) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    if (pair.slice(0, eq).trim() === name) values.push(pair.slice(eq + 1).trim());
  }
  return values;
}
