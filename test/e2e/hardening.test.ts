/**
 * HTTP hardening end to end, against real gateways (traffic to 127.0.0.1 only):
 * - the security headers on every kind of response: MCP answers (SSE, 202, GET stream, DELETE),
 *   each refusal (400, 401, 403, 404, 405, 413, 429), health, protected-resource metadata,
 *   preflights and malformed HTTP; never HSTS over plain HTTP;
 * - CORS: no Access-Control-Allow-Origin by default; with listen.allowedOrigins, an allowed origin
 *   gets it with the headers an MCP client must read exposed, its preflight is answered with the
 *   methods and request headers MCP uses, and a foreign origin's preflight is refused;
 * - native TLS: HTTPS with a self-signed certificate (openssl), HSTS on every answer, TLS 1.1
 *   refused at the handshake, TLS 1.2 accepted, an unreadable certificate or key refused at start
 *   with an error naming the field;
 * - HSTS behind a trusted TLS-terminating proxy (X-Forwarded-Proto: https), and only then;
 * - the plain-HTTP warning for a non-loopback listener (0.0.0.0, bound only for the moment it takes
 *   to start and stop; no traffic is sent to it), and its absence with TLS or a trusted proxy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { INITIALIZE } from '../helpers/client.js';
import {
  EVERYTHING,
  gatewayYaml,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';
import {
  type KeyStore,
  keyedGatewayYaml,
  keyStore,
  logLines,
  rawExchange,
  sessionHeaders,
  toolCall,
} from '../helpers/limits.js';
import { selfSignedCert } from '../helpers/tls.js';

const UPSTREAM = stdioUpstream('everything', EVERYTHING, ['stdio']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HSTS = 'max-age=31536000; includeSubDomains';
const APP = 'https://app.example.com';
const EVIL = 'https://evil.example';

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

interface SendOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** CA to trust for https:// gateways. */
  readonly ca?: Buffer;
  /** Resolve at the response head and drop the connection (for event streams). */
  readonly headOnly?: boolean;
}

const POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** One request over node:http or node:https (which, unlike fetch, takes a CA). */
function send(base: string, options: SendOptions = {}): Promise<Reply> {
  const url = new URL(base);
  const method = options.method ?? 'GET';
  const body = options.body;
  const headers: Record<string, string> = {
    ...(method === 'POST' ? POST_HEADERS : {}),
    ...options.headers,
    ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
  };
  const https = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: options.path ?? '/mcp',
        headers,
        agent: false,
        ...(https ? { ca: options.ca, servername: 'localhost' } : {}),
      },
      (res) => {
        if (options.headOnly) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '' });
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The headers README promises on every response, whatever its status. */
function assertSecurityHeaders(what: string, r: Reply | { headers: IncomingHttpHeaders }): void {
  const h = r.headers;
  assert.equal(h['x-content-type-options'], 'nosniff', `${what}: X-Content-Type-Options`);
  assert.equal(h['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
  assert.equal(h['x-frame-options'], 'DENY', `${what}: X-Frame-Options`);
  // Event streams add no-cache and no-transform; no-store is on every answer.
  const cacheControl = String(h['cache-control'] ?? '')
    .split(',')
    .map((d) => d.trim());
  assert.ok(cacheControl.includes('no-store'), `${what}: Cache-Control ${h['cache-control']}`);
  assert.equal(
    h['content-security-policy'],
    "default-src 'none'; frame-ancestors 'none'",
    `${what}: Content-Security-Policy`,
  );
  assert.match(String(h['x-request-id']), UUID, `${what}: X-Request-Id`);
}

/** The stable error code of a JSON-RPC error body. */
function errorCode(r: Reply): unknown {
  return (JSON.parse(r.text) as { error?: { data?: { error?: string } } }).error?.data?.error;
}

const echo = (id: number) => toolCall(id, 'echo', { message: 'hi' });

/** The `listen.tls` field (with its leading comma) for a certificate and key file. */
const tlsField = (cert: string, key: string) =>
  `, tls: { cert: ${JSON.stringify(cert)}, key: ${JSON.stringify(key)} }`;

describe('security headers on every kind of response (plain HTTP, default CORS)', () => {
  let gw: TestGateway;
  let keys: KeyStore;

  before(async () => {
    keys = await keyStore(['k'], 'pcl-hardening-');
    gw = await startTestGateway(
      keyedGatewayYaml(keys.db, UPSTREAM, 'limits: { maxBody: 2kb, tools: { everything.echo: 1/min } }'),
    );
  });
  after(async () => {
    await gw?.close();
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  it('MCP answers: initialize (SSE), 202, the GET stream, a tool result, DELETE', async () => {
    const auth = keys.auth('k');
    const init = await send(gw.url, { method: 'POST', body: JSON.stringify(INITIALIZE), headers: auth });
    assert.equal(init.status, 200, init.text);
    assert.match(String(init.headers['content-type']), /^text\/event-stream/);
    assertSecurityHeaders('initialize', init);
    const session = String(init.headers['mcp-session-id']);
    const h = sessionHeaders(session, auth);

    const note = await send(gw.url, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      headers: h,
    });
    assert.equal(note.status, 202, note.text);
    assertSecurityHeaders('202 notification', note);

    const stream = await send(gw.url, { headers: { accept: 'text/event-stream', ...h }, headOnly: true });
    assert.equal(stream.status, 200);
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    assertSecurityHeaders('GET stream', stream);

    const result = await send(gw.url, { method: 'POST', body: JSON.stringify(echo(2)), headers: h });
    assert.equal(result.status, 200, result.text);
    assert.match(result.text, /Echo: hi/);
    assertSecurityHeaders('tool result', result);

    // limits.tools: one echo a minute — the second is a 429 with the same headers.
    const limited = await send(gw.url, { method: 'POST', body: JSON.stringify(echo(3)), headers: h });
    assert.equal(limited.status, 429, limited.text);
    assert.equal(errorCode(limited), 'rate_limited');
    assertSecurityHeaders('429', limited);

    const del = await send(gw.url, { method: 'DELETE', headers: h });
    assert.equal(del.status, 200, del.text);
    assertSecurityHeaders('DELETE', del);
    for (const r of [init, note, stream, result, limited, del]) {
      assert.equal(r.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
      assert.equal(r.headers['access-control-allow-origin'], undefined, 'no CORS by default');
    }
  });

  it('every refusal: 400, 401, 403, 404, 405, 413, and a refused preflight', async () => {
    const auth = keys.auth('k');
    const cases: [string, SendOptions, number, string | undefined][] = [
      [
        'no session',
        { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"ping"}', headers: auth },
        400,
        'session_required',
      ],
      ['no credential', { method: 'POST', body: JSON.stringify(INITIALIZE) }, 401, 'unauthorized'],
      [
        'foreign origin',
        { method: 'POST', body: JSON.stringify(INITIALIZE), headers: { ...auth, origin: EVIL } },
        403,
        'origin_not_allowed',
      ],
      ['unknown path', { path: '/nowhere' }, 404, 'not_found'],
      ['PUT', { method: 'PUT', headers: auth }, 405, 'method_not_allowed'],
      [
        'large body',
        { method: 'POST', body: `{"pad":"${'x'.repeat(3000)}"}`, headers: auth },
        413,
        'body_too_large',
      ],
      [
        'preflight',
        { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST' } },
        403,
        undefined,
      ],
    ];
    for (const [what, options, status, code] of cases) {
      const r = await send(gw.url, options);
      assert.equal(r.status, status, `${what}: ${r.text}`);
      if (code !== undefined) assert.equal(errorCode(r), code, `${what}: ${r.text}`);
      assertSecurityHeaders(what, r);
      assert.equal(r.headers['strict-transport-security'], undefined, `${what}: no HSTS over plain HTTP`);
      assert.equal(r.headers['access-control-allow-origin'], undefined, `${what}: no CORS by default`);
      assert.equal(r.headers['access-control-allow-methods'], undefined, `${what}: no CORS by default`);
      if (status === 401) assert.match(String(r.headers['www-authenticate']), /^Bearer resource_metadata="/);
    }
  });

  it('health endpoints and protected-resource metadata', async () => {
    for (const path of [
      '/healthz',
      '/readyz',
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]) {
      const r = await send(gw.url, { path });
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.ok(JSON.parse(r.text), `${path} answers JSON`);
      assertSecurityHeaders(path, r);
      assert.equal(r.headers['strict-transport-security'], undefined);
    }
    const prm = JSON.parse(
      (await send(gw.url, { path: '/.well-known/oauth-protected-resource/mcp' })).text,
    ) as {
      resource?: string;
    };
    assert.equal(prm.resource, `${gw.url}/mcp`);
  });

  it('malformed HTTP, answered before any handler, carries them too', async () => {
    const { response: raw } = await rawExchange(gw.port, 'GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 400 /);
    const headers: IncomingHttpHeaders = {};
    for (const line of raw.split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    assertSecurityHeaders('malformed request', { headers });
  });
});

describe(`CORS with listen.allowedOrigins: [${APP}]`, () => {
  let gw: TestGateway;
  let keys: KeyStore;

  before(async () => {
    keys = await keyStore(['k'], 'pcl-hardening-');
    gw = await startTestGateway(
      keyedGatewayYaml(keys.db, UPSTREAM, '', { listen: `, allowedOrigins: ["${APP}"]` }),
    );
  });
  after(async () => {
    await gw?.close();
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  const exposed = (r: Reply) =>
    String(r.headers['access-control-expose-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase());

  it('an allowed origin gets Access-Control-Allow-Origin, with the MCP headers exposed', async () => {
    const auth = keys.auth('k');
    const init = await send(gw.url, {
      method: 'POST',
      body: JSON.stringify(INITIALIZE),
      headers: { ...auth, origin: APP },
    });
    assert.equal(init.status, 200, init.text);
    assert.equal(init.headers['access-control-allow-origin'], APP);
    assert.match(String(init.headers.vary), /\bOrigin\b/);
    for (const name of ['mcp-session-id', 'www-authenticate', 'retry-after', 'ratelimit', 'ratelimit-policy'])
      assert.ok(
        exposed(init).includes(name),
        `${name} is exposed: ${init.headers['access-control-expose-headers']}`,
      );
    assert.equal(init.headers['access-control-allow-credentials'], undefined, 'no credentialed CORS');
    assertSecurityHeaders('CORS initialize', init);
    const session = String(init.headers['mcp-session-id']);

    // A refusal is readable by the page too: the 401 challenge.
    const anonymous = await send(gw.url, {
      method: 'POST',
      body: JSON.stringify(INITIALIZE),
      headers: { origin: APP },
    });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers['access-control-allow-origin'], APP);
    assert.ok(exposed(anonymous).includes('www-authenticate'));
    assert.match(String(anonymous.headers['www-authenticate']), /^Bearer resource_metadata="/);

    // The origin is matched whole: another scheme, host or port gets nothing.
    for (const origin of [
      'http://app.example.com',
      'https://app.example.com:8443',
      'https://app.example.com.evil.example',
    ]) {
      const r = await send(gw.url, {
        method: 'POST',
        body: JSON.stringify(INITIALIZE),
        headers: { ...auth, origin },
      });
      assert.equal(r.status, 403, `${origin}: ${r.text}`);
      assert.equal(errorCode(r), 'origin_not_allowed');
      assert.equal(r.headers['access-control-allow-origin'], undefined, origin);
    }
    const del = await send(gw.url, {
      method: 'DELETE',
      headers: sessionHeaders(session, { ...auth, origin: APP }),
    });
    assert.equal(del.status, 200, del.text);
    assert.equal(del.headers['access-control-allow-origin'], APP);
  });

  it("answers the allowed origin's preflight with MCP's methods and request headers", async () => {
    const r = await send(gw.url, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers':
          'Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, X-Not-Allowed',
      },
    });
    assert.equal(r.status, 204, r.text);
    assert.equal(r.headers['access-control-allow-origin'], APP);
    const methods = String(r.headers['access-control-allow-methods'])
      .split(',')
      .map((m) => m.trim());
    for (const m of ['GET', 'POST', 'DELETE']) assert.ok(methods.includes(m), `${m} allowed: ${methods}`);
    const allowed = String(r.headers['access-control-allow-headers'])
      .split(',')
      .map((h) => h.trim());
    assert.deepEqual(allowed, [
      'authorization',
      'content-type',
      'mcp-session-id',
      'mcp-protocol-version',
      'last-event-id',
    ]);
    assert.ok(Number(r.headers['access-control-max-age']) > 0, 'the preflight may be cached');
    assertSecurityHeaders('preflight', r);
  });

  it("refuses a foreign origin's preflight with 403 and no CORS headers", async () => {
    for (const origin of [EVIL, 'null', 'http://app.example.com']) {
      const r = await send(gw.url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, mcp-session-id',
        },
      });
      assert.equal(r.status, 403, origin);
      for (const name of [
        'access-control-allow-origin',
        'access-control-allow-methods',
        'access-control-allow-headers',
      ])
        assert.equal(r.headers[name], undefined, `${origin}: no ${name}`);
      assertSecurityHeaders(`${origin} preflight`, r);
    }
  });
});

describe('native TLS (listen.tls) with a self-signed certificate', () => {
  let dir: string;
  let files: { cert: string; key: string };
  let cert: Buffer;
  let gw: TestGateway;
  let keys: KeyStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-tls-'));
    files = selfSignedCert(dir);
    cert = readFileSync(files.cert);
    keys = await keyStore(['k'], 'pcl-hardening-');
    gw = await startTestGateway(
      keyedGatewayYaml(keys.db, UPSTREAM, '', { listen: tlsField(files.cert, files.key) }),
    );
  });
  after(async () => {
    await gw?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  /** A raw TLS handshake with the gateway: the protocol agreed, or the handshake's error code. */
  const handshake = (options: { maxVersion: 'TLSv1.1' | 'TLSv1.2'; ciphers?: string }) =>
    new Promise<{ protocol?: string | null; error?: string }>((resolve) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: Number(new URL(gw.url).port),
        servername: 'localhost',
        ca: cert,
        minVersion: 'TLSv1',
        ...options,
      });
      socket.once('secureConnect', () => {
        resolve({ protocol: socket.getProtocol() });
        socket.end();
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });

  it('serves HTTPS, with HSTS on every answer', async () => {
    assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const auth = keys.auth('k');
    const health = await send(gw.url, { path: '/healthz', ca: cert });
    assert.equal(health.status, 200);
    const init = await send(gw.url, {
      method: 'POST',
      body: JSON.stringify(INITIALIZE),
      headers: auth,
      ca: cert,
    });
    assert.equal(init.status, 200, init.text);
    assert.match(init.text, /"protocolVersion":"2025-11-25"/);
    const refused = await send(gw.url, { method: 'POST', body: JSON.stringify(INITIALIZE), ca: cert });
    assert.equal(refused.status, 401);
    const missing = await send(gw.url, { path: '/nowhere', ca: cert });
    assert.equal(missing.status, 404);
    for (const [what, r] of Object.entries({ health, init, refused, missing })) {
      assert.equal(r.headers['strict-transport-security'], HSTS, `${what}: HSTS`);
      assertSecurityHeaders(what, r);
    }
    // The protected-resource metadata names the https:// resource.
    const prm = await send(gw.url, { path: '/.well-known/oauth-protected-resource/mcp', ca: cert });
    assert.equal((JSON.parse(prm.text) as { resource: string }).resource, `${gw.url}/mcp`);
    const del = await send(gw.url, {
      method: 'DELETE',
      headers: sessionHeaders(String(init.headers['mcp-session-id']), auth),
      ca: cert,
    });
    assert.equal(del.status, 200, del.text);
  });

  it('does not answer plain HTTP on the TLS port', async () => {
    const plain = send(gw.url.replace(/^https:/, 'http:'), { path: '/healthz' });
    await assert.rejects(plain, 'a plain-HTTP request gets no HTTP answer');
  });

  it('refuses a TLS 1.1 client at the handshake, and accepts TLS 1.2', async () => {
    // SECLEVEL=0 lets this client really offer TLS 1.1, so the refusal is the gateway's.
    const old = await handshake({ maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    assert.equal(old.protocol, undefined, 'no TLS 1.1 session');
    assert.equal(old.error, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'the server answered protocol_version');
    const tls12 = await handshake({ maxVersion: 'TLSv1.2' });
    assert.equal(tls12.protocol, 'TLSv1.2', tls12.error);
  });

  it('refuses to start when the certificate or key cannot be read, naming the field', async () => {
    const missing = join(dir, 'missing.pem');
    // The store is named, in this test's directory: a gateway that fails to start leaves nothing behind.
    const config = (certPath: string, keyPath: string) =>
      [
        `listen: { host: 127.0.0.1, port: 0${tlsField(certPath, keyPath)} }`,
        `store: { sqlite: ${JSON.stringify(join(dir, 'failed.db'))} }`,
        'auth: { none: true }',
        'upstreams:',
        UPSTREAM,
      ].join('\n');
    await assert.rejects(startTestGateway(config(missing, files.key)), {
      message: `cannot read listen.tls.cert ${missing} (ENOENT) — check the path and its permissions`,
    });
    await assert.rejects(startTestGateway(config(files.cert, missing)), {
      message: `cannot read listen.tls.key ${missing} (ENOENT) — check the path and its permissions`,
    });
  });
});

describe('HSTS behind a TLS-terminating proxy (listen.trustedProxies)', () => {
  let trusting: TestGateway;
  let untrusting: TestGateway;

  before(async () => {
    trusting = await startTestGateway(
      gatewayYaml(UPSTREAM).replace(
        'listen: { host: 127.0.0.1, port: 0 }',
        'listen: { host: 127.0.0.1, port: 0, trustedProxies: [127.0.0.1] }',
      ),
    );
    // Trusts a proxy elsewhere: this test's requests (from 127.0.0.1) are not from it.
    untrusting = await startTestGateway(
      gatewayYaml(UPSTREAM).replace(
        'listen: { host: 127.0.0.1, port: 0 }',
        'listen: { host: 127.0.0.1, port: 0, trustedProxies: [10.0.0.5] }',
      ),
    );
  });
  after(async () => {
    await trusting?.close();
    await untrusting?.close();
  });

  it('is sent when the trusted proxy says the request came over https', async () => {
    for (const path of ['/healthz', '/mcp', '/nowhere']) {
      const r = await send(trusting.url, { path, headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(r.headers['strict-transport-security'], HSTS, `${path} (${r.status})`);
      assertSecurityHeaders(path, r);
    }
    // The proxy's own hop is the last entry of a list.
    const chained = await send(trusting.url, {
      path: '/healthz',
      headers: { 'x-forwarded-proto': 'http, https' },
    });
    assert.equal(chained.headers['strict-transport-security'], HSTS);
  });

  it('is not sent for http, without the header, or from a peer that is not a trusted proxy', async () => {
    const cases: [TestGateway, Record<string, string>][] = [
      [trusting, { 'x-forwarded-proto': 'http' }],
      [trusting, { 'x-forwarded-proto': 'https, http' }],
      [trusting, {}],
      [untrusting, { 'x-forwarded-proto': 'https' }],
    ];
    for (const [gw, headers] of cases) {
      const r = await send(gw.url, { path: '/healthz', headers });
      assert.equal(r.status, 200);
      assert.equal(r.headers['strict-transport-security'], undefined, JSON.stringify(headers));
      assertSecurityHeaders('/healthz', r);
    }
  });
});

describe('the plain-HTTP warning for a listener other machines can reach', () => {
  const WARNING =
    'listening on 0.0.0.0 over plain HTTP: credentials would cross the network in clear — set listen.tls, or listen.trustedProxies for a TLS-terminating proxy';
  let keys: KeyStore;
  let dir: string;
  let tls: { cert: string; key: string };

  before(async () => {
    keys = await keyStore([], 'pcl-hardening-');
    dir = mkdtempSync(join(tmpdir(), 'pcl-tls-'));
    tls = selfSignedCert(dir);
  });
  after(() => {
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts on 0.0.0.0 (port 0), stops at once (no request is sent), and returns the log. */
  const logsOf = async (listenExtra: string): Promise<string[]> => {
    const gw = await startTestGateway(
      keyedGatewayYaml(keys.db, UPSTREAM, 'publicUrl: https://mcp.example.com', {
        host: '0.0.0.0',
        listen: listenExtra,
      }),
    );
    await gw.close();
    return gw.logs;
  };

  it('is logged for 0.0.0.0 over plain HTTP', async () => {
    const warnings = logLines(await logsOf(''), WARNING);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.level, 40);
  });

  it('is not logged with listen.trustedProxies, with listen.tls, or on loopback', async () => {
    const plainWarnings = (logs: string[]) => logs.filter((line) => line.includes('over plain HTTP'));
    assert.deepEqual(plainWarnings(await logsOf(', trustedProxies: [10.0.0.5]')), []);
    assert.deepEqual(plainWarnings(await logsOf(tlsField(tls.cert, tls.key))), []);
    const loopback = await startTestGateway(gatewayYaml(UPSTREAM));
    await loopback.close();
    assert.ok(logLines(loopback.logs, 'portcullis started').length === 1);
    assert.deepEqual(plainWarnings(loopback.logs), []);
  });
});
