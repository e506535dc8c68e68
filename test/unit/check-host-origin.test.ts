/**
 * The DNS-rebinding guards on their own, with fake request contexts: which Host and Origin headers
 * each listener accepts, and the exact refusal for the rest.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { GatewayError } from '../../src/core/errors.js';
import { hostCheck } from '../../src/http/check-host.js';
import { originCheck } from '../../src/http/check-origin.js';
import type { RequestContext } from '../../src/pipeline/context.js';

/** The listener port the contexts below arrived on (the loopback aliases are bound to it). */
const PORT = 8787;

/** A context carrying only what these stages read: the headers, and the socket's port and TLS. */
function ctx(
  headers: Record<string, string | undefined>,
  socket = { localPort: PORT, encrypted: false },
): RequestContext {
  return { req: { headers, socket } } as unknown as RequestContext;
}

type Check = (ctx: RequestContext) => void;

function accepts(
  check: Check,
  headers: Record<string, string | undefined>,
  socket?: Parameters<typeof ctx>[1],
): void {
  assert.doesNotThrow(() => check(ctx(headers, socket)), `accepts ${JSON.stringify(headers)}`);
}

function refuses(
  check: Check,
  headers: Record<string, string | undefined>,
  status: number,
  code: 'host_missing' | 'host_not_allowed' | 'origin_not_allowed',
  message: RegExp,
  socket?: Parameters<typeof ctx>[1],
): void {
  assert.throws(
    () => check(ctx(headers, socket)),
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

const refusesOrigin = (check: Check, origin: string, socket?: Parameters<typeof ctx>[1]) =>
  refuses(
    check,
    { origin },
    403,
    'origin_not_allowed',
    new RegExp(
      `^requests from origin ${JSON.stringify(origin).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} are not allowed — add it to listen\\.allowedOrigins`,
    ),
    socket,
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
    listenHost: '0.0.0.0',
    publicUrl: new URL('http://127.0.0.1:8787'),
    allowedOrigins: ['https://app.example.com'],
  });

  it('lets a request without Origin through (not a browser)', () => {
    accepts(check, {});
  });

  it("accepts the gateway's own origin and the listed ones, ignoring case", () => {
    accepts(check, { origin: 'http://127.0.0.1:8787' });
    accepts(check, { origin: 'https://app.example.com' });
    accepts(check, { origin: 'HTTPS://APP.Example.com' });
  });

  it('compares the scheme exactly', () => {
    refusesOrigin(check, 'https://127.0.0.1:8787');
    refusesOrigin(check, 'http://app.example.com');
  });

  it('compares the host exactly', () => {
    refusesOrigin(check, 'http://localhost:8787');
    refusesOrigin(check, 'https://app.example.com.evil.example');
    refusesOrigin(check, 'https://evil-app.example.com');
    refusesOrigin(check, 'https://example.com');
  });

  it('compares the port exactly', () => {
    refusesOrigin(check, 'http://127.0.0.1:8788');
    refusesOrigin(check, 'http://127.0.0.1');
    refusesOrigin(check, 'https://app.example.com:8443');
  });

  it('refuses Origin: null and anything that is not a bare origin', () => {
    refusesOrigin(check, 'null');
    refusesOrigin(check, '');
    refusesOrigin(check, 'http://127.0.0.1:8787/');
    refusesOrigin(check, 'http://127.0.0.1:8787, https://app.example.com');
  });

  it("uses the public URL's origin, not the listener's", () => {
    const behindProxy = originCheck({
      listenHost: '0.0.0.0',
      publicUrl: new URL('https://mcp.example.com'),
      allowedOrigins: [],
    });
    accepts(behindProxy, { origin: 'https://mcp.example.com' });
    refuses(behindProxy, { origin: 'http://127.0.0.1:8787' }, 403, 'origin_not_allowed', /are not allowed/);
  });
});

