/**
 * The DNS-rebinding guards on their own, with fake request contexts: which Host and Origin headers
 * each listener accepts, and the exact refusal for the rest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../src/core/errors.js';
import { hostCheck } from '../../src/http/check-host.js';
import { originCheck } from '../../src/http/check-origin.js';
import type { RequestContext } from '../../src/pipeline/context.js';

/** A context carrying only the request headers these stages read. */
function ctx(headers: Record<string, string | undefined>): RequestContext {
  return { req: { headers } } as unknown as RequestContext;
}

type Check = (ctx: RequestContext) => void;

function accepts(check: Check, headers: Record<string, string | undefined>): void {
  assert.doesNotThrow(() => check(ctx(headers)), `accepts ${JSON.stringify(headers)}`);
}

function refuses(
  check: Check,
  headers: Record<string, string | undefined>,
  status: number,
  code: 'host_missing' | 'host_not_allowed' | 'origin_not_allowed',
  message: RegExp,
): void {
  assert.throws(
    () => check(ctx(headers)),
    (err: unknown) => {
      assert.ok(err instanceof GatewayError, `expected a GatewayError for ${JSON.stringify(headers)}`);
      assert.equal(err.status, status, `status for ${JSON.stringify(headers)}`);
      assert.equal(err.code, code);
      assert.equal(err.rpcCode, -32600);
      assert.match(err.message, message);
      return true;
    },
    `refuses ${JSON.stringify(headers)}`,
  );
}

const refusesHost = (check: Check, host: string) =>
  refuses(
    check,
    { host },
    403,
    'host_not_allowed',
    new RegExp(
      `^Host ${JSON.stringify(host).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not served here — .*listen\\.allowedHosts$`,
    ),
  );

describe('hostCheck on a loopback listener', () => {
  for (const listenHost of ['127.0.0.1', 'localhost', '::1']) {
    const check = hostCheck({ listenHost, publicUrl: new URL('http://127.0.0.1:8787'), allowedHosts: [] });

    it(`(${listenHost}) accepts localhost, 127.0.0.1 and [::1] with any port or none`, () => {
      for (const host of [
        'localhost',
        'localhost:8787',
        'localhost:1',
        '127.0.0.1',
        '127.0.0.1:8787',
        '127.0.0.1:65535',
        '127.1.2.3:80',
        '[::1]',
        '[::1]:8787',
        '[::1]:9999',
      ]) {
        accepts(check, { host });
      }
    });

    it(`(${listenHost}) refuses other names, including ones that merely contain a loopback name`, () => {
      for (const host of [
        'evil.example',
        'evil.example:8787',
        'localhost.evil.example',
        '127.0.0.1.evil.example:8787',
        'evil.example:127.0.0.1',
        '10.0.0.1:8787',
        '[::2]:8787',
      ]) {
        refusesHost(check, host);
      }
    });
  }
});

describe('hostCheck on a non-loopback listener', () => {
  const check = hostCheck({
    listenHost: '0.0.0.0',
    publicUrl: new URL('https://mcp.example.com'),
    allowedHosts: ['gw.internal', '[fd00::1]'],
  });

  it('accepts the public URL host, with or without a port', () => {
    accepts(check, { host: 'mcp.example.com' });
    accepts(check, { host: 'mcp.example.com:443' });
    accepts(check, { host: 'mcp.example.com:8443' });
  });

  it('accepts the listed allowedHosts, IPv6 ones with or without brackets', () => {
    accepts(check, { host: 'gw.internal' });
    accepts(check, { host: 'gw.internal:8787' });
    accepts(check, { host: '[fd00::1]:8787' });
    const unbracketed = hostCheck({
      listenHost: '0.0.0.0',
      publicUrl: new URL('https://mcp.example.com'),
      allowedHosts: ['fd00::1'],
    });
    accepts(unbracketed, { host: '[fd00::1]:8787' });
  });

  it('refuses loopback names: they are not this gateway when it listens publicly', () => {
    for (const host of ['localhost', 'localhost:8787', '127.0.0.1', '[::1]:8787']) refusesHost(check, host);
  });

  it('refuses any other host', () => {
    for (const host of [
      'evil.example',
      'mcp.example.com.evil.example',
      'example.com',
      'internal',
      'gw.internal.evil',
    ])
      refusesHost(check, host);
  });

  it('accepts an IPv6 public URL host', () => {
    const v6 = hostCheck({ listenHost: '::', publicUrl: new URL('https://[2001:db8::5]'), allowedHosts: [] });
    accepts(v6, { host: '[2001:db8::5]' });
    accepts(v6, { host: '[2001:DB8::5]:443' });
    refusesHost(v6, '[2001:db8::6]');
  });
});

