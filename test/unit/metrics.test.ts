/**
 * /metrics: the registry's metrics with bounded labels, served by a plain node:http server on
 * 127.0.0.1, open without a token and refused (401) without the right one when a token is set.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../src/audit/events.js';
import { GatewayMetrics, metricsHandler } from '../../src/observability/metrics.js';

const TOKEN = 'metrics-token-0123456789abcdef';

async function serve(handler: ReturnType<typeof metricsHandler>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] === '/metrics') return handler(req, res);
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, server };
}

const alice = { id: 'api-key:key_alice_secret_id', kind: 'api-key', name: 'alice@example.com' } as const;
const T = '2026-11-23T10:00:00.000Z';

/** One of each event that moves a counter, with label values a client could choose. */
const EVENTS: AuditEvent[] = [
  {
    type: 'auth.success',
    time: T,
    method: 'api-key',
    principal: alice,
    clientIp: '127.0.0.1',
    upstream: 'everything',
    endpoint: '/mcp',
  },
  {
    type: 'auth.failure',
    time: T,
    method: 'jwt',
    reason: 'invalid_token',
    message: 'bad signature',
    status: 401,
    clientIp: '203.0.113.9',
    upstream: 'everything',
    endpoint: '/mcp',
  },
  {
    type: 'auth.failure',
    time: T,
    method: 'missing',
    reason: 'a reason a client made up',
    message: 'x',
    status: 401,
    clientIp: '203.0.113.9',
    upstream: 'everything',
    endpoint: '/mcp',
  },
  ...(['allowed', 'denied', 'denied'] as const).map(
    (outcome): AuditEvent => ({
      type: 'policy.decision',
      time: T,
      principal: alice,
      clientIp: '127.0.0.1',
      upstream: 'everything',
      method: 'tools/call',
      target: { kind: 'tool', name: 'a-tool-name-the-client-chose' },
      outcome,
      rule: 'class read',
    }),
  ),
  {
    type: 'policy.decision',
    time: T,
    principal: alice,
    clientIp: '127.0.0.1',
    upstream: 'not-configured',
    method: 'resources/read',
    target: { kind: 'resource', name: 'file:///etc/passwd' },
    outcome: 'denied',
    rule: 'resources',
  },
  {
    type: 'rate_limit.refused',
    time: T,
    budget: 'tool',
    code: 'rate_limited',
    clientIp: '127.0.0.1',
    upstream: 'everything',
    principal: alice,
    tool: 'echo',
  },
];

