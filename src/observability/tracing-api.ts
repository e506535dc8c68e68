/**
 * What the front door and the pipeline see of tracing: a request span, its children for calls
 * forwarded upstream, and the inert `noopTracing` a gateway without tracing gets (one shared frozen
 * handle, so the request path pays a method call). The OpenTelemetry side is otel-tracing.ts.
 */
import type { OpenTelemetryModules } from './opentelemetry-modules.js';

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

/** The inert handle: every span with tracing off, and what an ended or unsampled span or a closing tracer hands out. */
export const NOOP_HANDLE: SpanHandle = Object.freeze({
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
