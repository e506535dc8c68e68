/**
 * The front door against hostile or malformed traffic: one real gateway in front of the "everything"
 * server over stdio, driven with raw HTTP. Every bad input must be refused with its own status, the
 * JSON-RPC error code, our stable `error.data.error` code and a message that names the fix — and
 * must never reach the upstream (no upstream process started, no session opened, no request relayed).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { ErrorCode } from '../../src/core/errors.js';
import { INITIALIZE, post } from '../helpers/client.js';
import {
  childPids,
  EVERYTHING,
  eventually,
  gatewayYaml,
  NODE,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';

const MAX_BODY = 4096;
const MAX_DEPTH = 8;
const MAX_BATCH = 3;
const LIMITS = `limits: { maxBody: 4kb, maxJsonDepth: ${MAX_DEPTH}, maxBatch: ${MAX_BATCH} }\n`;

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const UPSTREAM_UNAVAILABLE = -32002;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
/** A V8 stack frame ("    at fn (file.js:1:2)") or an internal module path. */
const STACK_TRACE = /\n\s*at\s|\bat\s+\S+\s+\(|node:internal|\.(?:ts|js):\d+:\d+/;

interface RpcError {
  code: number;
  message: string;
  data?: { error?: string; requestId?: string } & Record<string, unknown>;
}
interface RpcBody {
  jsonrpc: string;
  id: unknown;
  result?: Record<string, unknown>;
  error?: RpcError;
}

interface Reply {
  readonly status: number;
  header(name: string): string | undefined;
  readonly text: string;
}

interface SendOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Send the body with Transfer-Encoding: chunked and no Content-Length, in pieces of this size. */
  readonly chunkSize?: number;
}

const POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** Raw HTTP over node:http, which (unlike fetch) lets a test set Host and choose the framing. */
function send(port: number, options: SendOptions): Promise<Reply> {
  const method = options.method ?? 'POST';
  const headers: Record<string, string> = {
    ...(method === 'POST' ? POST_HEADERS : {}),
    ...options.headers,
  };
  const body = options.body;
  if (body !== undefined) {
    if (options.chunkSize === undefined) headers['content-length'] = String(Buffer.byteLength(body));
    else headers['transfer-encoding'] = 'chunked';
  }
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path: options.path ?? '/mcp', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            header: (name) => {
              const value = res.headers[name.toLowerCase()];
              return Array.isArray(value) ? value.join(', ') : value;
            },
            text,
          });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined && options.chunkSize !== undefined) {
      for (let i = 0; i < body.length; i += options.chunkSize)
        req.write(body.slice(i, i + options.chunkSize));
    } else if (body !== undefined) {
      req.write(body);
    }
    req.end();
  });
}

function fromFetch(res: { status: number; headers: Headers; text: string }): Reply {
  return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, text: res.text };
}

/** The headers every response must carry, whatever its status. */
function assertCommonHeaders(reply: Reply): void {
  assert.equal(reply.header('x-content-type-options'), 'nosniff');
  const cacheControl = (reply.header('cache-control') ?? '').split(',').map((d) => d.trim());
  assert.ok(
    cacheControl.includes('no-store'),
    `cache-control has no-store: ${reply.header('cache-control')}`,
  );
  assert.match(reply.header('x-request-id') ?? '', UUID);
}

/** Asserts a refusal down to the stable code, and returns its body. */
function assertRefused(
  reply: Reply,
  status: number,
  code: ErrorCode,
  rpcCode: number,
  message: RegExp,
): RpcBody {
  assert.equal(reply.status, status, `expected ${status} ${code}, got ${reply.status}: ${reply.text}`);
  assert.match(reply.header('content-type') ?? '', /^application\/json/);
  assertCommonHeaders(reply);
  const body = JSON.parse(reply.text) as RpcBody;
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.result, undefined);
  assert.equal(body.error?.code, rpcCode, reply.text);
  assert.equal(body.error?.data?.error, code, reply.text);
  assert.equal(body.error?.data?.requestId, reply.header('x-request-id'), 'the body quotes the request id');
  assert.match(body.error?.message ?? '', message);
  assert.doesNotMatch(reply.text, STACK_TRACE, 'no stack trace in an error body');
  return body;
}

