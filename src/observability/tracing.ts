/**
 * OpenTelemetry traces, sent to an OTLP/HTTP collector when `tracing.endpoint` is configured.
 *
 * One span per HTTP request to an MCP endpoint (SERVER kind, named `POST /mcp`), and one child per
 * call forwarded upstream (CLIENT kind, e.g. `tools/call get_weather`). The front door creates them
 * through this small API; there is no auto-instrumentation, on purpose: it monkey-patches node:http,
 * would trace the gateway's own upstream requests with their injected credentials, and would put
 * full URLs (query strings included) in attributes.
 *
 * What a span may carry, and nothing else: the HTTP method, the endpoint path (never the query
 * string), the response status and the gateway's stable error code, the request id, the client IP,
 * the principal id, the upstream name, the MCP method and protocol revision, and the tool or prompt
 * name or the resource URI (without its query, fragment or user info). Never a header, a token, an
 * API key, a password, a session id, a query string, call arguments or results. As a second net,
 * every string that reaches a span passes through the audit Redactor (the config's ${env:…} and
 * ${file:…} values and credentials by their shape are masked), names of event attributes that look
 * like credentials are dropped, and every value is cut to 256 characters.
 *
 * The OpenTelemetry packages are optional dependencies, loaded with import() only when tracing is
 * configured: a gateway without tracing never loads them and gets `noopTracing`, whose handles do
 * nothing (one shared frozen object; the request path pays a method call). A collector that is down
 * never affects requests: spans are batched off the request path, failed exports are dropped and
 * reported at most once a minute, and `shutdown()` gives up after a bounded time.
 */
