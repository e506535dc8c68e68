/**
 * Abuse limits end to end, each proven to trigger AND to release, against real gateways in front
 * of server-everything over stdio, with tiny limits and one-second windows:
 * - rate limits per client IP (before authentication), per principal across IPs, per tool;
 * - requests in flight per principal and per upstream (queue, then 429 concurrency_limit);
 * - body size, JSON depth, batch size; sessions per principal and in all; streams per session;
 * - a request body that trickles in slower than limits.bodyTimeout (slowloris).
 * Several client IPs are simulated with listen.trustedProxies: [127.0.0.1] and X-Forwarded-For.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { INITIALIZE } from '../helpers/client.js';
import {
  childPids,
  EVERYTHING,
  gatewayYaml,
  isAlive,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';
import {
  assertPassedLimits,
  assertRateLimited,
  assertResult,
  call,
  endSession,
  ipBudget,
  type KeyStore,
  keyedGatewayYaml,
  keyStore,
  LIMITED,
  ping,
  principalBudget,
  type RawExchange,
  type Reply,
  rawExchange,
  readyz,
  sessionHeaders,
  sleep,
  TOOLS_LIST,
  toolBudget,
  toolCall,
} from '../helpers/limits.js';
import { openRawSession, type RpcMessage } from '../helpers/policy.js';

const UPSTREAM = stdioUpstream('everything', EVERYTHING, ['stdio']);

function assertConcurrencyLimited(r: Reply, which: string): void {
  assert.equal(r.status, 429, r.text);
  assert.equal(r.error?.code, LIMITED, r.text);
  assert.equal(r.error?.data?.error, 'concurrency_limit', r.text);
  assert.equal(r.error?.data?.retryAfter, 1, r.text);
  assert.equal(r.headers.get('retry-after'), '1');
  assert.equal(
    r.error?.message,
    `too many requests in flight ${which} — retry when one has finished`,
    r.text,
  );
}

/** A gateway with API keys in `db`, trusting X-Forwarded-For from 127.0.0.1, with `limits`. */
const apiKeyYaml = (db: string, limits: string) =>
  keyedGatewayYaml(db, UPSTREAM, limits, { listen: ', trustedProxies: [127.0.0.1]' });

const longOp = (id: number, duration: number) =>
  toolCall(id, 'trigger-long-running-operation', { duration, steps: 1 });

