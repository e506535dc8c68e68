/**
 * OpenTelemetry traces end to end: spans made through src/observability/tracing.ts reach a real
 * OTLP/HTTP receiver (a node:http server speaking the collector's JSON encoding) with the right
 * names, attributes, parent/child links and status, and without a planted secret or query string;
 * tracing off loads nothing and does nothing; a collector that is down costs one warning and never
 * an exception; missing optional packages give an error that says what to install.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tracingSchema } from '../../src/config/tracing-schema.js';
import {
  createTracing,
  noopTracing,
  type OpenTelemetryModules,
  type TracingLogger,
} from '../../src/observability/tracing.js';
import { post } from '../helpers/client.js';
import {
  EVERYTHING,
  gatewayYaml,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';
import { openRawSession } from '../helpers/policy.js';

/** The parts of OTLP/JSON (ExportTraceServiceRequest) the assertions read. */
interface OtlpValue {
  readonly stringValue?: string;
  readonly intValue?: number | string;
  readonly boolValue?: boolean;
}
interface OtlpKeyValue {
  readonly key: string;
  readonly value: OtlpValue;
}
interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes?: readonly OtlpKeyValue[];
  readonly events?: readonly { readonly name: string; readonly attributes?: readonly OtlpKeyValue[] }[];
  readonly status?: { readonly code?: number; readonly message?: string };
}
interface OtlpRequest {
  readonly resourceSpans: readonly {
    readonly resource?: { readonly attributes?: readonly OtlpKeyValue[] };
    readonly scopeSpans: readonly { readonly spans: readonly OtlpSpan[] }[];
  }[];
}

/** OTLP enums (opentelemetry-proto): SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3; STATUS_CODE_ERROR = 2. */
const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const STATUS_ERROR = 2;

const PLANTED = 'planted-secret-7f3a9c1e5b';
const COLLECTOR_TOKEN = 'collector-token-0d9e8f7a6b';

interface Receiver {
  readonly url: string;
  readonly bodies: string[];
  readonly headers: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** A minimal OTLP/HTTP collector: POST /v1/traces, JSON in, an empty ExportTraceServiceResponse out. */
async function startReceiver(): Promise<Receiver> {
  const bodies: string[] = [];
  const headers: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      assert.match(req.headers['content-type'] ?? '', /^application\/json/);
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      headers.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    bodies,
    headers,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function spansOf(bodies: readonly string[]): OtlpSpan[] {
  return bodies.flatMap((body) =>
    (JSON.parse(body) as OtlpRequest).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)),
  );
}

function attrs(list: readonly OtlpKeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    const v = value.stringValue ?? value.boolValue ?? value.intValue;
    if (v !== undefined) out[key] = typeof v === 'string' && value.intValue !== undefined ? Number(v) : v;
  }
  return out;
}

interface Captured extends TracingLogger {
  readonly warnings: { fields: object; message: string }[];
  readonly infos: { fields: object; message: string }[];
}

