/** The per-request context every pipeline stage reads and extends. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestAudit } from '../audit/request-audit.js';
import type { JsonRpcMessage } from '../core/jsonrpc.js';
import type { Principal } from '../core/principal.js';
import type { ModernEnvelope } from '../core/revisions.js';
import type { Endpoint } from '../http/routes.js';
import type { SpanHandle } from '../observability/tracing.js';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Minted per request; returned as X-Request-Id and quoted in every error and log line. */
  readonly requestId: string;
  readonly clientIp: string;
  /** TLS here, or at a trusted proxy. */
  readonly secure: boolean;
  readonly endpoint: Endpoint;
  /** The gateway's public URL; with the endpoint's path it names the protected resource. */
  readonly publicUrl: URL;
  readonly startedAt: number;
  /** This request's audit trail; absent when the gateway records no audit events. */
  audit?: RequestAudit;
  /** This request's trace span (a no-op one when tracing is off). */
  span?: SpanHandle;
  principal?: Principal;
  /** Parsed JSON-RPC messages of a POST body. */
  messages?: JsonRpcMessage[];
  isBatch?: boolean;
  /** Set for a 2026-07-28 request: its per-request envelope, already checked against the headers. */
  modern?: ModernEnvelope;
  /** The MCP protocol revision this request speaks (header, or the session's, or the 2025-03-26 default). */
  protocolVersion?: string;
}