describe('rate limits (perIp 5/s, perPrincipal 8/s, tools.everything.echo 2/s)', () => {
  let gw: TestGateway;
  let keys: KeyStore;
  let url: string;
  const from = (ip: string, name?: string) => keys.from(ip, name);

  before(async () => {
    keys = await keyStore(['a', 'b', 'c', 'd', 'e', 'p', 'q', 't1', 't2']);
    gw = await startTestGateway(
      apiKeyYaml(keys.db, 'limits: { perIp: 5/s, perPrincipal: 8/s, tools: { everything.echo: 2/s } }'),
    );
    url = `${gw.url}/mcp`;
  });
  after(async () => {
    await gw?.close();
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  it('per IP: counts every MCP request before authentication; new sessions and new keys do not bypass it; releases after the window', async () => {
    const ip = '10.1.0.1';
    // Two sessions of two principals from the same IP (4 requests), then a fresh window.
    const sa = await openRawSession(url, from(ip, 'a'));
    const sb = await openRawSession(url, from(ip, 'b'));
    await sleep(1100);

    // Five requests of every kind are allowed …
    assertResult(await call(url, ping(1), sessionHeaders(sa, from(ip, 'a'))), 1);
    assertResult(await call(url, ping(2), sessionHeaders(sb, from(ip, 'b'))), 2);
    assertPassedLimits(await call(url, TOOLS_LIST, from(ip, 'c')));
    const anonymous = await call(url, TOOLS_LIST, from(ip));
    assert.equal(anonymous.status, 401, anonymous.text);
    assertPassedLimits(await call(url, TOOLS_LIST, from(ip, 'd')));

    // … and then nothing from that IP: not an existing session, not a new key, not a new session.
    const pids = childPids(gw.logs).length;
    const budget = ipBudget(5, 1);
    const onSession = await call(url, ping(3), sessionHeaders(sa, from(ip, 'a')));
    const retryAfter = assertRateLimited(onSession, { ...budget, id: null });
    assertRateLimited(await call(url, TOOLS_LIST, from(ip, 'e')), budget);
    assertRateLimited(await call(url, INITIALIZE, from(ip, 'e')), budget);
    // Before authentication: a request without a credential gets 429, not 401.
    assertRateLimited(await call(url, TOOLS_LIST, from(ip)), budget);
    // GET and DELETE are MCP requests too.
    const get = await fetch(url, {
      headers: { accept: 'text/event-stream', ...sessionHeaders(sb, from(ip, 'b')) },
    });
    assert.equal(get.status, 429, await get.text());
    const del = await fetch(url, { method: 'DELETE', headers: sessionHeaders(sb, from(ip, 'b')) });
    assert.equal(del.status, 429, await del.text());
    assert.equal(childPids(gw.logs).length, pids, 'no upstream process was started for a refused initialize');

    // A spoofed left-most X-Forwarded-For entry does not buy a new budget: the right-most untrusted one counts.
    assertRateLimited(await call(url, TOOLS_LIST, from(`203.0.113.9, ${ip}`, 'e')), budget);
    // Another client IP has its own budget.
    assertPassedLimits(await call(url, TOOLS_LIST, from('10.1.0.2', 'e')));
    assertResult(await call(url, ping(4), sessionHeaders(sa, from('10.1.0.2', 'a'))), 4);

    // Release: after Retry-After the same IP is served again, a new session included.
    await sleep(retryAfter * 1000 + 100);
    assertResult(await call(url, ping(5), sessionHeaders(sa, from(ip, 'a'))), 5);
    const init = await call(url, INITIALIZE, from(ip, 'e'));
    assert.equal(init.status, 200, init.text);
    assert.ok(init.headers.get('mcp-session-id'));
  });

  it('per principal: one API key is limited across client IPs, other keys are not', async () => {
    const budget = principalBudget(8, 1);
    for (const ip of ['10.2.0.1', '10.2.0.2', '10.2.0.3', '10.2.0.4']) {
      assertPassedLimits(await call(url, TOOLS_LIST, from(ip, 'p')));
      assertPassedLimits(await call(url, TOOLS_LIST, from(ip, 'p')));
    }
    // The ninth request of key p, from an address that has not been used at all.
    const refused = await call(url, TOOLS_LIST, from('10.2.0.5', 'p'));
    const retryAfter = assertRateLimited(refused, { ...budget, id: TOOLS_LIST.id });
    assertRateLimited(await call(url, { ...TOOLS_LIST, id: 'x' }, from('10.2.0.6', 'p')), {
      ...budget,
      id: 'x',
    });
    // Another principal from the same addresses is served.
    assertPassedLimits(await call(url, TOOLS_LIST, from('10.2.0.5', 'q')));
    assertPassedLimits(await call(url, TOOLS_LIST, from('10.2.0.1', 'q')));

    await sleep(retryAfter * 1000 + 100);
    assertPassedLimits(await call(url, TOOLS_LIST, from('10.2.0.7', 'p')));
  });

  it('per tool: only everything.echo is limited, per principal', async () => {
    const s1 = await openRawSession(url, from('10.3.0.1', 't1'));
    const s2 = await openRawSession(url, from('10.3.0.2', 't2'));
    await sleep(1100);
    const h1 = sessionHeaders(s1, from('10.3.0.1', 't1'));
    const h2 = sessionHeaders(s2, from('10.3.0.2', 't2'));
    const echo = (id: number) => toolCall(id, 'echo', { message: `m${id}` });

    assert.deepEqual(assertResult(await call(url, echo(1), h1), 1).content, [
      { type: 'text', text: 'Echo: m1' },
    ]);
    assertResult(await call(url, echo(2), h1), 2);
    const refused = await call(url, echo(3), h1);
    const retryAfter = assertRateLimited(refused, { ...toolBudget('everything.echo', 2, 1), id: 3 });
    // Another tool of the same principal, and the same tool for another principal, are served.
    assert.deepEqual(assertResult(await call(url, toolCall(4, 'get-sum', { a: 2, b: 3 }), h1), 4).content, [
      { type: 'text', text: 'The sum of 2 and 3 is 5.' },
    ]);
    assertResult(await call(url, echo(5), h2), 5);
    assertResult(await call(url, echo(6), h2), 6);

    await sleep(retryAfter * 1000 + 100);
    assertResult(await call(url, echo(7), h1), 7);
  });
});

describe('X-Forwarded-For from a peer that is not a trusted proxy (perIp 5/s)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(gatewayYaml(UPSTREAM, 'limits: { perIp: 5/s }'));
  });
  after(async () => {
    await gw?.close();
  });

  it('is ignored: the socket address is the client, whatever the header says', async () => {
    const url = `${gw.url}/mcp`;
    for (let i = 1; i <= 5; i++)
      assertPassedLimits(await call(url, TOOLS_LIST, { 'x-forwarded-for': `10.9.0.${i}` }));
    const refused = await call(url, TOOLS_LIST, { 'x-forwarded-for': '10.9.0.6' });
    const retryAfter = assertRateLimited(refused, ipBudget(5, 1));
    await sleep(retryAfter * 1000 + 100);
    assertPassedLimits(await call(url, TOOLS_LIST, { 'x-forwarded-for': '10.9.0.6' }));
  });
});

