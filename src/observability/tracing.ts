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
import { loadOpenTelemetry } from './opentelemetry-modules.js';
import { OtelTracing } from './otel-tracing.js';
import { noopTracing, type Tracing, type TracingOptions } from './tracing-api.js';

export type { OpenTelemetryModules } from './opentelemetry-modules.js';
export {
  noopTracing,
  type SpanHandle,
  type Tracing,
  type TracingLogger,
  type TracingOptions,
} from './tracing-api.js';

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
