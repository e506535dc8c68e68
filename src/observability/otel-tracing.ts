/**
 * Tracing on: an OTLP/HTTP exporter behind a batch span processor, on a tracer provider of our
 * own (never the global one). Request spans are fresh roots; sampling is parent-based on a ratio;
 * `shutdown()` gives up after a bounded time so a dead collector cannot hold the process.
 */
import { VERSION } from '../core/version.js';
import { ExportReporter, reportingExporter } from './export-reporter.js';
import type { OpenTelemetryModules } from './opentelemetry-modules.js';
import { OtelSpanHandle, type Semantics } from './otel-span-handle.js';
import { MAX_NAME, MAX_VALUE, scrubber, withoutQuery } from './span-scrubber.js';
import {
  NOOP_HANDLE,
  type RequestSpanStart,
  type SpanHandle,
  type SpanValue,
  type Tracing,
  type TracingOptions,
} from './tracing-api.js';

export class OtelTracing implements Tracing {
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