describe('GatewayMetrics', () => {
  const metrics = new GatewayMetrics({ upstreams: ['everything', 'files'], processMetrics: false });
  const audit = { queueDepth: 7, dropped: 0 };
  let text = '';

  before(async () => {
    for (const event of EVENTS) metrics.countEvent(event);
    metrics.countRequest('everything', 'POST', 200);
    metrics.countRequest('everything', 'POST', 200);
    metrics.countRequest('unknown-upstream', 'PROPFIND', 404);
    metrics.observeUpstream('everything', 'tools/call', 'ok', 0.004);
    metrics.observeUpstream('files', 'a/method/the/client/invented', 'timeout', 60);
    metrics.watch({ sessions: () => 3, bridges: () => 2, childProcesses: () => 4, audit });
    audit.dropped = 5;
    await metrics.registry.metrics();
    audit.dropped = 12;
    text = await metrics.registry.metrics();
  });

  const value = (series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('counts requests by upstream, method and status', () => {
    assert.equal(value('portcullis_requests_total{upstream="everything",method="POST",status="200"}'), 2);
    assert.equal(value('portcullis_requests_total{upstream="other",method="other",status="404"}'), 1);
  });

  it('counts decisions by outcome, auth successes and failures by reason, and limit refusals by budget', () => {
    assert.equal(
      value('portcullis_policy_decisions_total{upstream="everything",kind="tool",outcome="allowed"}'),
      1,
    );
    assert.equal(
      value('portcullis_policy_decisions_total{upstream="everything",kind="tool",outcome="denied"}'),
      2,
    );
    assert.equal(
      value('portcullis_policy_decisions_total{upstream="other",kind="resource",outcome="denied"}'),
      1,
    );
    assert.equal(value('portcullis_auth_successes_total{method="api-key"}'), 1);
    assert.equal(value('portcullis_auth_failures_total{method="jwt",reason="invalid_token"}'), 1);
    assert.equal(value('portcullis_auth_failures_total{method="missing",reason="other"}'), 1);
    assert.equal(value('portcullis_rate_limit_refusals_total{budget="tool"}'), 1);
    assert.equal(value('portcullis_audit_events_total{type="policy.decision"}'), 4);
  });

  it('observes upstream latency in a histogram', () => {
    assert.equal(
      value(
        'portcullis_upstream_request_duration_seconds_bucket{le="0.005",upstream="everything",method="tools/call",status="ok"}',
      ),
      1,
    );
    assert.equal(
      value(
        'portcullis_upstream_request_duration_seconds_count{upstream="files",method="other",status="timeout"}',
      ),
      1,
    );
  });

  it('reads sessions, child processes and the audit queue when scraped', () => {
    assert.equal(value('portcullis_sessions{kind="session"}'), 3);
    assert.equal(value('portcullis_sessions{kind="bridge"}'), 2);
    assert.equal(value('portcullis_child_processes'), 4);
    assert.equal(value('portcullis_audit_queue_depth'), 7);
    assert.equal(value('portcullis_audit_dropped_total'), 12, 'a counter that follows the audit log');
  });

  it('never uses a principal, a tool name a client sent, a resource URI or an IP as a label value', () => {
    for (const leak of [
      'key_alice_secret_id',
      'alice@example.com',
      'a-tool-name-the-client-chose',
      '/etc/passwd',
      '203.0.113.9',
      'not-configured',
      'unknown-upstream',
      'PROPFIND',
      'invented',
      'made up',
    ]) {
      assert.ok(!text.includes(leak), `the metrics mention ${leak}`);
    }
  });

  it('every metric is named portcullis_*', () => {
    const names = text
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2] as string);
    assert.ok(names.length >= 11);
    for (const name of names) assert.match(name, /^portcullis_/);
  });

  it('adds Node process metrics under the same prefix unless turned off', async () => {
    const withProcess = await new GatewayMetrics({ upstreams: [] }).registry.metrics();
    assert.match(withProcess, /^portcullis_process_cpu_user_seconds_total /m);
    assert.ok(!text.includes('process_cpu'));
  });
});

describe('metricsHandler', () => {
  const metrics = new GatewayMetrics({ upstreams: ['everything'], processMetrics: false });
  metrics.countRequest('everything', 'POST', 200);
  let open: { url: string; server: Server };
  let guarded: { url: string; server: Server };
  before(async () => {
    open = await serve(metricsHandler(metrics));
    guarded = await serve(metricsHandler(metrics, { token: TOKEN }));
  });
  after(() => {
    open.server.close();
    guarded.server.close();
  });

  it('serves the Prometheus text format without a token when none is configured', async () => {
    const res = await fetch(open.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.text();
    assert.match(body, /^portcullis_requests_total\{upstream="everything",method="POST",status="200"\} 1$/m);
  });

  it('refuses without the token, with a wrong one, one of another length, or another scheme', async () => {
    for (const authorization of [
      undefined,
      `Bearer ${TOKEN.slice(0, -1)}x`,
      `Bearer ${TOKEN}0`,
      'Bearer x',
      `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`,
      `Bearer`,
      TOKEN,
    ]) {
      const res = await fetch(guarded.url, authorization ? { headers: { authorization } } : {});
      assert.equal(res.status, 401, String(authorization));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="portcullis-metrics"');
      const body = await res.text();
      assert.ok(!body.includes('portcullis_requests_total'));
      assert.ok(!body.includes(TOKEN));
    }
  });

  it('serves with the right token (any case of the scheme)', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const res = await fetch(guarded.url, { headers: { authorization: `${scheme} ${TOKEN}` } });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /portcullis_requests_total/);
    }
  });

  it('answers HEAD without a body and refuses other methods with 405', async () => {
    const head = await fetch(open.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const post = await fetch(open.url, { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('checks the method before the token, and the token before collecting', async () => {
    const post = await fetch(guarded.url, { method: 'POST' });
    assert.equal(post.status, 405);
    const head = await fetch(guarded.url, { method: 'HEAD' });
    assert.equal(head.status, 401);
  });
});
