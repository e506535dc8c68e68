/**
 * One error type for every refusal, with a stable `code` and a public message that names the
 * problem and the fix. The catalog below is the only place that says what a code means on the
 * wire: its HTTP status, its JSON-RPC code, and whether the caller is told when to retry.
 */

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
  /** MCP's code for a resource no server has (the same number as upstreamUnavailable). */
  resourceNotFound: -32002,
  /** A request the policy refused (2026-07-28 clients get -32603: that revision retired the range). */
  forbidden: -32003,
  /** A request a limit refused. */
  limited: -32004,
  /** 2026-07-28: the request's headers and body disagree. */
  headerMismatch: -32020,
  /** 2026-07-28: the client's protocol version is not served. */
  unsupportedVersion: -32022,
} as const;

interface CodeFacts {
  readonly status: number;
  readonly rpc: number;
  /** The answer carries Retry-After (and data.retryAfter): the caller may try again later. */
  readonly retry?: true;
  /** A 5xx whose message helps the caller and reveals nothing internal. */
  readonly expose?: true;
}

/** Every code the gateway answers with. Sorted by status, then name. */
export const ERROR_CATALOG = {
  invalid_arguments: { status: 400, rpc: RPC.invalidParams },
  unknown_tool: { status: 400, rpc: RPC.invalidParams },
  invalid_auth_request: { status: 400, rpc: RPC.invalidRequest },
  header_mismatch: { status: 400, rpc: RPC.headerMismatch },
  host_missing: { status: 400, rpc: RPC.invalidRequest },
  invalid_request_state: { status: 400, rpc: RPC.invalidParams },
  parse_error: { status: 400, rpc: RPC.parseError },
  invalid_request: { status: 400, rpc: RPC.invalidRequest },
  json_too_deep: { status: 400, rpc: RPC.invalidRequest },
  batch_too_large: { status: 400, rpc: RPC.invalidRequest },
  batch_not_supported: { status: 400, rpc: RPC.invalidRequest },
  session_required: { status: 400, rpc: RPC.invalidRequest },
  unsupported_protocol_version: { status: 400, rpc: RPC.invalidRequest },
  duplicate_request_id: { status: 400, rpc: RPC.invalidRequest },
  unauthorized: { status: 401, rpc: RPC.invalidRequest },
  invalid_token: { status: 401, rpc: RPC.invalidRequest },
  insufficient_scope: { status: 403, rpc: RPC.forbidden },
  forbidden: { status: 403, rpc: RPC.forbidden },
  tool_not_approved: { status: 403, rpc: RPC.forbidden },
  /** policy.approval: the call waits for a person; data carries the approval's id and link. */
  approval_required: { status: 403, rpc: RPC.forbidden },
  approval_denied: { status: 403, rpc: RPC.forbidden },
  approval_expired: { status: 403, rpc: RPC.forbidden },
  insecure_transport: { status: 403, rpc: RPC.invalidRequest },
  host_not_allowed: { status: 403, rpc: RPC.invalidRequest },
  origin_not_allowed: { status: 403, rpc: RPC.invalidRequest },
  not_found: { status: 404, rpc: RPC.invalidRequest },
  method_not_found: { status: 404, rpc: RPC.methodNotFound },
  session_not_found: { status: 404, rpc: RPC.invalidRequest },
  method_not_allowed: { status: 405, rpc: RPC.invalidRequest },
  not_acceptable: { status: 406, rpc: RPC.invalidRequest },
  stream_conflict: { status: 409, rpc: RPC.invalidRequest },
  request_timeout: { status: 408, rpc: RPC.invalidRequest },
  body_too_large: { status: 413, rpc: RPC.invalidRequest },
  unsupported_media_type: { status: 415, rpc: RPC.invalidRequest },
  rate_limited: { status: 429, rpc: RPC.limited, retry: true },
  concurrency_limit: { status: 429, rpc: RPC.limited, retry: true },
  too_many_sessions: { status: 429, rpc: RPC.limited, retry: true },
  too_many_streams: { status: 429, rpc: RPC.limited, retry: true },
  too_many_attempts: { status: 429, rpc: RPC.invalidRequest, retry: true },
  internal_error: { status: 500, rpc: RPC.internalError },
  peer_unavailable: { status: 502, rpc: RPC.upstreamUnavailable, expose: true },
  upstream_unavailable: { status: 502, rpc: RPC.upstreamUnavailable, expose: true },
  gateway_full: { status: 503, rpc: RPC.limited, retry: true, expose: true },
  not_ready: { status: 503, rpc: RPC.internalError, retry: true, expose: true },
  store_unavailable: { status: 503, rpc: RPC.internalError, retry: true, expose: true },
  upstream_timeout: { status: 504, rpc: RPC.upstreamTimeout, expose: true },
} as const satisfies Readonly<Record<string, CodeFacts>>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface GatewayErrorOptions {
  /** Overrides the catalog's JSON-RPC code where a protocol revision defines its own. */
  readonly rpcCode?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Seconds until the caller may retry; for codes the catalog marks as retryable (default 1). */
  readonly retryAfter?: number;
  /** Internal detail for the log; never sent to the client. */
  readonly detail?: string;
  /** Structured data the protocol defines for this error (e.g. supported versions). */
  readonly data?: Readonly<Record<string, unknown>>;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly rpcCode: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Seconds until a retry may succeed; set exactly for the catalog's retryable codes. */
  readonly retryAfter: number | undefined;
  readonly detail: string | undefined;
  readonly data: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message);
    const facts: CodeFacts = ERROR_CATALOG[code];
    this.name = 'GatewayError';
    this.code = code;
    this.status = facts.status;
    this.rpcCode = options.rpcCode ?? facts.rpc;
    this.retryAfter = facts.retry ? Math.max(1, Math.ceil(options.retryAfter ?? 1)) : undefined;
    this.headers = {
      ...options.headers,
      ...(this.retryAfter === undefined ? {} : { 'retry-after': String(this.retryAfter) }),
    };
    this.detail = options.detail;
    this.data =
      this.retryAfter === undefined ? options.data : { ...options.data, retryAfter: this.retryAfter };
  }

  /** 5xx details stay inside: the client sees a generic message and the request id. */
  get expose(): boolean {
    const facts: CodeFacts = ERROR_CATALOG[this.code];
    return this.status < 500 || facts.expose === true;
  }
}

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('internal_error', 'internal error', {
    detail: err instanceof Error ? err.message : String(err),
  });
}