/** The JSON-RPC messages of an SSE response body. */
function sseMessages(reply: Reply): RpcBody[] {
  assert.match(reply.header('content-type') ?? '', /^text\/event-stream/, reply.text);
  return reply.text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => JSON.parse(line.slice('data:'.length)) as RpcBody);
}

/**
 * The responses in an SSE body. Unsolicited upstream notifications (e.g. list_changed) may share
 * a POST stream when no GET stream is open, so they are left out.
 */
function sseResponses(reply: Reply): RpcBody[] {
  return sseMessages(reply).filter((m) => 'id' in m);
}

/** `{"a":{"a":…{}}}` nesting exactly `depth` levels. */
function nested(depth: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

/** `json` padded with trailing whitespace (valid JSON) to exactly `bytes` bytes. */
function padTo(json: string, bytes: number): string {
  assert.ok(json.length <= bytes);
  return json + ' '.repeat(bytes - json.length);
}

const PING = { jsonrpc: '2.0', id: 1, method: 'ping' };
const initializeAt = (protocolVersion: string) => ({
  ...INITIALIZE,
  params: { ...INITIALIZE.params, protocolVersion },
});

describe('front door: every bad input is refused clearly and never reaches the upstream', () => {
  let gw: TestGateway;
  let url: string;
  let port: number;
  const openSessions = new Set<string>();

  const readyz = async (): Promise<{ sessions: number }> =>
    (await fetch(`${gw.url}/readyz`)).json() as Promise<{ sessions: number }>;

  /** Runs `action` and proves that it started no upstream process and opened no session. */
  async function untouched<T>(action: () => Promise<T>): Promise<T> {
    const processes = childPids(gw.logs).length;
    const { sessions } = await readyz();
    const result = await action();
    assert.equal(childPids(gw.logs).length, processes, 'no upstream process was started');
    assert.equal((await readyz()).sessions, sessions, 'no session was opened');
    return result;
  }

  const sessionHeaders = (id: string, version = '2025-11-25') => ({
    'mcp-session-id': id,
    'mcp-protocol-version': version,
  });

  /** A raw initialize + initialized; returns the session id. */
  async function openSession(version = '2025-11-25'): Promise<string> {
    const processes = childPids(gw.logs).length;
    const reply = await send(port, { body: JSON.stringify(initializeAt(version)) });
    assert.equal(reply.status, 200, reply.text);
    // The probe `untouched` relies on: an accepted initialize does start an upstream process.
    assert.equal(childPids(gw.logs).length, processes + 1, 'an accepted initialize starts the upstream');
    const id = reply.header('mcp-session-id') ?? '';
    assert.match(id, SESSION_ID);
    openSessions.add(id);
    const [answer] = sseResponses(reply);
    assert.equal(answer?.result?.protocolVersion, version, 'the upstream agreed to the requested revision');
    const initialized = await post(
      url,
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      sessionHeaders(id, version),
    );
    assert.equal(initialized.status, 202, initialized.text);
    assertCommonHeaders(fromFetch(initialized));
    return id;
  }

  async function closeSession(id: string): Promise<void> {
    const res = await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': id } });
    const reply = fromFetch({ status: res.status, headers: res.headers, text: await res.text() });
    assert.equal(reply.status, 200, reply.text);
    assertCommonHeaders(reply);
    openSessions.delete(id);
  }

  before(async () => {
    gw = await startTestGateway(gatewayYaml(stdioUpstream('everything', EVERYTHING, ['stdio']), LIMITS));
    url = `${gw.url}/mcp`;
    port = Number(new URL(gw.url).port);
  });
  after(async () => {
    for (const id of openSessions) await closeSession(id).catch(() => {});
    await gw.close();
  });

  describe('DNS rebinding: Origin and Host', () => {
    it('refuses a foreign Origin with 403 origin_not_allowed', async () => {
      const reply = await untouched(() =>
        send(port, { body: JSON.stringify(INITIALIZE), headers: { origin: 'http://evil.example' } }),
      );
      assertRefused(
        reply,
        403,
        'origin_not_allowed',
        INVALID_REQUEST,
        /origin "http:\/\/evil\.example" are not allowed .*listen\.allowedOrigins/,
      );
    });

    it('refuses Origin: null (sandboxed frames, file://) with 403 origin_not_allowed', async () => {
      const reply = await untouched(() =>
        send(port, { body: JSON.stringify(INITIALIZE), headers: { origin: 'null' } }),
      );
      assertRefused(reply, 403, 'origin_not_allowed', INVALID_REQUEST, /origin "null" are not allowed/);
    });

    it('refuses an origin that differs from the gateway by port or scheme, or by a name other than loopback', async () => {
      for (const origin of [
        `http://localhost:${port + 1}`,
        `http://127.0.0.2:${port}`,
        `http://127.0.0.1:${port + 1}`,
        `https://127.0.0.1:${port}`,
      ]) {
        const reply = await untouched(() => send(port, { body: JSON.stringify(PING), headers: { origin } }));
        assertRefused(reply, 403, 'origin_not_allowed', INVALID_REQUEST, /are not allowed/);
      }
    });

    it("accepts the gateway's own origin, and its loopback aliases at its port", async () => {
      for (const origin of [gw.url, `http://localhost:${port}`, `http://[::1]:${port}`]) {
        const reply = await send(port, {
          body: JSON.stringify(initializeAt('2025-11-25')),
          headers: { origin, host: new URL(origin).host },
        });
        assert.equal(reply.status, 200, `${origin}: ${reply.text}`);
        const id = reply.header('mcp-session-id') ?? '';
        openSessions.add(id);
        assert.equal(sseResponses(reply)[0]?.result?.protocolVersion, '2025-11-25');
        await closeSession(id);
      }
    });

    it('refuses a Host header that is not the gateway (DNS rebinding) with 403 host_not_allowed', async () => {
      for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`]) {
        const reply = await untouched(() =>
          send(port, { body: JSON.stringify(INITIALIZE), headers: { host } }),
        );
        const body = assertRefused(
          reply,
          403,
          'host_not_allowed',
          INVALID_REQUEST,
          /is not served here .*listen\.allowedHosts/,
        );
        assert.ok(body.error?.message.includes(JSON.stringify(host)), 'the message names the refused Host');
      }
    });

    it('accepts the loopback names with any port on a loopback listener', async () => {
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST.']) {
        const reply = await send(port, { body: JSON.stringify(PING), headers: { host } });
        // Past the Host check, the next refusal is the missing session.
        assertRefused(reply, 400, 'session_required', INVALID_REQUEST, /Mcp-Session-Id header is required/);
      }
    });
  });

  describe('body size (limits.maxBody = 4kb)', () => {
    const under = padTo(JSON.stringify(PING), MAX_BODY - 1);
    const exact = padTo(JSON.stringify(PING), MAX_BODY);
    const over = padTo(JSON.stringify(INITIALIZE), MAX_BODY + 1);

    for (const [framing, chunkSize] of [
      ['Content-Length', undefined],
      ['chunked transfer', 1000],
    ] as const) {
      it(`accepts a body one byte under and exactly at the limit (${framing})`, async () => {
        for (const body of [under, exact]) {
          const reply = await send(port, { body, chunkSize });
          // Read and parsed: the refusal is the missing session, not the size.
          const refused = assertRefused(reply, 400, 'session_required', INVALID_REQUEST, /Mcp-Session-Id/);
          assert.equal(refused.id, 1, 'the parsed request id is echoed');
        }
      });

      it(`refuses a body one byte over the limit with 413 body_too_large (${framing})`, async () => {
        const reply = await untouched(() => send(port, { body: over, chunkSize }));
        assertRefused(
          reply,
          413,
          'body_too_large',
          INVALID_REQUEST,
          /larger than the 4096-byte limit \(limits\.maxBody\)/,
        );
        assert.equal(reply.header('connection'), 'close', 'the rest of an oversized body is never read');
      });
    }
  });

  describe('JSON and JSON-RPC validation', () => {
    it('refuses malformed JSON with 400 and JSON-RPC -32700', async () => {
      const reply = await untouched(() => send(port, { body: '{"jsonrpc":"2.0","id":1,"method":' }));
      const body = assertRefused(reply, 400, 'parse_error', PARSE_ERROR, /the body is not valid JSON/);
      assert.equal(body.id, null, 'an unparsed request has no id to echo');
    });

    const notJsonRpc: ReadonlyArray<[string, unknown, RegExp]> = [
      ['jsonrpc missing', { ...INITIALIZE, jsonrpc: undefined }, /must have "jsonrpc": "2\.0"/],
      ['jsonrpc "1.0"', { ...INITIALIZE, jsonrpc: '1.0' }, /must have "jsonrpc": "2\.0"/],
      ['id null', { ...INITIALIZE, id: null }, /"id" that is not a string or an integer/],
      ['id 1.5', { ...INITIALIZE, id: 1.5 }, /"id" that is not a string or an integer/],
      ['id an object', { ...INITIALIZE, id: { n: 1 } }, /"id" that is not a string or an integer/],
      ['params an array', { ...INITIALIZE, params: [] }, /"params" that is not an object/],
      ['method empty', { ...INITIALIZE, method: '' }, /"method" that is not a non-empty string/],
      ['method and result mixed', { ...INITIALIZE, result: {} }, /mixes "method" with "result" or "error"/],
      ['a bare number', 42, /is not a JSON object/],
      ['an empty batch', [], /the batch is empty/],
      [
        'a response with neither result nor error',
        { jsonrpc: '2.0', id: 1 },
        /exactly one of "result" and "error"/,
      ],
    ];
    for (const [what, value, message] of notJsonRpc) {
      it(`refuses valid JSON that is not JSON-RPC (${what}) with 400 -32600 invalid_request`, async () => {
        const reply = await untouched(() => send(port, { body: JSON.stringify(value) }));
        assertRefused(reply, 400, 'invalid_request', INVALID_REQUEST, message);
      });
    }

    it('names the offending message of a batch', async () => {
      const reply = await untouched(() =>
        send(port, { body: JSON.stringify([PING, { jsonrpc: '2.0', id: 2, method: 'ping', params: [1] }]) }),
      );
      assertRefused(reply, 400, 'invalid_request', INVALID_REQUEST, /^message 1 of the batch has "params"/);
    });

    it('accepts nesting exactly at maxJsonDepth', async () => {
      const body = JSON.stringify({ ...PING, params: nested(MAX_DEPTH - 1) });
      const reply = await send(port, { body });
      assertRefused(reply, 400, 'session_required', INVALID_REQUEST, /Mcp-Session-Id/);
    });

    it('refuses nesting one level deeper than maxJsonDepth with 400 json_too_deep', async () => {
      const deep = { ...INITIALIZE, params: { ...INITIALIZE.params, x: nested(MAX_DEPTH - 1) } };
      const reply = await untouched(() => send(port, { body: JSON.stringify(deep) }));
      assertRefused(reply, 400, 'json_too_deep', INVALID_REQUEST, /nests deeper than 8 levels/);
    });

    it('counts arrays as nesting too', async () => {
      const reply = await untouched(() => send(port, { body: '[[[[[[[[[1]]]]]]]]]' }));
      assertRefused(reply, 400, 'json_too_deep', INVALID_REQUEST, /nests deeper than 8 levels/);
    });
  });

  describe('batches (limits.maxBatch = 3)', () => {
    it('refuses a batch longer than maxBatch with 400 batch_too_large', async () => {
      const batch = [1, 2, 3, 4].map((id) => ({ ...PING, id }));
      const reply = await untouched(() => send(port, { body: JSON.stringify(batch) }));
      assertRefused(reply, 400, 'batch_too_large', INVALID_REQUEST, /the batch has 4 messages; at most 3/);
    });

    it('refuses initialize inside a batch', async () => {
      const reply = await untouched(() =>
        send(port, { body: JSON.stringify([{ ...PING, id: 9 }, INITIALIZE]) }),
      );
      assertRefused(reply, 400, 'invalid_request', INVALID_REQUEST, /initialize must be sent alone/);
    });

    it('refuses a batch on a session negotiated at 2025-11-25 with 400 batch_not_supported, relaying none of it', async () => {
      const id = await openSession('2025-11-25');
      try {
        const slow = {
          jsonrpc: '2.0',
          id: 'b1',
          method: 'tools/call',
          params: { name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 2 } },
        };
        for (const batch of [[slow, { ...PING, id: 'b2' }], [{ ...PING, id: 'b3' }]]) {
          const reply = await untouched(() =>
            send(port, { body: JSON.stringify(batch), headers: sessionHeaders(id) }),
          );
          assertRefused(
            reply,
            400,
            'batch_not_supported',
            INVALID_REQUEST,
            /batches are not allowed in protocol 2025-11-25 — send one message per POST/,
          );
        }
        // Had the slow call been relayed, id "b1" would now be in flight and this would be a duplicate.
        const ping = await send(port, {
          body: JSON.stringify({ ...PING, id: 'b1' }),
          headers: sessionHeaders(id),
        });
        assert.equal(ping.status, 200, ping.text);
        assert.deepEqual(sseResponses(ping), [{ jsonrpc: '2.0', id: 'b1', result: {} }]);
      } finally {
        await closeSession(id);
      }
    });

    it('relays a batch of exactly maxBatch on a session negotiated at 2025-03-26', async () => {
      const id = await openSession('2025-03-26');
      try {
        const batch = [1, 2, 3].map((n) => ({ ...PING, id: n }));
        const reply = await send(port, {
          body: JSON.stringify(batch),
          headers: sessionHeaders(id, '2025-03-26'),
        });
        assert.equal(reply.status, 200, reply.text);
        assertCommonHeaders(reply);
        const answers = sseResponses(reply).sort((a, b) => Number(a.id) - Number(b.id));
        assert.deepEqual(
          answers,
          batch.map((p) => ({ jsonrpc: '2.0', id: p.id, result: {} })),
        );
      } finally {
        await closeSession(id);
      }
    });

    it('refuses a batch that repeats a request id as a whole, relaying none of it', async () => {
      // Relaying the first and refusing the second would leave the client with only an error for
      // id 1 while the upstream runs the call anyway: the batch must be refused before anything runs.
      const id = await openSession('2025-03-26');
      try {
        const slow = {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 2 } },
        };
        const reply = await send(port, {
          body: JSON.stringify([slow, { ...PING, id: 1 }]),
          headers: sessionHeaders(id, '2025-03-26'),
        });
        assertRefused(reply, 400, 'duplicate_request_id', INVALID_REQUEST, /request id 1 /);
        // Had the slow call been relayed, id 1 would still be in flight and this would be a duplicate.
        const ping = await send(port, {
          body: JSON.stringify({ ...PING, id: 1 }),
          headers: sessionHeaders(id, '2025-03-26'),
        });
        assert.deepEqual(sseResponses(ping), [{ jsonrpc: '2.0', id: 1, result: {} }]);
      } finally {
        await closeSession(id);
      }
    });
  });

  describe('sessions and protocol version', () => {
    it('refuses a non-initialize POST without Mcp-Session-Id with 400 session_required', async () => {
      const reply = await send(port, { body: JSON.stringify({ ...PING, id: 'p-1' }) });
      const body = assertRefused(
        reply,
        400,
        'session_required',
        INVALID_REQUEST,
        /Mcp-Session-Id header is required — send initialize first/,
      );
      assert.equal(body.id, 'p-1', 'the refusal answers the request by its id');
    });

    it('refuses an unknown session id with 404 session_not_found', async () => {
      const unknown = 'A'.repeat(43);
      const reply = await send(port, { body: JSON.stringify(PING), headers: sessionHeaders(unknown) });
      assertRefused(
        reply,
        404,
        'session_not_found',
        INVALID_REQUEST,
        /session not found or ended — send initialize/,
      );
    });

    it('refuses initialize that carries an Mcp-Session-Id', async () => {
      const reply = await untouched(() =>
        send(port, { body: JSON.stringify(INITIALIZE), headers: { 'mcp-session-id': 'A'.repeat(43) } }),
      );
      assertRefused(reply, 400, 'invalid_request', INVALID_REQUEST, /initialize opens a new session/);
    });

    it('refuses MCP-Protocol-Version: 1999-01-01 with 400 unsupported_protocol_version', async () => {
      const reply = await untouched(() =>
        send(port, { body: JSON.stringify(INITIALIZE), headers: { 'mcp-protocol-version': '1999-01-01' } }),
      );
      assertRefused(
        reply,
        400,
        'unsupported_protocol_version',
        INVALID_REQUEST,
        /MCP-Protocol-Version "1999-01-01" is not supported — this gateway speaks 2025-11-25/,
      );
    });

    it('answers a raw initialize over SSE with a 43-character base64url session id, new per session', async () => {
      const replies = await Promise.all([1, 2].map(() => send(port, { body: JSON.stringify(INITIALIZE) })));
      const ids = replies.map((reply) => {
        assert.equal(reply.status, 200, reply.text);
        assertCommonHeaders(reply);
        const id = reply.header('mcp-session-id') ?? '';
        openSessions.add(id);
        assert.match(id, SESSION_ID);
        const [answer, ...rest] = sseResponses(reply);
        assert.equal(rest.length, 0);
        assert.equal(answer?.id, 1);
        assert.equal(answer?.result?.protocolVersion, '2025-11-25');
        assert.equal(
          (answer?.result?.serverInfo as { name?: string } | undefined)?.name,
          'mcp-servers/everything',
        );
        return id;
      });
      assert.notEqual(ids[0], ids[1], 'two sessions get different ids');
      for (const id of ids) await closeSession(id);
    });

    it('refuses a second concurrent GET stream on one session with 409 stream_conflict', async () => {
      const id = await openSession();
      const get = () => fetch(url, { headers: { accept: 'text/event-stream', ...sessionHeaders(id) } });
      const first = await get();
      try {
        assert.equal(first.status, 200);
        assertCommonHeaders(fromFetch({ status: first.status, headers: first.headers, text: '' }));
        assert.match(first.headers.get('content-type') ?? '', /^text\/event-stream/);
        const second = await get();
        assertRefused(
          fromFetch({ status: second.status, headers: second.headers, text: await second.text() }),
          409,
          'stream_conflict',
          INVALID_REQUEST,
          /already has an open GET stream/,
        );
      } finally {
        await first.body?.cancel();
      }
      // Once the first stream is gone, a new one is allowed.
      assert.ok(
        await eventually(async () => {
          const again = await get();
          await again.body?.cancel();
          return again.status === 200;
        }),
        'a GET stream may be reopened after the first closes',
      );
      await closeSession(id);
    });

    it('answers a duplicate in-flight request id with duplicate_request_id, and lets the first finish', async () => {
      const id = await openSession();
      try {
        const call = {
          jsonrpc: '2.0',
          id: 42,
          method: 'tools/call',
          params: { name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 2 } },
        };
        const first = send(port, { body: JSON.stringify(call), headers: sessionHeaders(id) });
        await new Promise((r) => setTimeout(r, 300));
        const second = await send(port, { body: JSON.stringify(call), headers: sessionHeaders(id) });
        assert.equal(second.status, 200, second.text);
        assertCommonHeaders(second);
        const [error, ...rest] = sseResponses(second);
        assert.equal(rest.length, 0);
        assert.equal(error?.id, 42);
        assert.equal(error?.error?.code, INVALID_REQUEST);
        assert.equal(error?.error?.data?.error, 'duplicate_request_id');
        assert.equal(error?.error?.data?.requestId, second.header('x-request-id'));
        assert.match(error?.error?.message ?? '', /request id 42 is already in flight in this session/);

        // The string "42" is a different id from the number 42.
        const stringId = await send(port, {
          body: JSON.stringify({ ...PING, id: '42' }),
          headers: sessionHeaders(id),
        });
        assert.deepEqual(sseResponses(stringId), [{ jsonrpc: '2.0', id: '42', result: {} }]);

        const done = await first;
        assert.equal(done.status, 200, done.text);
        const [result] = sseResponses(done);
        assert.equal(result?.id, 42);
        assert.match(JSON.stringify(result?.result), /Long running operation completed/);
      } finally {
        await closeSession(id);
      }
    });
  });

  describe('HTTP method, media types and paths', () => {
    it('refuses a wrong Content-Type with 415 unsupported_media_type', async () => {
      const reply = await untouched(() =>
        send(port, { body: JSON.stringify(INITIALIZE), headers: { 'content-type': 'text/plain' } }),
      );
      assertRefused(
        reply,
        415,
        'unsupported_media_type',
        INVALID_REQUEST,
        /POST bodies must be Content-Type: application\/json/,
      );
    });

    it('refuses a POST whose Accept lacks text/event-stream with 406 not_acceptable', async () => {
      const reply = await untouched(() =>
        send(port, { body: JSON.stringify(INITIALIZE), headers: { accept: 'application/json' } }),
      );
      assertRefused(
        reply,
        406,
        'not_acceptable',
        INVALID_REQUEST,
        /POST must send Accept: application\/json, text\/event-stream/,
      );
    });

    it('refuses PUT with 405 and an Allow header', async () => {
      const reply = await untouched(() =>
        send(port, { method: 'PUT', body: JSON.stringify(INITIALIZE), headers: POST_HEADERS }),
      );
      assertRefused(
        reply,
        405,
        'method_not_allowed',
        INVALID_REQUEST,
        /PUT is not allowed here — use POST, GET or DELETE/,
      );
      assert.equal(reply.header('allow'), 'GET, POST, DELETE');
    });

    it('answers an unknown path with 404 naming the endpoint to use', async () => {
      const reply = await untouched(() => send(port, { path: '/nope', body: JSON.stringify(INITIALIZE) }));
      assertRefused(
        reply,
        404,
        'not_found',
        INVALID_REQUEST,
        /no MCP endpoint at \/nope — try \/mcp, \/servers\/everything\/mcp/,
      );
      const other = await send(port, { path: '/servers/other/mcp', body: JSON.stringify(PING) });
      assertRefused(other, 404, 'not_found', INVALID_REQUEST, /no MCP endpoint at \/servers\/other\/mcp/);
      // The endpoint the message names is real.
      const named = await send(port, { path: '/servers/everything/mcp', body: JSON.stringify(PING) });
      assertRefused(named, 400, 'session_required', INVALID_REQUEST, /Mcp-Session-Id/);
    });
  });

  describe('health endpoints', () => {
    for (const [path, status] of [
      ['/healthz', 'ok'],
      ['/readyz', 'ready'],
    ] as const) {
      it(`${path} answers 200 without revealing the upstream command or args`, async () => {
        const reply = await send(port, { method: 'GET', path });
        assert.equal(reply.status, 200);
        assertCommonHeaders(reply);
        assert.match(reply.header('content-type') ?? '', /^application\/json/);
        assert.equal((JSON.parse(reply.text) as { status: string }).status, status);
        for (const secretish of [NODE, EVERYTHING, 'server-everything', 'index.js', 'node_modules']) {
          assert.ok(!reply.text.includes(secretish), `${path} does not reveal ${secretish}: ${reply.text}`);
        }
      });
    }
  });
});

describe('front door: 5xx answers', () => {
  let gw: TestGateway;
  const MISSING = '/nonexistent/portcullis-test-upstream';

  before(async () => {
    gw = await startTestGateway(
      gatewayYaml(`  broken:\n    command: ${JSON.stringify(MISSING)}\n    args: ["--token", "abc123"]\n`),
    );
  });
  after(async () => {
    await gw.close();
  });

  it('an upstream that cannot start gives 502 upstream_unavailable with no stack trace', async () => {
    const res = await post(`${gw.url}/mcp`, INITIALIZE);
    const reply = fromFetch(res);
    assertRefused(
      reply,
      502,
      'upstream_unavailable',
      UPSTREAM_UNAVAILABLE,
      /^upstream 'broken' could not be reached/,
    );
    assert.equal(reply.header('mcp-session-id'), undefined, 'no session for a failed initialize');
    assert.ok(!reply.text.includes('abc123'), 'the upstream args are not revealed');
  });

  it('a 2026-07-28 call its upstream cannot serve still leaves a decision in the audit trail', async () => {
    const body = {
      jsonrpc: '2.0',
      id: 4,
      method: 'tools/call',
      params: {
        name: 'echo',
        arguments: { message: 'hi' },
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    };
    const res = await post(`${gw.url}/mcp`, body, {
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    });
    assert.equal(res.status, 502, res.text);
    const requestId = res.headers.get('x-request-id');
    const decision = gw.logs
      .map((l) => (JSON.parse(l) as { audit?: Record<string, unknown> }).audit)
      .find((a) => a?.type === 'policy.decision' && a.requestId === requestId);
    assert.ok(decision, 'the failed call is in the trail');
    assert.equal(decision.outcome, 'denied');
    assert.equal(decision.code, 'upstream_unavailable');
    assert.equal(decision.upstreamStatus, 'unavailable');
    assert.deepEqual(decision.target, { kind: 'tool', name: 'echo' });
    assert.match(String(decision.rule), /^not relayed: upstream 'broken'/);
  });

  it('/readyz answers 503 not_ready naming the unreachable upstream, but not its command', async () => {
    const res = await fetch(`${gw.url}/readyz`);
    assert.equal(res.status, 503);
    const text = await res.text();
    const body = JSON.parse(text) as { status: string; store: string; upstreams: Record<string, unknown> };
    assert.equal(body.status, 'not_ready');
    assert.equal(body.store, 'ok');
    assert.deepEqual(body.upstreams, { broken: { transport: 'stdio', state: 'unreachable' } });
    assert.ok(!text.includes(MISSING) && !text.includes('abc123'));
  });
});
