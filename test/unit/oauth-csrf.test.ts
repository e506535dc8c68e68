import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  Csrf,
  CsrfError,
  type CsrfErrorCode,
  cookieValues,
  LOOPBACK_COOKIE_NAME,
  SECURE_COOKIE_NAME,
} from '../../src/oauth/csrf.js';

const KEY = new Uint8Array(32).fill(7);
const csrf = new Csrf({ key: KEY, publicUrl: 'https://mcp.example.com' });
const REQUEST = 'req_4f1c0d';

/** A browser that went through /authorize: its Cookie header and binding. */
function browser(c: Csrf = csrf): { cookie: string; binding: string } {
  const { value, setCookie } = c.binding(undefined);
  assert.ok(setCookie);
  return { cookie: `theme=dark; ${c.cookieName}=${value}`, binding: value };
}

function refused(action: () => unknown, code: CsrfErrorCode): CsrfError {
  try {
    action();
  } catch (err) {
    assert.ok(err instanceof CsrfError, `expected a CsrfError, got ${String(err)}`);
    assert.equal(err.code, code, err.description);
    assert.equal(err.status, 403);
    return err;
  }
  assert.fail(`accepted, but expected ${code}`);
}

describe('Csrf: the cookie', () => {
  it('is __Host- prefixed, Secure, HttpOnly and SameSite=Lax under https', () => {
    const { value, setCookie } = csrf.binding(undefined);
    assert.match(value, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(setCookie, `${SECURE_COOKIE_NAME}=${value}; Path=/; HttpOnly; SameSite=Lax; Secure`);
    assert.equal(
      csrf.clearCookie(),
      `${SECURE_COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0`,
    );
  });

  it('has a plain name and no Secure under loopback http, where Safari refuses Secure cookies', () => {
    for (const publicUrl of ['http://127.0.0.1:8787', 'http://localhost:8787', 'http://[::1]:8787']) {
      const loopback = new Csrf({ key: KEY, publicUrl });
      const { value, setCookie } = loopback.binding(undefined);
      assert.equal(setCookie, `${LOOPBACK_COOKIE_NAME}=${value}; Path=/; HttpOnly; SameSite=Lax`, publicUrl);
    }
  });

  it('refuses plain http to a non-loopback host and a short key at construction', () => {
    assert.throws(() => new Csrf({ key: KEY, publicUrl: 'http://mcp.example.com' }), {
      name: 'TypeError',
      message: /must be https:\/\/ \(plain http:\/\/ only for a loopback address\)/,
    });
    assert.throws(() => new Csrf({ key: new Uint8Array(31), publicUrl: 'https://mcp.example.com' }), {
      name: 'TypeError',
      message: 'the CSRF key must be at least 32 bytes',
    });
  });

  it('keeps the binding a browser already holds, and replaces a damaged or doubled one', () => {
    const { cookie, binding } = browser();
    assert.deepEqual(csrf.binding(cookie), { value: binding, setCookie: undefined });
    assert.notEqual(csrf.binding(`${SECURE_COOKIE_NAME}=short`).value, 'short');
    const doubled = csrf.binding(`${cookie}; ${SECURE_COOKIE_NAME}=${browser().binding}`);
    assert.ok(doubled.setCookie);
  });

  it('cookieValues reads every value of one name from a Cookie header', () => {
    assert.deepEqual(cookieValues('a=1; b=2;a=3 ; c', 'a'), ['1', '3']);
    assert.deepEqual(cookieValues(undefined, 'a'), []);
    assert.deepEqual(cookieValues('ab=1', 'a'), []);
  });
});

describe('Csrf: the token', () => {
  it('is accepted for its form and request in the browser it was issued to', () => {
    const { cookie, binding } = browser();
    const token = csrf.token('consent', REQUEST, binding);
    assert.match(token, /^[A-Za-z0-9_-]{64}$/);
    assert.equal(csrf.verify('consent', REQUEST, cookie, token), binding);
  });

  it('is accepted by another instance with the same key (nothing is stored)', () => {
    const { cookie, binding } = browser();
    const other = new Csrf({ key: new Uint8Array(KEY), publicUrl: 'https://mcp.example.com' });
    assert.equal(other.verify('login', REQUEST, cookie, csrf.token('login', REQUEST, binding)), binding);
  });

  it('refuses a forged token: random bytes, an altered MAC, or one made with another key', () => {
    const { cookie, binding } = browser();
    refused(
      () => csrf.verify('consent', REQUEST, cookie, randomBytes(48).toString('base64url')),
      'csrf_token_forged',
    );
    const token = Buffer.from(csrf.token('consent', REQUEST, binding), 'base64url');
    token[47] = (token[47] as number) ^ 1;
    refused(() => csrf.verify('consent', REQUEST, cookie, token.toString('base64url')), 'csrf_token_forged');
    const otherKey = new Csrf({ key: new Uint8Array(32).fill(8), publicUrl: 'https://mcp.example.com' });
    refused(
      () => csrf.verify('consent', REQUEST, cookie, otherKey.token('consent', REQUEST, binding)),
      'csrf_token_forged',
    );
  });

  it('refuses a token issued for another request, or for the other form of the same request', () => {
    const { cookie, binding } = browser();
    const err = refused(
      () => csrf.verify('consent', REQUEST, cookie, csrf.token('consent', 'req_other', binding)),
      'csrf_token_wrong_request',
    );
    assert.equal(
      err.description,
      'The form belongs to a different sign-in request than the one it was sent for.',
    );
    refused(
      () => csrf.verify('consent', REQUEST, cookie, csrf.token('login', REQUEST, binding)),
      'csrf_token_wrong_request',
    );
  });

  it('refuses a form whose browser sent no cookie, a damaged one, or two', () => {
    const { cookie, binding } = browser();
    const token = csrf.token('login', REQUEST, binding);
    const err = refused(() => csrf.verify('login', REQUEST, undefined, token), 'csrf_cookie_missing');
    assert.match(err.description, /did not send the sign-in cookie/);
    refused(() => csrf.verify('login', REQUEST, 'theme=dark', token), 'csrf_cookie_missing');
    refused(
      () => csrf.verify('login', REQUEST, `${SECURE_COOKIE_NAME}=${binding.slice(1)}`, token),
      'csrf_cookie_missing',
    );
    refused(
      () => csrf.verify('login', REQUEST, `${cookie}; ${SECURE_COOKIE_NAME}=${binding}`, token),
      'csrf_cookie_missing',
    );
    // The loopback name is not the https name: a cookie set under one posture is not read by the other.
    refused(
      () => csrf.verify('login', REQUEST, `${LOOPBACK_COOKIE_NAME}=${binding}`, token),
      'csrf_cookie_missing',
    );
  });

  it('refuses a swapped cookie: the token of one browser sent with the cookie of another', () => {
    const victim = browser();
    const attacker = browser();
    const token = csrf.token('consent', REQUEST, attacker.binding);
    const err = refused(() => csrf.verify('consent', REQUEST, victim.cookie, token), 'csrf_cookie_mismatch');
    assert.match(err.description, /issued to a different browser session/);
  });

  it('refuses a missing or malformed token before any MAC is computed', () => {
    const { cookie } = browser();
    refused(() => csrf.verify('login', REQUEST, cookie, undefined), 'csrf_token_missing');
    refused(() => csrf.verify('login', REQUEST, cookie, ''), 'csrf_token_missing');
    refused(() => csrf.verify('login', REQUEST, cookie, `${'A'.repeat(63)}=`), 'csrf_token_missing');
    refused(() => csrf.verify('login', REQUEST, cookie, 'A'.repeat(65)), 'csrf_token_missing');
  });

  it('keeps fields apart: no request id can stand in for another request and binding', () => {
    const { cookie, binding } = browser();
    const token = csrf.token('login', `${REQUEST}","${binding}`, binding);
    refused(() => csrf.verify('login', REQUEST, cookie, token), 'csrf_token_wrong_request');
  });
});
