/**
 * Prometheus metrics (prom-client), on a registry of the gateway's own. Label values come only from
 * bounded sets — configured upstream names, HTTP methods and statuses, MCP methods, error codes,
 * auth methods, limit budgets — never a principal id, a tool name a client sent, a URL or a secret:
 * a client must not be able to grow the registry (or learn anything) by what it sends.
 *
 * Served by `metricsHandler` at /metrics, behind its own bearer token when one is configured.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEvent } from '../audit/events.js';
import type { WarmPoolStats } from '../upstream/warm-pool.js';

const HTTP_METHODS = new Set(['GET', 'POST', 'DELETE', 'OPTIONS', 'HEAD']);
const MCP_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'server/discover',
  'subscriptions/listen',
]);
const TARGET_KINDS = new Set(['tool', 'resource', 'prompt', 'completion']);
const OUTCOMES = new Set(['allowed', 'denied']);
const AUTH_METHODS = new Set([
  'api-key',
  'basic',
  'jwt',
  'introspection',
  'oauth',
  'none',
  'bearer',
  'missing',
]);
const AUTH_REASONS = new Set([
  'unauthorized',
  'invalid_token',
  'invalid_auth_request',
  'insecure_transport',
  'too_many_attempts',
]);
const BUDGETS = new Set(['ip', 'principal', 'tool', 'concurrency', 'sessions', 'streams']);
const UPSTREAM_STATUSES = new Set(['ok', 'error', 'timeout', 'unavailable', 'cancelled']);

const bounded = (value: string | undefined, allowed: ReadonlySet<string>): string =>
  value !== undefined && allowed.has(value) ? value : 'other';

/** Live numbers the metrics read when scraped. */
export interface MetricsSources {
  /** Open 2025 client sessions. */
  readonly sessions?: () => number;
  /** Upstream sessions held for 2026-07-28 clients (per principal and upstream). */
  readonly bridges?: () => number;
  /** Running stdio upstream processes. */
  readonly childProcesses?: () => number;
  /** The audit log (AuditLog has these). */
  readonly audit?: { readonly queueDepth: number; readonly dropped: number };
  /** The stdio upstreams' warm pools (WarmPool has these). */
  readonly warmPools?: () => Iterable<{ stats(): WarmPoolStats; memory(): Promise<number> }>;
}

export interface GatewayMetricsOptions {
  /** Configured upstream names: the only values the `upstream` label takes (others are "other"). */
  readonly upstreams: readonly string[];
  /** Also export Node's process metrics (CPU, memory, event-loop lag, GC) as portcullis_process_* etc. */
  readonly processMetrics?: boolean;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  /** HTTP requests to MCP endpoints, by upstream, HTTP method and status. */
  readonly requests: Counter<'upstream' | 'method' | 'status'>;
  /** Policy decisions on calls, by upstream, target kind and outcome. */
  readonly decisions: Counter<'upstream' | 'kind' | 'outcome'>;
  readonly authSuccesses: Counter<'method'>;
  /** Refused credentials, by method and reason (the error code the client got). */
  readonly authFailures: Counter<'method' | 'reason'>;
  /** Requests refused by a limit, by budget. */
  readonly rateLimitRefusals: Counter<'budget'>;
  /** Time from forwarding a request upstream to its answer, by upstream, MCP method and status. */
  readonly upstreamLatency: Histogram<'upstream' | 'method' | 'status'>;
  readonly auditEvents: Counter<'type'>;
  private readonly upstreams: ReadonlySet<string>;
  private sources: MetricsSources = {};