function captureLogger(): Captured {
  const warnings: { fields: object; message: string }[] = [];
  const infos: { fields: object; message: string }[] = [];
  return {
    warnings,
    infos,
    warn: (fields, message) => warnings.push({ fields, message }),
    info: (fields, message) => infos.push({ fields, message }),
  };
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('tracing to a real OTLP/HTTP receiver', () => {
  let receiver: Receiver;
  let spans: OtlpSpan[];
  let logger: Captured;
  let resource: Record<string, string | number | boolean>;

  before(async () => {
    receiver = await startReceiver();
    logger = captureLogger();
    const tracing = await createTracing({
      endpoint: receiver.url,
      headers: { authorization: `Bearer ${COLLECTOR_TOKEN}` },
      resourceAttributes: { 'deployment.environment.name': 'test' },
      secrets: [PLANTED],
      logger,
      scheduledDelayMs: 50,
    });
    assert.equal(tracing.enabled, true);

    // A call that succeeds, one that times out, one still open when the response ends.
    const ok = tracing.startRequestSpan({
      method: 'POST',
      route: `/servers/files/mcp?access_token=${PLANTED}`,
      requestId: 'req-ok',
      clientIp: '127.0.0.1',
      upstream: 'files',
    });
    assert.equal(ok.recording, true);
    ok.setPrincipal('key:k_123');
    ok.event('policy.allowed', {
      'portcullis.rule': 'tools:read',
      token: PLANTED,
      'client.secret': PLANTED,
      'portcullis.note': `Authorization: Bearer ${PLANTED}`,
      'portcullis.link': `https://example.com/cb?code=${PLANTED}`,
      'portcullis.count': 3,
      'Bad Key': 'dropped',
    });
    const call = ok.child('tools/call read_file', {
      upstream: 'files',
      mcpMethod: 'tools/call',
      target: { kind: 'tool', name: 'read_file' },
      protocolVersion: '2025-11-25',
    });
    call.end('ok');
    const read = ok.child('resources/read', {
      upstream: 'files',
      mcpMethod: 'resources/read',
      target: {
        kind: 'resource',
        name: `https://user:${PLANTED}@docs.example.com/a.txt?sig=${PLANTED}#frag`,
      },
    });
    read.end('timeout', 'upstream_timeout');
    ok.child('tools/call slow', {
      upstream: 'files',
      mcpMethod: 'tools/call',
      target: { kind: 'tool', name: 'slow' },
    });
    ok.end(200);
    ok.end(500, 'ignored'); // ending twice is harmless, the first status stands

    const denied = tracing.startRequestSpan({
      method: 'POST',
      route: '/mcp',
      requestId: 'req-denied',
      clientIp: '10.0.0.7',
    });
    denied.end(403, 'insufficient_scope');
    const broken = tracing.startRequestSpan({
      method: 'GET',
      route: '/mcp',
      requestId: 'req-broken',
      clientIp: '::1',
    });
    broken.end(502, 'upstream_unavailable');

    await tracing.shutdown();
    await tracing.shutdown(); // idempotent
    // After shutdown, spans are inert rather than errors.
    assert.equal(
      tracing.startRequestSpan({ method: 'GET', route: '/mcp', requestId: 'x', clientIp: 'y' }).recording,
      false,
    );
    spans = spansOf(receiver.bodies);
    const first = JSON.parse(receiver.bodies[0] ?? '{}') as OtlpRequest;
    resource = attrs(first.resourceSpans[0]?.resource?.attributes);
  });

  after(() => receiver.close());

  const byRequest = (id: string) =>
    spans.find((s) => s.kind === KIND_SERVER && attrs(s.attributes)['portcullis.request_id'] === id);

  it('sends every span, with the resource naming the service', () => {
    assert.equal(spans.length, 6);
    assert.equal(resource['service.name'], 'portcullis');
    assert.equal(typeof resource['service.version'], 'string');
    assert.equal(resource['deployment.environment.name'], 'test');
  });

  it('authenticates to the collector with the configured headers', () => {
    assert.ok(receiver.headers.length > 0);
    for (const h of receiver.headers) assert.equal(h.authorization, `Bearer ${COLLECTOR_TOKEN}`);
  });

  it('names the request span by method and route, with its attributes and no query string', () => {
    const span = byRequest('req-ok');
    assert.ok(span);
    assert.equal(span.name, 'POST /servers/files/mcp');
    assert.equal(span.parentSpanId ?? '', '');
    assert.deepEqual(attrs(span.attributes), {
      'http.request.method': 'POST',
      'http.route': '/servers/files/mcp',
      'client.address': '127.0.0.1',
      'portcullis.request_id': 'req-ok',
      'portcullis.upstream': 'files',
      'enduser.id': 'key:k_123',
      'http.response.status_code': 200,
    });
    assert.notEqual(span.status?.code, STATUS_ERROR);
  });

  it('records events with credential-named keys dropped and values redacted', () => {
    const event = byRequest('req-ok')?.events?.find((e) => e.name === 'policy.allowed');
    assert.ok(event);
    const a = attrs(event.attributes);
    assert.equal(a['portcullis.rule'], 'tools:read');
    assert.equal(a['portcullis.count'], 3);
    for (const key of ['token', 'client.secret', 'Bad Key']) assert.equal(key in a, false, key);
    assert.match(String(a['portcullis.note']), /\[REDACTED\]/);
    assert.match(String(a['portcullis.link']), /\[REDACTED\]/);
  });

  it('links upstream calls to their request as CLIENT children, with MCP attributes and status', () => {
    const parent = byRequest('req-ok');
    assert.ok(parent);
    const children = spans.filter((s) => s.parentSpanId === parent.spanId);
    assert.equal(children.length, 3);
    for (const child of children) {
      assert.equal(child.traceId, parent.traceId);
      assert.equal(child.kind, KIND_CLIENT);
    }
    const call = children.find((s) => s.name === 'tools/call read_file');
    assert.ok(call);
    assert.deepEqual(attrs(call.attributes), {
      'portcullis.upstream': 'files',
      'mcp.method.name': 'tools/call',
      'mcp.protocol.version': '2025-11-25',
      'portcullis.target.kind': 'tool',
      'gen_ai.tool.name': 'read_file',
      'portcullis.upstream.status': 'ok',
    });
    assert.notEqual(call.status?.code, STATUS_ERROR);

    const read = children.find((s) => s.name === 'resources/read');
    assert.ok(read);
    const r = attrs(read.attributes);
    assert.equal(r['mcp.resource.uri'], 'https://docs.example.com/a.txt');
    assert.equal(r['portcullis.upstream.status'], 'timeout');
    assert.equal(r['error.type'], 'upstream_timeout');
    assert.deepEqual(read.status, { code: STATUS_ERROR, message: 'upstream_timeout' });

    const slow = children.find((s) => s.name === 'tools/call slow');
    assert.ok(slow, 'a call still open when its request ended is exported, as cancelled');
    assert.equal(attrs(slow.attributes)['portcullis.upstream.status'], 'cancelled');
    assert.equal(slow.status?.code, STATUS_ERROR);
  });

  it('marks 5xx requests failed and keeps 4xx refusals searchable by error.type', () => {
    const denied = byRequest('req-denied');
    assert.ok(denied);
    assert.equal(attrs(denied.attributes)['http.response.status_code'], 403);
    assert.equal(attrs(denied.attributes)['error.type'], 'insufficient_scope');
    assert.notEqual(denied.status?.code, STATUS_ERROR);
    const broken = byRequest('req-broken');
    assert.ok(broken);
    assert.equal(broken.name, 'GET /mcp');
    assert.deepEqual(broken.status, { code: STATUS_ERROR, message: 'upstream_unavailable' });
  });

  it('exports no planted secret, collector credential or query string', () => {
    const all = receiver.bodies.join('\n');
    assert.equal(all.includes(PLANTED), false);
    assert.equal(all.includes(COLLECTOR_TOKEN), false);
    for (const span of spans) {
      assert.equal(span.name.includes('?'), false, span.name);
      for (const list of [span.attributes, ...(span.events ?? []).map((e) => e.attributes)])
        for (const [key, value] of Object.entries(attrs(list)))
          assert.equal(
            /[?]|access_token=|sig=|code=/.test(String(value).replace('?[REDACTED]', '')),
            false,
            `${key}=${value}`,
          );
    }
    assert.deepEqual(logger.warnings, []);
  });
});

describe('tracing off', () => {
  it('without an endpoint returns the no-op tracer and never loads OpenTelemetry', async () => {
    let loaded = false;
    const tracing = await createTracing({
      logger: captureLogger(),
      loadModules: () => {
        loaded = true;
        return Promise.reject(new Error('must not be called'));
      },
    });
    assert.equal(tracing, noopTracing);
    assert.equal(tracing.enabled, false);
    assert.equal(loaded, false);
    const span = tracing.startRequestSpan({
      method: 'POST',
      route: '/mcp',
      requestId: 'r',
      clientIp: '127.0.0.1',
    });
    assert.equal(span.recording, false);
    span.setPrincipal('p');
    span.event('e', { a: 1 });
    const child = span.child('tools/call x', { upstream: 'u', mcpMethod: 'tools/call' });
    assert.equal(child.recording, false);
    child.end('ok');
    span.end(200);
    // The same inert handle for every request: nothing is allocated per request.
    assert.equal(
      tracing.startRequestSpan({ method: 'GET', route: '/mcp', requestId: 's', clientIp: '::1' }),
      span,
    );
    await tracing.shutdown();
  });

  it('a gateway process without tracing never loads an OpenTelemetry module', () => {
    // A fresh process: this one has loaded them already for the tests above.
    const module = new URL('../../src/observability/tracing.ts', import.meta.url).href;
    const script = `
      import { createRequire } from 'node:module';
      const { createTracing } = await import(${JSON.stringify(module)});
      const tracing = await createTracing({ logger: { warn() {}, info() {} } });
      const span = tracing.startRequestSpan({ method: 'POST', route: '/mcp', requestId: 'r', clientIp: '127.0.0.1' });
      span.child('tools/call x', { upstream: 'u', mcpMethod: 'tools/call' }).end('ok');
      span.end(200);
      await tracing.shutdown();
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@opentelemetry'));
      process.stdout.write(JSON.stringify(loaded));
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), []);
  });

  it('with sampleRatio 0 records and exports nothing', async () => {
    const receiver = await startReceiver();
    try {
      const tracing = await createTracing({
        endpoint: receiver.url,
        sampleRatio: 0,
        logger: captureLogger(),
      });
      const span = tracing.startRequestSpan({
        method: 'POST',
        route: '/mcp',
        requestId: 'r',
        clientIp: '127.0.0.1',
      });
      assert.equal(span.recording, false);
      span.child('tools/call x', { upstream: 'u', mcpMethod: 'tools/call' }).end('ok');
      span.end(200);
      await tracing.shutdown();
      assert.equal(spansOf(receiver.bodies).length, 0);
    } finally {
      await receiver.close();
    }
  });
});

describe('tracing when things are missing', () => {
  it('a collector that is down: requests go on, no throw, one warning', async () => {
    const port = await closedPort();
    const logger = captureLogger();
    const tracing = await createTracing({
      endpoint: `http://127.0.0.1:${port}/v1/traces`,
      headers: { authorization: `Bearer ${COLLECTOR_TOKEN}` },
      logger,
      scheduledDelayMs: 10,
      exportTimeoutMs: 200,
      shutdownTimeoutMs: 2000,
    });
    // Several batches, each failing.
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5; i++) {
        const span = tracing.startRequestSpan({
          method: 'POST',
          route: '/mcp',
          requestId: `r${round}.${i}`,
          clientIp: '127.0.0.1',
        });
        span.child('tools/call x', { upstream: 'u', mcpMethod: 'tools/call' }).end('ok');
        span.end(200);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const started = performance.now();
    await tracing.shutdown();
    assert.ok(performance.now() - started < 2500, 'shutdown is bounded');
    assert.equal(logger.warnings.length, 1, JSON.stringify(logger.warnings));
    const [warning] = logger.warnings;
    assert.match(warning?.message ?? '', /could not export traces/);
    assert.deepEqual(Object.keys(warning?.fields ?? {}).sort(), ['collector', 'droppedSpans', 'err']);
    assert.equal(JSON.stringify(warning).includes(COLLECTOR_TOKEN), false);
  });

  it('optional packages not installed: a clear error at start', async () => {
    const missing = '@opentelemetry/not-installed-for-this-test';
    await assert.rejects(
      createTracing({
        endpoint: 'http://127.0.0.1:4318/v1/traces',
        logger: captureLogger(),
        loadModules: async (): Promise<OpenTelemetryModules> => {
          await import(missing);
          throw new Error('unreachable');
        },
      }),
      /tracing\.endpoint is set but the OpenTelemetry packages are not installed — run npm install @opentelemetry\/api/,
    );
  });
});

