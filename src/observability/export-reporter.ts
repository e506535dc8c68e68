/**
 * The OTLP exporter, watched: a collector that is down never affects requests, its failures are
 * reported at most once per window with the spans dropped meanwhile, and one line says when it
 * works again. Nothing the exporter does can throw into the SDK.
 */
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Scrubber } from './span-scrubber.js';
import type { TracingLogger } from './tracing-api.js';

export /** At most one warning per window while the collector keeps failing; one line when it recovers. */
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
export function reportingExporter(inner: SpanExporter, reporter: ExportReporter): SpanExporter {
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