  constructor(options: GatewayMetricsOptions) {
    const registers = [this.registry];
    this.upstreams = new Set(options.upstreams);
    this.requests = new Counter({
      name: 'portcullis_requests_total',
      help: 'HTTP requests to MCP endpoints, by upstream, HTTP method and response status',
      labelNames: ['upstream', 'method', 'status'],
      registers,
    });
    this.decisions = new Counter({
      name: 'portcullis_policy_decisions_total',
      help: 'Policy decisions on calls (tools/call, resources/read, prompts/get…), by outcome',
      labelNames: ['upstream', 'kind', 'outcome'],
      registers,
    });
    this.authSuccesses = new Counter({
      name: 'portcullis_auth_successes_total',
      help: 'Accepted credentials, by authentication method',
      labelNames: ['method'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'portcullis_auth_failures_total',
      help: 'Missing or refused credentials, by method and reason',
      labelNames: ['method', 'reason'],
      registers,
    });
    this.rateLimitRefusals = new Counter({
      name: 'portcullis_rate_limit_refusals_total',
      help: 'Requests refused by a limit (429/503), by budget: ip, principal, tool, concurrency, sessions, streams',
      labelNames: ['budget'],
      registers,
    });
    this.upstreamLatency = new Histogram({
      name: 'portcullis_upstream_request_duration_seconds',
      help: 'Time from receiving a governed call (tools/call, resources/read…) to the upstream answer, by upstream, MCP method and status',
      labelNames: ['upstream', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.auditEvents = new Counter({
      name: 'portcullis_audit_events_total',
      help: 'Audit events recorded, by type',
      labelNames: ['type'],
      registers,
    });
    const sources = () => this.sources;
    new Gauge({
      name: 'portcullis_sessions',
      help: 'Open sessions: kind="session" for 2025 client sessions, kind="bridge" for upstream sessions held for 2026-07-28 clients',
      labelNames: ['kind'],
      registers,
      collect() {
        const { sessions, bridges } = sources();
        this.set({ kind: 'session' }, sessions?.() ?? 0);
        this.set({ kind: 'bridge' }, bridges?.() ?? 0);
      },
    });
    new Gauge({
      name: 'portcullis_child_processes',
      help: 'Running stdio upstream processes',
      registers,
      collect() {
        this.set(sources().childProcesses?.() ?? 0);
      },
    });
    new Gauge({
      name: 'portcullis_warm_children',
      help: 'Children of a stdio upstream waiting in its warm pool, by state: ready (answered ping) or starting',
      labelNames: ['upstream', 'state'],
      registers,
      collect() {
        for (const pool of sources().warmPools?.() ?? []) {
          const { upstream, ready, starting } = pool.stats();
          this.set({ upstream, state: 'ready' }, ready);
          this.set({ upstream, state: 'starting' }, starting);
        }
      },
    });
    new Gauge({
      name: 'portcullis_warm_pool_resident_bytes',
      help: "Resident memory of a stdio upstream's warm children together",
      labelNames: ['upstream'],
      registers,
      async collect() {
        for (const pool of sources().warmPools?.() ?? [])
          this.set({ upstream: pool.stats().upstream }, await pool.memory());
      },
    });
    const handoutsSeen = new Map<string, number>();
    new Counter({
      name: 'portcullis_warm_pool_takes_total',
      help: "Children a stdio upstream's sessions took from its warm pool (warm) or, finding it empty, started themselves (cold); a restart after a crash counts too",
      labelNames: ['upstream', 'child'],
      registers,
      collect() {
        for (const pool of sources().warmPools?.() ?? []) {
          const { upstream, handedOut, missed } = pool.stats();
          for (const [child, total] of [
            ['warm', handedOut],
            ['cold', missed],
          ] as const) {
            const key = `${upstream}\u0000${child}`;
            const seen = handoutsSeen.get(key) ?? 0;
            // inc by 0 too: the series exists from the first scrape, so a rate over it starts at once.
            this.inc({ upstream, child }, Math.max(0, total - seen));
            handoutsSeen.set(key, Math.max(seen, total));
          }
        }
      },
    });
    new Gauge({
      name: 'portcullis_audit_queue_depth',
      help: 'Audit events waiting to be written to the store',
      registers,
      collect() {
        this.set(sources().audit?.queueDepth ?? 0);
      },
    });
    let droppedSeen = 0;
    new Counter({
      name: 'portcullis_audit_dropped_total',
      help: 'Audit events the store lost (queue full while the store was down or slow); they were still written to stdout',
      registers,
      collect() {
        const dropped = sources().audit?.dropped ?? 0;
        if (dropped > droppedSeen) this.inc(dropped - droppedSeen);
        droppedSeen = Math.max(droppedSeen, dropped);
      },
    });
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'portcullis_' });
  }

  /** Where the gauges read sessions, child processes and the audit queue. */
  watch(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** The `upstream` label for a name: itself when configured, else "other". */
  upstream(name: string | undefined): string {
    return bounded(name, this.upstreams);
  }

  /** Counts an answered HTTP request to an MCP endpoint. */
  countRequest(upstream: string | undefined, method: string | undefined, status: number): void {
    this.requests.inc({
      upstream: this.upstream(upstream),
      method: bounded(method, HTTP_METHODS),
      status: Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other',
    });
  }

  /** Observes one upstream round trip (seconds). */
  observeUpstream(upstream: string, method: string, status: string, seconds: number): void {
    this.upstreamLatency.observe(
      {
        upstream: this.upstream(upstream),
        method: bounded(method, MCP_METHODS),
        status: bounded(status, UPSTREAM_STATUSES),
      },
      seconds,
    );
  }

  /** Counts what an audit event says (pass as AuditLog's onEvent): decisions, auth, limits. */
  countEvent(event: AuditEvent): void {
    this.auditEvents.inc({ type: event.type });
    switch (event.type) {
      case 'auth.success':
        this.authSuccesses.inc({ method: bounded(event.method, AUTH_METHODS) });
        break;
      case 'auth.failure':
        this.authFailures.inc({
          method: bounded(event.method, AUTH_METHODS),
          reason: bounded(event.reason, AUTH_REASONS),
        });
        break;
      case 'policy.decision':
        this.decisions.inc({
          upstream: this.upstream(event.upstream),
          kind: bounded(event.target.kind, TARGET_KINDS),
          outcome: bounded(event.outcome, OUTCOMES),
        });
        break;
      case 'rate_limit.refused':
        this.rateLimitRefusals.inc({ budget: bounded(event.budget, BUDGETS) });
        break;
    }
  }
}

export interface MetricsHandlerOptions {
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  readonly token?: string;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Compares in constant time (over fixed-length digests, so the token's length does not leak either). */
function tokenMatches(presented: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(presented), expected);
}

/** Serves the registry in Prometheus text format: GET or HEAD, 401 without the token when one is set. */
export function metricsHandler(
  metrics: GatewayMetrics | Registry,
  options: MetricsHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const registry = metrics instanceof Registry ? metrics : metrics.registry;
  const expected = options.token !== undefined ? digest(options.token) : undefined;
  const plain = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      ...headers,
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'method not allowed — scrape /metrics with GET\n', { allow: 'GET, HEAD' });
      return;
    }
    if (expected) {
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (!match || !tokenMatches(match[1] as string, expected)) {
        plain(
          res,
          401,
          'unauthorized — send Authorization: Bearer <metrics.token> (set bearer_token in the Prometheus scrape config)\n',
          { 'www-authenticate': 'Bearer realm="portcullis-metrics"' },
        );
        return;
      }
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, {
          'content-type': registry.contentType,
          'cache-control': 'no-store',
          'content-length': Buffer.byteLength(text),
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => plain(res, 500, 'could not collect metrics\n'),
    );
  };
}