describe('originCheck on a loopback listener (issue 14: the three loopback names are one machine)', () => {
  for (const listenHost of ['127.0.0.1', 'localhost', '::1']) {
    const check = originCheck({
      listenHost,
      publicUrl: new URL('http://127.0.0.1:8787'),
      allowedOrigins: [],
    });

    it(`(${listenHost}) accepts localhost, 127.0.0.1 and [::1] at the listener's port, ignoring case`, () => {
      for (const origin of [
        'http://127.0.0.1:8787',
        'http://localhost:8787',
        'http://[::1]:8787',
        'HTTP://LOCALHOST:8787',
      ]) {
        accepts(check, { origin });
      }
    });

    it(`(${listenHost}) refuses the loopback names at another port: another program's pages`, () => {
      for (const origin of [
        'http://localhost:3000',
        'http://127.0.0.1:8788',
        'http://[::1]:80',
        'http://localhost',
      ]) {
        refusesOrigin(check, origin);
      }
    });

    it(`(${listenHost}) refuses every other name and loopback spelling, and https on a plain listener`, () => {
      for (const origin of [
        'http://evil.example:8787',
        'http://localhost.evil.example:8787',
        'http://app.localhost:8787',
        'http://127.0.0.2:8787',
        'http://[::2]:8787',
        'http://0.0.0.0:8787',
        'https://localhost:8787',
        'http://localhost:8787/',
        'null',
      ]) {
        refusesOrigin(check, origin);
      }
    });
  }

  const check = originCheck({
    listenHost: '127.0.0.1',
    publicUrl: new URL('https://mcp.example.com'),
    allowedOrigins: [],
  });

  it('binds the aliases to the port the request arrived on, not the public URL', () => {
    const socket = { localPort: 41234, encrypted: false };
    accepts(check, { origin: 'http://localhost:41234' }, socket);
    accepts(check, { origin: 'https://mcp.example.com' }, socket);
    refusesOrigin(check, 'http://localhost:8787', socket);
  });

  it('uses https for a TLS listener, and drops the default port as browsers do', () => {
    accepts(check, { origin: 'https://localhost:8443' }, { localPort: 8443, encrypted: true });
    refusesOrigin(check, 'http://localhost:8443', { localPort: 8443, encrypted: true });
    accepts(check, { origin: 'https://[::1]' }, { localPort: 443, encrypted: true });
    accepts(check, { origin: 'http://127.0.0.1' }, { localPort: 80, encrypted: false });
  });
});

describe('originCheck on a real loopback socket', () => {
  it("reads the listener's port from the socket the request came in on", async () => {
    const check = originCheck({
      listenHost: '127.0.0.1',
      publicUrl: new URL('https://mcp.example.com'),
      allowedOrigins: [],
    });
    const server = createServer((req, res) => {
      try {
        check({ req } as unknown as RequestContext);
        res.writeHead(204).end();
      } catch (err) {
        res.writeHead(err instanceof GatewayError ? 403 : 500).end();
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const statusFor = (origin: string) =>
      new Promise<number | undefined>((resolve, reject) => {
        request({ host: '127.0.0.1', port, headers: { origin } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
          .on('error', reject)
          .end();
      });
    try {
      assert.equal(await statusFor(`http://localhost:${port}`), 204);
      assert.equal(await statusFor(`http://[::1]:${port}`), 204);
      assert.equal(await statusFor(`http://127.0.0.1:${port}`), 204);
      assert.equal(await statusFor(`http://localhost:${port === 65535 ? 1 : port + 1}`), 403);
      assert.equal(await statusFor(`https://localhost:${port}`), 403);
    } finally {
      server.close();
    }
  });
});

describe('originCheck on a non-loopback listener', () => {
  for (const listenHost of ['0.0.0.0', '::', '192.0.2.10', 'gw.internal']) {
    it(`(${listenHost}) refuses the loopback names, even at the listener's port`, () => {
      const check = originCheck({
        listenHost,
        publicUrl: new URL('https://mcp.example.com'),
        allowedOrigins: [],
      });
      for (const origin of ['http://localhost:8787', 'http://127.0.0.1:8787', 'http://[::1]:8787']) {
        refusesOrigin(check, origin);
      }
      accepts(check, { origin: 'https://mcp.example.com' });
    });
  }
});