describe('hostCheck normalisation', () => {
  const check = hostCheck({
    listenHost: '0.0.0.0',
    publicUrl: new URL('https://mcp.example.com'),
    allowedHosts: ['GW.Internal.'],
  });

  it('ignores case', () => {
    accepts(check, { host: 'MCP.Example.COM' });
    accepts(check, { host: 'gw.INTERNAL:8787' });
  });

  it('ignores one trailing dot (the fully-qualified spelling of the same name)', () => {
    accepts(check, { host: 'mcp.example.com.' });
    accepts(check, { host: 'MCP.EXAMPLE.COM.:443' });
    accepts(check, { host: 'gw.internal' });
  });

  it('normalises loopback names too', () => {
    const loopback = hostCheck({
      listenHost: '127.0.0.1',
      publicUrl: new URL('http://127.0.0.1:8787'),
      allowedHosts: [],
    });
    accepts(loopback, { host: 'LOCALHOST:8787' });
    accepts(loopback, { host: 'localhost.:8787' });
    refusesHost(loopback, 'EVIL.EXAMPLE.');
  });
});

describe('hostCheck without a Host header', () => {
  const check = hostCheck({
    listenHost: '127.0.0.1',
    publicUrl: new URL('http://127.0.0.1:8787'),
    allowedHosts: [],
  });

  it('refuses with 400 host_missing (HTTP/1.0 may omit Host)', () => {
    refuses(check, {}, 400, 'host_missing', /^the request has no Host header$/);
    refuses(check, { host: '' }, 400, 'host_missing', /no Host header/);
  });
});

describe('originCheck', () => {
  const check = originCheck({
    publicUrl: new URL('http://127.0.0.1:8787'),
    allowedOrigins: ['https://app.example.com'],
  });
  const refusesOrigin = (origin: string) =>
    refuses(
      check,
      { origin },
      403,
      'origin_not_allowed',
      new RegExp(
        `^requests from origin ${JSON.stringify(origin).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} are not allowed — add it to listen\\.allowedOrigins`,
      ),
    );

  it('lets a request without Origin through (not a browser)', () => {
    accepts(check, {});
  });

  it("accepts the gateway's own origin and the listed ones, ignoring case", () => {
    accepts(check, { origin: 'http://127.0.0.1:8787' });
    accepts(check, { origin: 'https://app.example.com' });
    accepts(check, { origin: 'HTTPS://APP.Example.com' });
  });

  it('compares the scheme exactly', () => {
    refusesOrigin('https://127.0.0.1:8787');
    refusesOrigin('http://app.example.com');
  });

  it('compares the host exactly', () => {
    refusesOrigin('http://localhost:8787');
    refusesOrigin('https://app.example.com.evil.example');
    refusesOrigin('https://evil-app.example.com');
    refusesOrigin('https://example.com');
  });

  it('compares the port exactly', () => {
    refusesOrigin('http://127.0.0.1:8788');
    refusesOrigin('http://127.0.0.1');
    refusesOrigin('https://app.example.com:8443');
  });

  it('refuses Origin: null and anything that is not a bare origin', () => {
    refusesOrigin('null');
    refusesOrigin('');
    refusesOrigin('http://127.0.0.1:8787/');
    refusesOrigin('http://127.0.0.1:8787, https://app.example.com');
  });

  it("uses the public URL's origin, not the listener's", () => {
    const behindProxy = originCheck({ publicUrl: new URL('https://mcp.example.com'), allowedOrigins: [] });
    accepts(behindProxy, { origin: 'https://mcp.example.com' });
    refuses(behindProxy, { origin: 'http://127.0.0.1:8787' }, 403, 'origin_not_allowed', /are not allowed/);
  });
});
