/** The per-request context every pipeline stage reads and extends. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestAudit } from '../audit/request-audit.js';
import { GatewayError } from '../core/errors.js';
import type { JsonRpcMessage } from '../core/jsonrpc.js';
import type { Principal } from '../core/principal.js';
import type { ModernEnvelope } from '../core/revisions.js';
import type { Endpoint } from '../http/routes.js';
import type { SpanHandle } from '../observability/tracing.js';
import type { Stage } from './compose.js';

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

/** The context once authentication has run: the principal is known, never optional. */
export interface AuthenticatedContext extends RequestContext {
  principal: Principal;
}

/**
 * A stage that needs the principal. It cannot run without one: a missing principal is an internal
 * error, never a reason to skip the check (that would fail open).
 */
export function authenticated(stage: Stage<AuthenticatedContext>): Stage<RequestContext> {
  return (ctx, next) => {
    if (!ctx.principal) {
      throw new GatewayError('internal_error', 'internal error', {
        detail: 'a stage that needs the principal ran before authentication',
      });
    }
    return stage(ctx as AuthenticatedContext, next);
  };
}

/** Resolves when the response is done: sent in full, or cut off by the client. */
export function responseDone(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => res.once('close', () => resolve()));
}
