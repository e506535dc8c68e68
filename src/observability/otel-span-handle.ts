/**
 * A span handle over an OpenTelemetry span: request spans (SERVER) and their children for calls
 * forwarded upstream (CLIENT), with only the attributes listed in tracing.ts, each scrubbed. An
 * ended handle ignores everything; ending a span ends its open children as cancelled.
 */
import type { Span, Tracer } from '@opentelemetry/api';
import { isSensitiveKey } from '../audit/redact.js';
import type { OpenTelemetryModules } from './opentelemetry-modules.js';
import {
  ATTRIBUTE_NAME,
  cleanUri,
  MAX_NAME,
  MAX_VALUE,
  type Scrubber,
  withoutQuery,
} from './span-scrubber.js';
import {
  NOOP_HANDLE,
  type SpanAttributes,
  type SpanHandle,
  type SpanValue,
  type UpstreamCallStart,
  type UpstreamOutcome,
} from './tracing-api.js';

// Attribute names from the MCP and GenAI semantic conventions, still "incubating": OpenTelemetry
// asks users to copy those rather than import them, as they may be renamed between releases.
const MCP_METHOD_NAME = 'mcp.method.name';
const MCP_PROTOCOL_VERSION = 'mcp.protocol.version';
const MCP_RESOURCE_URI = 'mcp.resource.uri';
const GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
const GEN_AI_PROMPT_NAME = 'gen_ai.prompt.name';
const ENDUSER_ID = 'enduser.id';

export interface Semantics {
  readonly otel: OpenTelemetryModules;
  readonly tracer: Tracer;
  readonly scrub: Scrubber;
}

export class OtelSpanHandle implements SpanHandle {
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