import type { Span, Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { isSensitiveKey, type RedactionLevel, Redactor } from '../audit/redact.js';
import { VERSION } from '../core/version.js';

/** The optional packages, with the ranges package.json pins (sdk 2.x needs api < 1.10). */
export const OPENTELEMETRY_PACKAGES = [
  '@opentelemetry/api@~1.9.1',
  '@opentelemetry/sdk-trace-base@^2.12.1',
  '@opentelemetry/exporter-trace-otlp-http@^0.223.1',
  '@opentelemetry/resources@^2.12.1',
  '@opentelemetry/semantic-conventions@^1.45.0',
] as const;

export type SpanValue = string | number | boolean;
export type SpanAttributes = Readonly<Record<string, SpanValue | undefined>>;

/** What is known of a request when the front door has resolved its endpoint. */
export interface RequestSpanStart {
  /** The HTTP method. */
  readonly method: string;
  /** The endpoint path, e.g. /servers/files/mcp; anything from a `?` or `#` on is dropped. */
  readonly route: string;
  readonly requestId: string;
  readonly clientIp: string;
  /** The configured upstream the endpoint serves. */
  readonly upstream?: string;
}

/** What a call forwarded upstream is about (the audit's target, when it has one). */
export interface UpstreamCallStart {
  /** The configured upstream name. */
  readonly upstream: string;
  /** The JSON-RPC method, e.g. tools/call. */
  readonly mcpMethod: string;
  readonly target?: {
    readonly kind: 'tool' | 'resource' | 'prompt' | 'completion';
    readonly name: string;
  };
  readonly protocolVersion?: string;
}

/** How the upstream call ended (as in audit events). */
export type UpstreamOutcome = 'ok' | 'error' | 'timeout' | 'unavailable' | 'cancelled';

/** A span the front door holds; every method is a no-op once the span has ended, or when tracing is off. */
export interface SpanHandle {
  /** False when tracing is off or this trace was not sampled: callers may skip building attributes. */
  readonly recording: boolean;
  /** Who the request acts for, once authenticated (the principal id, never a credential). */
  setPrincipal(id: string): void;
  /** A point in time worth seeing on the trace, e.g. `policy.denied` with `{ 'portcullis.rule': … }`. */
  event(name: string, attributes?: SpanAttributes): void;
  /**
   * A child span for one call forwarded upstream. `name` is chosen by code, not by the client's
   * input alone: `${mcpMethod} ${target name}` as the MCP semantic conventions name it.
   */
  child(name: string, call: UpstreamCallStart): SpanHandle;
  /**
   * Ends the span: an HTTP status for a request span, an upstream outcome for a call span, with the
   * gateway's stable error code (never a message) when it refused or failed. Open children end as
   * cancelled.
   */
  end(status: number | UpstreamOutcome, errorCode?: string): void;
}

export interface Tracing {
  readonly enabled: boolean;
  startRequestSpan(start: RequestSpanStart): SpanHandle;
  /** Exports the spans still queued and stops; bounded in time. Call on SIGTERM before exiting. */
  shutdown(): Promise<void>;
}

const NOOP_HANDLE: SpanHandle = Object.freeze({
  recording: false,
  setPrincipal() {},
  event() {},
  child: () => NOOP_HANDLE,
  end() {},
});

/** Tracing off: every request gets the same inert handle. */
export const noopTracing: Tracing = Object.freeze({
  enabled: false,
  startRequestSpan: () => NOOP_HANDLE,
  shutdown: () => Promise.resolve(),
});

/** Where export failures are reported (the gateway's pino logger fits). */
export interface TracingLogger {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

export interface OpenTelemetryModules {
  readonly api: typeof import('@opentelemetry/api');
  readonly sdk: typeof import('@opentelemetry/sdk-trace-base');
  readonly exporter: typeof import('@opentelemetry/exporter-trace-otlp-http');
  readonly resources: typeof import('@opentelemetry/resources');
  readonly semconv: typeof import('@opentelemetry/semantic-conventions');
}

export interface TracingOptions {
  /** The collector's OTLP/HTTP traces URL; without it, `noopTracing`. */
  readonly endpoint?: string | undefined;
  /** Sent with every export (collector auth). */
  readonly headers?: Readonly<Record<string, string>>;
  /** 0..1, default 1. */
  readonly sampleRatio?: number;
  readonly serviceName?: string;
  readonly resourceAttributes?: Readonly<Record<string, string>>;
  readonly logger: TracingLogger;
  /** Every value the config filled from ${env:…}/${file:…}: masked in any span attribute. */
  readonly secrets?: readonly string[];
  /** One export attempt, retries included, gives up after this (default 10 s). */
  readonly exportTimeoutMs?: number;
  /** How long spans wait to be batched (default 5 s). */
  readonly scheduledDelayMs?: number;
  /** `shutdown()` waits at most this for the last export (default 5 s). */
  readonly shutdownTimeoutMs?: number;
  /** Export failures are reported at most once per this window (default 60 s). */
  readonly reportIntervalMs?: number;
  /** Loads the packages; tests replace it to simulate their absence. */
  readonly loadModules?: () => Promise<OpenTelemetryModules>;
}

/**
 * The tracer for `options`: `noopTracing` without an endpoint, else an OTLP exporter behind a
 * batch span processor. Throws (at start, so a misconfiguration is seen at once) when the endpoint
 * is set but the optional packages are missing.
 */
export async function createTracing(options: TracingOptions): Promise<Tracing> {
  if (options.endpoint === undefined) return noopTracing;
  const otel = await loadOpenTelemetry(options.loadModules);
  return new OtelTracing(otel, { ...options, endpoint: options.endpoint });
}

/** Imports the optional packages; a missing one becomes an error that says what to install. */
export async function loadOpenTelemetry(
  load: () => Promise<OpenTelemetryModules> = importOpenTelemetry,
): Promise<OpenTelemetryModules> {
  try {
    return await load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw err;
    throw new Error(
      `tracing.endpoint is set but the OpenTelemetry packages are not installed — run npm install ${OPENTELEMETRY_PACKAGES.join(' ')} (or npm install --include=optional), or remove tracing.endpoint`,
      { cause: err },
    );
  }
}

async function importOpenTelemetry(): Promise<OpenTelemetryModules> {
  const [api, sdk, exporter, resources, semconv] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  return { api, sdk, exporter, resources, semconv };
}

// Attribute names from the MCP and GenAI semantic conventions, still "incubating": OpenTelemetry
// asks users to copy those rather than import them, as they may be renamed between releases.
const MCP_METHOD_NAME = 'mcp.method.name';
const MCP_PROTOCOL_VERSION = 'mcp.protocol.version';
const MCP_RESOURCE_URI = 'mcp.resource.uri';
const GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
const GEN_AI_PROMPT_NAME = 'gen_ai.prompt.name';
const ENDUSER_ID = 'enduser.id';

const MAX_VALUE = 256;
const MAX_NAME = 128;
const ATTRIBUTE_NAME = /^[a-z][a-z0-9_.]{0,127}$/;

/** `text` cut before any query string or fragment: a URI or path without what might be a credential. */
function withoutQuery(text: string): string {
  const cut = text.search(/[?#]/);
  return cut === -1 ? text : text.slice(0, cut);
}

/** A URI without its query, fragment or user info. */
function cleanUri(uri: string): string {
  return withoutQuery(uri).replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

interface Scrubber {
  /**
   * A string as it may appear on a span: bounded, with secrets and credentials masked; with
   * `full`, personal data too (free-form event values). Names and ids keep personal data readable,
   * as in the audit trail's who-fields.
   */
  text(value: string, max?: number, level?: RedactionLevel): string;
}

function scrubber(secrets: readonly string[]): Scrubber {
  const redactor = new Redactor(secrets);
  return {
    text: (value, max = MAX_VALUE, level = 'credentials') =>
      redactor.text(value.slice(0, max * 2), level).slice(0, max),
  };
}

/** At most one warning per window while the collector keeps failing; one line when it recovers. */
class ExportReporter {
  private lastReport = Number.NEGATIVE_INFINITY;
  private droppedSinceReport = 0;
  private failing = false;

  constructor(
    private readonly logger: TracingLogger,
    private readonly collector: string,
    private readonly intervalMs: number,
    private readonly scrub: Scrubber,
  ) {}

  failed(error: Error | undefined, spans: number): void {
    this.failing = true;
    this.droppedSinceReport += spans;
    const now = performance.now();
    if (now - this.lastReport < this.intervalMs) return;
    this.lastReport = now;
    this.logger.warn(
      {
        collector: this.collector,
        err: this.scrub.text(error?.message ?? 'export failed', 512),
        droppedSpans: this.droppedSinceReport,
      },
      `could not export traces to the collector — spans are dropped, requests are not affected (reported at most once every ${Math.round(this.intervalMs / 1000)} s)`,
    );
    this.droppedSinceReport = 0;
  }

  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.info({ collector: this.collector }, 'trace export to the collector works again');
  }
}

/** The OTLP exporter, watched: its outcome is reported, and nothing it does can throw into the SDK. */
function reportingExporter(inner: SpanExporter, reporter: ExportReporter): SpanExporter {
  return {
    export(spans, done) {
      try {
        inner.export(spans, (result) => {
          // ExportResultCode.SUCCESS is 0 (from @opentelemetry/core, which is not ours to import).
          if (result.code === 0) reporter.succeeded();
          else reporter.failed(result.error, spans.length);
          done(result);
        });
      } catch (err) {
        reporter.failed(err as Error, spans.length);
        done({ code: 1, error: err as Error });
      }
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

interface Semantics {
  readonly otel: OpenTelemetryModules;
  readonly tracer: Tracer;
  readonly scrub: Scrubber;
}

class OtelSpanHandle implements SpanHandle {
  readonly recording: boolean;
  private ended = false;
  private readonly children = new Set<OtelSpanHandle>();

  constructor(
    private readonly s: Semantics,
    private readonly span: Span,
    private readonly kind: 'request' | 'call',
    private readonly parent?: OtelSpanHandle,
  ) {
    this.recording = span.isRecording();
  }

  setPrincipal(id: string): void {
    if (this.ended || !this.recording) return;
    this.span.setAttribute(ENDUSER_ID, this.s.scrub.text(id));
  }

  event(name: string, attributes: SpanAttributes = {}): void {
    if (this.ended || !this.recording) return;
    const clean: Record<string, SpanValue> = {};
    for (const [key, value] of Object.entries(attributes)) {
      // A key named like a credential is dropped whole: its value is a secret by definition.
      if (value === undefined || !ATTRIBUTE_NAME.test(key) || isSensitiveKey(key.split('.').pop() ?? key))
        continue;
      clean[key] = typeof value === 'string' ? this.s.scrub.text(value, MAX_VALUE, 'full') : value;
    }
    this.span.addEvent(this.s.scrub.text(withoutQuery(name), MAX_NAME), clean);
  }

  child(name: string, call: UpstreamCallStart): SpanHandle {
    if (this.ended || !this.recording) return NOOP_HANDLE;
    const { api } = this.s.otel;
    const { scrub } = this.s;
    const attributes: Record<string, SpanValue> = {
      'portcullis.upstream': scrub.text(call.upstream),
      [MCP_METHOD_NAME]: scrub.text(call.mcpMethod),
    };
    if (call.protocolVersion !== undefined)
      attributes[MCP_PROTOCOL_VERSION] = scrub.text(call.protocolVersion);
    const target = call.target;
    if (target) {
      attributes['portcullis.target.kind'] = target.kind;
      if (target.kind === 'tool') attributes[GEN_AI_TOOL_NAME] = scrub.text(target.name);
      else if (target.kind === 'prompt') attributes[GEN_AI_PROMPT_NAME] = scrub.text(target.name);
      else if (target.kind === 'resource') attributes[MCP_RESOURCE_URI] = scrub.text(cleanUri(target.name));
      else attributes['portcullis.target.name'] = scrub.text(cleanUri(target.name));
    }
    const span = this.s.tracer.startSpan(
      scrub.text(cleanUri(name), MAX_NAME),
      { kind: api.SpanKind.CLIENT, attributes },
      api.trace.setSpan(api.ROOT_CONTEXT, this.span),
    );
    const handle = new OtelSpanHandle(this.s, span, 'call', this);
    this.children.add(handle);
    return handle;
  }

  end(status: number | UpstreamOutcome, errorCode?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.parent?.children.delete(this);
    for (const child of this.children) child.end('cancelled');
    this.children.clear();
    if (!this.recording) {
      this.span.end();
      return;
    }
    const { api, semconv } = this.s.otel;
    const code = errorCode === undefined ? undefined : this.s.scrub.text(errorCode, MAX_NAME);
    let failed: boolean;
    if (typeof status === 'number') {
      this.span.setAttribute(semconv.ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      // HTTP server conventions: a 4xx is the client's doing, so only a 5xx marks the span failed.
      failed = this.kind === 'request' ? status >= 500 : status >= 400;
    } else {
      this.span.setAttribute('portcullis.upstream.status', status);
      failed = status !== 'ok';
    }
    const errorType = code ?? (failed && typeof status === 'string' ? status : undefined);
    if (errorType !== undefined) this.span.setAttribute(semconv.ATTR_ERROR_TYPE, errorType);
    if (failed) this.span.setStatus({ code: api.SpanStatusCode.ERROR, message: errorType ?? String(status) });
    this.span.end();
  }
}

class OtelTracing implements Tracing {
  readonly enabled = true;
  private readonly provider: InstanceType<OpenTelemetryModules['sdk']['BasicTracerProvider']>;
  private readonly s: Semantics;
  private readonly shutdownTimeoutMs: number;
  private closing: Promise<void> | undefined;

  constructor(otel: OpenTelemetryModules, options: TracingOptions & { readonly endpoint: string }) {
    const { sdk, exporter, resources, semconv } = otel;
    const scrub = scrubber([...(options.secrets ?? []), ...Object.values(options.headers ?? {})]);
    const url = new URL(options.endpoint);
    const collector = `${url.origin}${url.pathname}`;
    const reporter = new ExportReporter(options.logger, collector, options.reportIntervalMs ?? 60_000, scrub);
    const otlp = new exporter.OTLPTraceExporter({
      url: collector,
      headers: { ...(options.headers ?? {}) },
      timeoutMillis: options.exportTimeoutMs ?? 10_000,
    });
    const ratio = options.sampleRatio ?? 1;
    this.provider = new sdk.BasicTracerProvider({
      resource: resources.defaultResource().merge(
        resources.resourceFromAttributes({
          ...(options.resourceAttributes ?? {}),
          [semconv.ATTR_SERVICE_NAME]: options.serviceName ?? 'portcullis',
          [semconv.ATTR_SERVICE_VERSION]: VERSION,
        }),
      ),
      sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) }),
      spanLimits: { attributeValueLengthLimit: MAX_VALUE, attributeCountLimit: 64, eventCountLimit: 64 },
      spanProcessors: [
        new sdk.BatchSpanProcessor(reportingExporter(otlp, reporter), {
          scheduledDelayMillis: options.scheduledDelayMs ?? 5000,
          exportTimeoutMillis: (options.exportTimeoutMs ?? 10_000) + 1000,
        }),
      ],
    });
    // Not registered as the global tracer provider: only this module's spans are exported, never
    // those a library in the process might create on its own.
    this.s = { otel, tracer: this.provider.getTracer('portcullis', VERSION), scrub };
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5000;
  }

  startRequestSpan(start: RequestSpanStart): SpanHandle {
    if (this.closing) return NOOP_HANDLE;
    const { api, semconv } = this.s.otel;
    const { scrub } = this.s;
    const method = scrub.text(start.method, 16);
    const route = scrub.text(withoutQuery(start.route), MAX_NAME);
    const attributes: Record<string, SpanValue> = {
      [semconv.ATTR_HTTP_REQUEST_METHOD]: method,
      [semconv.ATTR_HTTP_ROUTE]: route,
      [semconv.ATTR_CLIENT_ADDRESS]: scrub.text(start.clientIp, 64),
      'portcullis.request_id': scrub.text(start.requestId, 64),
    };
    if (start.upstream !== undefined) attributes['portcullis.upstream'] = scrub.text(start.upstream);
    // A fresh root: a client's traceparent is not honoured, so a client can neither pick trace ids
    // nor force sampling on.
    const span = this.s.tracer.startSpan(
      `${method} ${route}`,
      { kind: api.SpanKind.SERVER, attributes, root: true },
      api.ROOT_CONTEXT,
    );
    return new OtelSpanHandle(this.s, span, 'request');
  }

  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.shutdownTimeoutMs);
        timer.unref();
      });
      // A dead collector must not hold the process past SIGTERM; a failed flush was already reported.
      await Promise.race([this.provider.shutdown().catch(() => undefined), timeout]);
      clearTimeout(timer);
    })();
    return this.closing;
  }
}