describe('tracing config', () => {
  const problems = (input: unknown): string[] => {
    const result = tracingSchema.safeParse(input);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('defaults to off, all sampled, service portcullis', () => {
    assert.deepEqual(tracingSchema.parse({}), {
      headers: {},
      sampleRatio: 1,
      serviceName: 'portcullis',
      resourceAttributes: {},
    });
  });

  it('accepts https, loopback http, and a named private host', () => {
    assert.deepEqual(problems({ endpoint: 'https://otel.example.com/v1/traces' }), []);
    assert.deepEqual(problems({ endpoint: 'http://127.0.0.1:4318/v1/traces' }), []);
    assert.deepEqual(
      problems({ endpoint: 'http://otel.internal:4318/v1/traces', allowPrivateHost: 'otel.internal' }),
      [],
    );
  });

  it('refuses plain http elsewhere, queries, credentials in the URL, and out-of-range ratios', () => {
    assert.match(
      problems({ endpoint: 'http://otel.example.com/v1/traces' }).join(),
      /^endpoint: is plain http/,
    );
    assert.match(
      problems({ endpoint: 'https://otel.example.com/v1/traces?key=x' }).join(),
      /^endpoint: must not have a \?query/,
    );
    assert.match(
      problems({ endpoint: 'https://u:p@otel.example.com/v1/traces' }).join(),
      /user name or password/,
    );
    assert.match(
      problems({ endpoint: 'https://otel.example.com', sampleRatio: 1.5 }).join(),
      /^sampleRatio: must be at most 1/,
    );
    assert.match(
      problems({ headers: { authorization: 'x' } }).join(),
      /^headers: are set but tracing\.endpoint is missing/,
    );
    assert.match(
      problems({ resourceAttributes: { 'service.name': 'x' } }).join(),
      /^resourceAttributes\.service\.name/,
    );
    assert.match(
      problems({ headers: { 'bad header': 'x' }, endpoint: 'https://o.example.com' }).join(),
      /not a valid HTTP header name/,
    );
    assert.match(
      problems({ resourceAttributes: { 'Team Name': 'x' } }).join(),
      /^resourceAttributes\.Team Name: is not an attribute name/,
    );
  });
});

describe('a gateway with tracing.endpoint set', () => {
  let receiver: Receiver;
  let gw: TestGateway;

  before(async () => {
    receiver = await startReceiver();
    gw = await startTestGateway(
      gatewayYaml(
        stdioUpstream('everything', EVERYTHING, ['stdio']),
        `tracing: { endpoint: "${receiver.url}", headers: { authorization: "Bearer \${env:COLLECTOR}" } }`,
      ),
      { COLLECTOR: COLLECTOR_TOKEN },
    );
    const url = `${gw.url}/mcp?probe=${PLANTED}`;
    const session = await openRawSession(url, {});
    const reply = await post(
      url,
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: PLANTED } },
      },
      { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
    );
    assert.equal(reply.status, 200, reply.text);
    // Closing flushes the batch processor: every span is at the receiver afterwards.
    await gw.close();
  });
  after(async () => {
    await gw?.close();
    await receiver?.close();
  });

  it('exports a span per request, and the call as its child, with no argument or query string', () => {
    const spans = spansOf(receiver.bodies);
    const requests = spans.filter((s) => s.name === 'POST /mcp');
    assert.ok(requests.length >= 3, `initialize, initialized and the call: ${spans.map((s) => s.name)}`);
    const call = spans.find((s) => s.name === 'tools/call echo');
    assert.ok(call, `a child span for the call: ${spans.map((s) => s.name)}`);
    const parent = requests.find((s) => s.spanId === call.parentSpanId);
    assert.ok(parent, 'the call span is a child of its request span');
    assert.equal(parent.traceId, call.traceId);
    assert.equal(attrs(call.attributes)['portcullis.upstream'], 'everything');
    assert.equal(attrs(call.attributes)['portcullis.upstream.status'], 'ok');
    const exported = receiver.bodies.join('');
    assert.ok(!exported.includes(PLANTED), 'neither the argument nor the query string is exported');
    assert.ok(!exported.includes(COLLECTOR_TOKEN));
    assert.equal(receiver.headers[0]?.authorization, `Bearer ${COLLECTOR_TOKEN}`);
  });
});