describe('concurrency (perPrincipal 2, perUpstream 3, queueTimeout 1s)', () => {
  let gw: TestGateway;
  let keys: KeyStore;
  let url: string;
  let h1: Record<string, string>;
  let h2: Record<string, string>;

  before(async () => {
    keys = await keyStore(['c1', 'c2', 'c3']);
    gw = await startTestGateway(
      apiKeyYaml(keys.db, 'limits: { concurrency: { perPrincipal: 2, perUpstream: 3, queueTimeout: 1s } }'),
    );
    url = `${gw.url}/mcp`;
    h1 = sessionHeaders(await openRawSession(url, keys.auth('c1')), keys.auth('c1'));
    h2 = sessionHeaders(await openRawSession(url, keys.auth('c2')), keys.auth('c2'));
  });
  after(async () => {
    await gw?.close();
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  it('a third request waits in the queue and is served when a slot frees in time', async () => {
    const started = performance.now();
    const ops = [call(url, longOp(11, 1), h1), call(url, longOp(12, 1), h1)];
    const firstDone = Promise.race(ops).then(() => performance.now() - started);
    await sleep(500);
    const third = await call(url, toolCall(13, 'echo', { message: 'queued' }), h1);
    const thirdDone = performance.now() - started;
    assert.deepEqual(assertResult(third, 13).content, [{ type: 'text', text: 'Echo: queued' }]);
    for (const [i, op] of (await Promise.all(ops)).entries()) {
      assert.match(JSON.stringify(assertResult(op, 11 + i).content), /Long running operation completed/);
    }
    assert.ok(third.ms >= 250, `the third request waited for a slot (${Math.round(third.ms)} ms)`);
    assert.ok(thirdDone >= (await firstDone) - 20, 'and was served only after a long operation finished');
  });

  it('refuses with 429 concurrency_limit when no slot frees within the queue timeout, then serves again', async () => {
    const ops = [call(url, longOp(21, 2.5), h1), call(url, longOp(22, 2.5), h1)];
    await sleep(200);
    const refused = await call(url, toolCall(23, 'echo', { message: 'no room' }), h1);
    assertConcurrencyLimited(refused, 'for this caller');
    assert.equal(refused.responses[0]?.id, 23);
    assert.ok(refused.ms >= 900, `refused after the 1 s queue timeout (${Math.round(refused.ms)} ms)`);
    // Another principal has its own slots (the upstream still has one free).
    assertResult(await call(url, toolCall(24, 'echo', { message: 'other' }), h2), 24);
    for (const op of await Promise.all(ops)) assert.equal(op.status, 200, op.text);
    // Released: both slots are free again.
    const again = await Promise.all([
      call(url, toolCall(25, 'echo', { message: 'a' }), h1),
      call(url, toolCall(26, 'echo', { message: 'b' }), h1),
    ]);
    assertResult(again[0] as Reply, 25);
    assertResult(again[1] as Reply, 26);
  });

  it('caps the requests in flight to one upstream across principals', async () => {
    const ops = [
      call(url, longOp(31, 2.5), h1),
      call(url, longOp(32, 2.5), h1),
      call(url, longOp(33, 2.5), h2),
    ];
    await sleep(200);
    const [second, third] = await Promise.all([
      // c2 has a slot of its own left, but the upstream has none.
      call(url, toolCall(34, 'echo', { message: 'x' }), h2),
      // So does c3, with no request in flight at all.
      call(url, { ...TOOLS_LIST, id: 35 }, keys.auth('c3')),
    ]);
    assertConcurrencyLimited(second, "to upstream 'everything'");
    assertConcurrencyLimited(third, "to upstream 'everything'");
    for (const op of await Promise.all(ops)) assert.equal(op.status, 200, op.text);
    assertResult(await call(url, toolCall(36, 'echo', { message: 'x' }), h2), 36);
    assertPassedLimits(await call(url, TOOLS_LIST, keys.auth('c3')));
  });
});

describe('sessions (perPrincipal 3, total 5) and streams per session (2)', () => {
  let gw: TestGateway;
  let keys: KeyStore;
  let url: string;

  const open = (name: string) => call(url, INITIALIZE, keys.auth(name));
  const end = (name: string, session: string) => endSession(url, sessionHeaders(session, keys.auth(name)));
  const sessionOf = (r: Reply): string => {
    assert.equal(r.status, 200, r.text);
    const id = r.headers.get('mcp-session-id');
    assert.ok(id, 'a session id');
    return id;
  };
  const readySessions = async () => (await readyz(gw)).sessions;

  before(async () => {
    keys = await keyStore(['a', 'b', 'c', 'd', 'e', 'f', 's']);
    gw = await startTestGateway(
      apiKeyYaml(keys.db, 'limits: { sessions: { perPrincipal: 3, total: 5 }, streamsPerSession: 2 }'),
    );
    url = `${gw.url}/mcp`;
  });
  after(async () => {
    await gw?.close();
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  /** Opens the session's GET stream: the session is busy until `close`. */
  const busy = async (name: string, session: string) => {
    const controller = new AbortController();
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', ...sessionHeaders(session, keys.auth(name)) },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    // Holding the Response keeps the stream open: undici cancels the body of a collected Response.
    return () => {
      controller.abort();
      void res.body?.cancel().catch(() => {});
    };
  };
  const alivePids = () => childPids(gw.logs).filter(isAlive);

  it('at a cap evicts the least recently used idle session, and refuses without starting a process only when all are busy', async () => {
    const pids = () => childPids(gw.logs).length;
    const a = [sessionOf(await open('a')), sessionOf(await open('a')), sessionOf(await open('a'))];
    const streams = [
      await busy('a', a[0] as string),
      await busy('a', a[1] as string),
      await busy('a', a[2] as string),
    ];
    let before = pids();
    const fourth = await open('a');
    assert.equal(fourth.status, 429, fourth.text);
    assert.equal(fourth.error?.data?.error, 'too_many_sessions');
    assert.equal(fourth.headers.get('retry-after'), '5');
    assert.equal(
      fourth.error?.message,
      'this caller already has 3 sessions and every one is busy (a call in flight or a stream open) — end one (DELETE, or portcullis sessions close) or wait for one to finish',
    );
    assert.equal(pids(), before, 'no upstream process for the refused session');

    // One session idle again: it makes room, and is gone for its client.
    streams[0]?.();
    await sleep(100);
    a.push(sessionOf(await open('a')));
    const evicted = await call(url, ping(1), sessionHeaders(a[0] as string, keys.auth('a')));
    assert.equal(evicted.status, 404, evicted.text);
    assert.ok(gw.logs.some((l) => l.includes('"type":"session.closed","reason":"evicted"')));

    // The gateway's own cap: five sessions in all, every one busy, refuses the sixth with 503.
    const b = [sessionOf(await open('b')), sessionOf(await open('b'))];
    streams.push(
      await busy('a', a[3] as string),
      await busy('b', b[0] as string),
      await busy('b', b[1] as string),
    );
    assert.equal(await readySessions(), 5);
    before = pids();
    const full = await open('c');
    assert.equal(full.status, 503, full.text);
    assert.equal(full.error?.data?.error, 'gateway_full');
    assert.equal(
      full.error?.message,
      'the gateway holds its limit of 5 sessions and every one is busy — try again shortly',
    );
    assert.equal(full.headers.get('retry-after'), '30');
    assert.equal(pids(), before, 'no upstream process for the refused session');

    // A session ended by DELETE frees its place at once.
    streams[5]?.();
    await sleep(100);
    await end('b', b[1] as string);
    const c = sessionOf(await open('c'));
    assert.ok(alivePids().length <= 5);

    for (const close of streams) close();
    await sleep(100);
    for (const s of a.slice(1)) await end('a', s);
    await end('b', b[0] as string);
    await end('c', c);
    assert.equal(await readySessions(), 0);
  });

  it('holds the caps when many sessions are opened at once', async () => {
    const opened: { name: string; session: string }[] = [];
    try {
      // One principal, six initializes at the same moment: sessions still opening are busy, so at
      // most three open and the others are told when to retry.
      const burst = await Promise.all(Array.from({ length: 6 }, () => open('a')));
      for (const r of burst) {
        if (r.status === 200) opened.push({ name: 'a', session: r.headers.get('mcp-session-id') as string });
        else {
          assert.equal(r.status, 429, r.text);
          assert.equal(r.error?.data?.error, 'too_many_sessions', r.text);
          assert.equal(r.headers.get('retry-after'), '5');
        }
      }
      // Exactly three, unless one finished opening and went idle before the last arrived (then evicted).
      assert.ok(opened.length >= 3, `at least three sessions opened, saw ${opened.length}`);
      assert.ok(alivePids().length <= 3, 'never more children than the cap');
      // Idle now: each new one takes the place of the least recently used.
      for (let i = 0; i < 6; i++) {
        const r = await open('a');
        opened.push({ name: 'a', session: sessionOf(r) });
        assert.ok(alivePids().length <= 3, 'never more children than the cap');
      }
      for (const { name, session } of opened.splice(0)) await end(name, session).catch(() => {});

      // Six principals at once against five in all.
      const names = ['a', 'b', 'c', 'd', 'e', 'f'];
      const wave = await Promise.all(names.map((n) => open(n)));
      wave.forEach((r, i) => {
        if (r.status === 200)
          opened.push({ name: names[i] as string, session: r.headers.get('mcp-session-id') as string });
        else assert.equal(r.status, 503, r.text);
      });
      assert.ok(opened.length >= 5, `at least total sessions opened, saw ${opened.length}`);
      assert.ok(alivePids().length <= 5, 'never more children than the cap');
    } finally {
      for (const { name, session } of opened) await end(name, session).catch(() => {});
    }
    assert.equal(await readySessions(), 0);
  });

  it('caps the open streams of a session (the GET stream and POST answers together)', async () => {
    const auth = keys.auth('s');
    const session = await openRawSession(url, auth);
    const h = sessionHeaders(session, auth);
    const tooMany = (r: { status: number; code: unknown; retryAfter: string | null; text: string }) => {
      assert.equal(r.status, 429, r.text);
      assert.equal(r.code, 'too_many_streams', r.text);
      assert.equal(r.retryAfter, '1');
    };
    const getStream = async () => {
      const controller = new AbortController();
      const res = await fetch(url, {
        headers: { accept: 'text/event-stream', ...h },
        signal: controller.signal,
      });
      return { res, close: () => controller.abort() };
    };

    // The GET stream and one POST answer in flight: a third stream is refused.
    const stream = await getStream();
    assert.equal(stream.res.status, 200);
    const op = call(url, longOp(41, 1.5), h);
    await sleep(300);
    const refused = await call(url, ping(42), h);
    tooMany({
      status: refused.status,
      code: refused.error?.data?.error,
      retryAfter: refused.headers.get('retry-after'),
      text: refused.text,
    });
    assert.equal(
      refused.error?.message,
      'this session already has 2 open streams — wait for an answer before sending more',
    );
    // Notifications open no stream and are still accepted.
    const note = await call(url, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' }, h);
    assert.equal(note.status, 202, note.text);
    // Released when the answer ends.
    assertResult(await op, 41);
    assertResult(await call(url, ping(43), h), 43);

    // Two POST answers in flight: the GET stream is refused; closing the first GET first frees its place.
    stream.close();
    // The gateway learns of the abort when the socket closes: give it that moment.
    await sleep(200);
    const ops = [call(url, longOp(44, 1.5), h), call(url, longOp(45, 1.5), h)];
    await sleep(300);
    const get = await fetch(url, {
      headers: { accept: 'text/event-stream', ...h },
      signal: AbortSignal.timeout(5000),
    });
    const text = await get.text();
    tooMany({
      status: get.status,
      code: (JSON.parse(text) as RpcMessage).error?.data?.error,
      retryAfter: get.headers.get('retry-after'),
      text,
    });
    for (const [i, r] of (await Promise.all(ops)).entries()) assertResult(r, 44 + i);
    const again = await getStream();
    assert.equal(again.res.status, 200);
    again.close();
    await end('s', session);
  });
});

describe('sizes and slow bodies (maxBody 1000, maxJsonDepth 6, maxBatch 3, bodyTimeout 1s)', () => {
  const MAX_BODY = 1000;
  let gw: TestGateway;
  let url: string;
  let port: number;

  before(async () => {
    gw = await startTestGateway(
      gatewayYaml(UPSTREAM, 'limits: { maxBody: 1000, maxJsonDepth: 6, maxBatch: 3, bodyTimeout: 1s }'),
    );
    url = `${gw.url}/mcp`;
    port = Number(new URL(gw.url).port);
  });
  after(async () => {
    await gw?.close();
  });

  /** A tools/list request padded to exactly `bytes` bytes. */
  const bodyOf = (bytes: number): string => {
    const empty = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: { pad: '' } });
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/list',
      params: { pad: 'x'.repeat(bytes - empty.length) },
    });
    assert.equal(Buffer.byteLength(body), bytes);
    return body;
  };

  /**
   * POST over node:http: with Content-Length (all at once, or the first 10 bytes and the rest
   * `pauseMs` later), or chunked without it (100-byte chunks).
   */
  const rawPost = (body: string, { chunked = false, pauseMs = 0 } = {}) =>
    new Promise<{ status: number; headers: Record<string, unknown>; json: RpcMessage }>((resolve, reject) => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(chunked
          ? { 'transfer-encoding': 'chunked' }
          : { 'content-length': String(Buffer.byteLength(body)) }),
      };
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/mcp', headers, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                json: JSON.parse(text) as RpcMessage,
              });
            } catch {
              reject(new Error(`a ${res.statusCode} answer that is not JSON: ${text}`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (chunked) {
        for (let i = 0; i < body.length; i += 100) req.write(body.slice(i, i + 100));
        req.end();
      } else if (pauseMs > 0) {
        req.write(body.slice(0, 10));
        setTimeout(() => req.end(body.slice(10)), pauseMs);
      } else req.end(body);
    });

  for (const chunked of [false, true]) {
    it(`maxBody ${chunked ? 'without Content-Length (chunked)' : 'with Content-Length'}: ${MAX_BODY} bytes pass, ${MAX_BODY + 1} are refused`, async () => {
      for (const size of [MAX_BODY - 1, MAX_BODY]) {
        const r = await rawPost(bodyOf(size), { chunked });
        assert.equal(r.status, 400, JSON.stringify(r.json));
        assert.equal(r.json.error?.data?.error, 'session_required', `${size} bytes were read and parsed`);
      }
      const over = await rawPost(bodyOf(MAX_BODY + 1), { chunked });
      assert.equal(over.status, 413);
      assert.equal(over.json.error?.data?.error, 'body_too_large');
      assert.equal(
        over.json.error?.message,
        `the request body is larger than the ${MAX_BODY}-byte limit (limits.maxBody)`,
      );
      assert.equal(over.headers.connection, 'close');
    });
  }

  it('maxJsonDepth: 6 levels pass, 7 are refused', async () => {
    const nest = (levels: number): unknown => (levels <= 1 ? {} : { a: nest(levels - 1) });
    // The message is level 1, params level 2, …
    const deep = (depth: number) => ({ ...TOOLS_LIST, params: nest(depth - 1) });
    assertPassedLimits(await call(url, deep(6)));
    const over = await call(url, deep(7));
    assert.equal(over.status, 400, over.text);
    assert.equal(over.error?.data?.error, 'json_too_deep');
    assert.equal(over.error?.message, 'the JSON body nests deeper than 6 levels');
  });

  it('maxBatch in a 2025-03-26 session: 3 messages pass, 4 are refused', async () => {
    const session = await openRawSession(url, {}, '2025-03-26');
    const h = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-03-26' };
    const batch = (n: number, first: number) => Array.from({ length: n }, (_, i) => ping(first + i));
    const ok = await call(url, batch(3, 1), h);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.responses.map((m) => m.id).sort(), [1, 2, 3]);
    const over = await call(url, batch(4, 10), h);
    assert.equal(over.status, 400, over.text);
    assert.equal(over.error?.data?.error, 'batch_too_large');
    assert.equal(over.error?.message, 'the batch has 4 messages; at most 3 are allowed');
    await endSession(url, h);
  });

  /** Asserts that the gateway answered a slow client 408 and closed its connection within ~1–2 s. */
  const assertCutOff = (slow: RawExchange) => {
    assert.match(
      slow.response,
      /^HTTP\/1\.1 408 /,
      `a 408 answer, got ${JSON.stringify(slow.response.slice(0, 40))}`,
    );
    assert.ok(
      slow.closedAfterMs !== undefined && slow.closedAfterMs < 2500,
      `the connection was closed within ~1–2 s (closed after ${slow.closedAfterMs} ms)`,
    );
  };

  // A raw socket sends one character every 300 ms and gives up after 3 s (the limit is 1 s).
  it('bodyTimeout: a body that trickles in is cut off with 408, and the gateway keeps serving', async () => {
    const body = JSON.stringify(TOOLS_LIST);
    const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n\r\n`;
    const slow = await rawExchange(port, head, body);
    // Other clients are served meanwhile and afterwards.
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    assertPassedLimits(await call(url, TOOLS_LIST));
    assertCutOff(slow);
  });

  it('bodyTimeout: headers that trickle in are cut off too', async () => {
    assertCutOff(
      await rawExchange(
        port,
        'POST /mcp HTTP/1.1\r\n',
        `Host: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nX-Slow: ${'a'.repeat(20)}\r\n\r\n`,
      ),
    );
  });

  it('bodyTimeout: a body that arrives within the time is served', async () => {
    const reply = await rawPost(JSON.stringify(TOOLS_LIST), { pauseMs: 400 });
    assert.equal(reply.status, 400, JSON.stringify(reply.json));
    assert.equal(reply.json.error?.data?.error, 'session_required', JSON.stringify(reply.json));
  });
});
