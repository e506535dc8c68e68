/**
 * One error type for every refusal, with a stable `code`, the HTTP status, the JSON-RPC error code
 * and a public message that names the problem and the fix. One renderer writes them all.
 */
import type { ServerResponse } from 'node:http';

export type RequestId = string | number;

export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** Implementation-defined server errors (JSON-RPC reserves -32000..-32099 for them). */
  serverError: -32000,
  upstreamTimeout: -32001,
  upstreamUnavailable: -32002,
} as const;

export type ErrorCode =
  | 'unauthorized'
  | 'rate_limited'
  | 'concurrency_limit'
  | 'too_many_sessions'
  | 'too_many_streams'
  | 'invalid_arguments'
  | 'insufficient_scope'
  | 'forbidden'
  | 'invalid_token'
  | 'invalid_auth_request'
  | 'insecure_transport'
  | 'too_many_attempts'
  | 'host_not_allowed'
  | 'header_mismatch'
  | 'method_not_found'
  | 'invalid_request_state'
  | 'origin_not_allowed'
  | 'not_found'
  | 'method_not_allowed'
  | 'not_acceptable'
  | 'unsupported_media_type'
  | 'body_too_large'
  | 'parse_error'
  | 'invalid_request'
  | 'json_too_deep'
  | 'batch_too_large'
  | 'batch_not_supported'
  | 'session_required'
  | 'session_not_found'
  | 'stream_conflict'
  | 'unsupported_protocol_version'
  | 'duplicate_request_id'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'request_timeout'
  | 'internal_error';

/** Server-side refusals whose message helps the caller and reveals nothing internal. */
const EXPOSED_5XX: ReadonlySet<ErrorCode> = new Set([
  'upstream_unavailable',
  'upstream_timeout',
  'too_many_sessions',
]);

export interface GatewayErrorOptions {
  readonly rpcCode?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Internal detail for the log; never sent to the client. */
  readonly detail?: string;
  /** Structured data the protocol defines for this error (e.g. supported versions). */
  readonly data?: Readonly<Record<string, unknown>>;
}

export class GatewayError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly rpcCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly detail: string | undefined;
  readonly data: Readonly<Record<string, unknown>> | undefined;

  constructor(status: number, code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message);
    this.name = 'GatewayError';
    this.status = status;
    this.code = code;
    this.rpcCode = options.rpcCode ?? (status >= 500 ? RPC.internalError : RPC.invalidRequest);
    this.headers = options.headers ?? {};
    this.detail = options.detail;
    this.data = options.data;
  }

  /** 5xx details stay inside: the client sees a generic message and the request id. */
  get expose(): boolean {
    return this.status < 500 || EXPOSED_5XX.has(this.code);
  }
}

/** The JSON-RPC error object a client sees for `err`; `requestId` lets an operator find the log line. */
export function rpcError(
  err: GatewayError,
  requestId: string,
): { code: number; message: string; data: object } {
  return {
    code: err.rpcCode,
    message: err.expose ? err.message : 'internal error in the gateway — quote the requestId to the operator',
    data: { ...err.data, error: err.code, requestId },
  };
}

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError(500, 'internal_error', 'internal error', {
    detail: err instanceof Error ? err.message : String(err),
  });
}

/** Writes `err` as an HTTP response with a JSON-RPC error body, unless the response has already begun. */
export function sendError(
  res: ServerResponse,
  err: GatewayError,
  requestId: string,
  id: RequestId | null = null,
): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id, error: rpcError(err, requestId) });
  res.writeHead(err.status, {
    ...err.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
