/**
 * The audit trail of one HTTP request: the stages and the relay tell it what they decided, and it
 * turns that into events — one authentication event, one policy decision per governed JSON-RPC
 * request (an allowed one once the upstream answered, with latency and status), one event per limit
 * refusal — all carrying the request id the client saw. Metrics of upstream latency are observed here
 * too, so the trail and the histograms can never disagree.
 */

import type { ServerResponse } from 'node:http';
import { type GatewayError, RPC } from '../core/errors.js';
import {
  idKey,
  isRequest,
  type JsonRpcMessage,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Params,
} from '../core/jsonrpc.js';
import { requestTarget } from '../core/methods.js';
import type { Principal } from '../core/principal.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { SpanHandle } from '../observability/tracing.js';
import { withheldIn } from '../policy/result-filter.js';
import type { AuditLog } from './audit-log.js';
import {
  type AuditTarget,
  type AuthFailureMethod,
  type AuthMethod,
  auditPrincipal,
  type PolicyDecisionEvent,
  type RateLimitRefusedEvent,
  type UpstreamStatus,
} from './events.js';

/** What the policy decided about one request, as the gatekeeper reports it. */
export interface PolicyVerdict {
  /** The upstream whose policy decided (on the aggregated endpoint, the one the call went to). */
  readonly upstream?: string;
  readonly target: AuditTarget;
  readonly outcome: 'allowed' | 'denied';
  readonly rule: string;
  readonly code?: string;
  readonly missingScopes?: readonly (readonly string[])[];
}

/** Where the gatekeeper reports its verdicts (a RequestAudit, or nothing for the gateway's own lists). */
export interface VerdictRecorder {
  decided(request: JsonRpcRequest, verdict: PolicyVerdict): void;
}

/** The error codes by which a limit refuses, and the budget each belongs to. */
const LIMIT_BUDGETS: Readonly<Record<string, RateLimitRefusedEvent['budget']>> = {
  concurrency_limit: 'concurrency',
  too_many_sessions: 'sessions',
  too_many_streams: 'streams',
};

/** What the audit reads of a request (the pipeline's context is one). */
export interface AuditedRequest {
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly clientIp: string;
  readonly endpoint: { readonly upstream: string; readonly path: string };
  readonly startedAt: number;
  readonly span?: SpanHandle;
  readonly principal?: Principal;
  readonly protocolVersion?: string;
  /** The request's JSON-RPC messages, once parsed. */
  readonly messages?: readonly JsonRpcMessage[];
}

/** Errors by which a call the policy never saw failed: its upstream could not be reached. */
const UNSERVED = new Set(['upstream_unavailable', 'upstream_timeout']);

export interface AuditServices {
  readonly log: AuditLog;
  readonly metrics?: GatewayMetrics;
}

export class RequestAudit implements VerdictRecorder {
  /** Allowed calls waiting for the upstream's answer, by request id, with their trace span. */
  private readonly pending = new Map<
    string,
    { request: JsonRpcRequest; verdict: PolicyVerdict; span: SpanHandle | undefined }
  >();

  /** Requests the gatekeeper decided, so a failure can tell which calls never reached it. */
  private readonly decidedIds = new Set<string>();

  constructor(
    private readonly services: AuditServices,
    private readonly ctx: AuditedRequest,
  ) {}

  /** The request is over: an answer that never came (the client went away) still gets its event. */
  ended(): void {
    this.settleAll('cancelled');
  }

  authenticated(principal: Principal): void {
    if (principal.kind === 'anonymous') return;
    this.ctx.span?.setPrincipal(principal.id);
    this.services.log.record({
      type: 'auth.success',
      requestId: this.ctx.requestId,
      method: authMethodOf(principal),
      principal: auditPrincipal(principal),
      clientIp: this.ctx.clientIp,
      upstream: this.ctx.endpoint.upstream,
      endpoint: this.ctx.endpoint.path,
    });
  }

  authFailed(error: GatewayError, method: AuthFailureMethod, username: string | undefined): void {
    this.services.log.record({
      type: 'auth.failure',
      requestId: this.ctx.requestId,
      method,
      reason: error.code,
      message: error.message,
      status: error.status,
      clientIp: this.ctx.clientIp,
      upstream: this.ctx.endpoint.upstream,
      endpoint: this.ctx.endpoint.path,
      ...(username !== undefined ? { username } : {}),
    });
  }

  decided(request: JsonRpcRequest, verdict: PolicyVerdict): void {
    this.decidedIds.add(idKey(request.id));
    if (verdict.outcome === 'denied') {
      this.ctx.span?.event('policy.denied', {
        'portcullis.rule': verdict.rule,
        'portcullis.code': verdict.code,
      });
      this.record(request, verdict);
      return;
    }
    // Resource spans are named by the method alone: URIs would make every span name unique.
    const name =
      verdict.target.kind === 'resource' ? request.method : `${request.method} ${verdict.target.name}`;
    const span = this.ctx.span?.child(name, {
      upstream: verdict.upstream ?? this.ctx.endpoint.upstream,
      mcpMethod: request.method,
      target: verdict.target,
      ...(this.ctx.protocolVersion !== undefined ? { protocolVersion: this.ctx.protocolVersion } : {}),
    });
    this.pending.set(idKey(request.id), { request, verdict, span });
  }

  /** A response on its way to the client: closes the pending decision of its request, if any. */
  answered(response: JsonRpcResponse): void {
    if (response.id === null || response.id === undefined) return;
    const key = idKey(response.id);
    const entry = this.pending.get(key);
    if (!entry) return;
    this.pending.delete(key);
    const status = statusOf(response);
    entry.span?.end(status);
    this.record(entry.request, entry.verdict, status, response);
  }

  /**
   * A request ended by an error: allowed calls still waiting get it as their upstream status, and a
   * limit's refusal becomes a rate_limit.refused event.
   */
  failed(error: GatewayError): void {
    const status: UpstreamStatus =
      error.code === 'upstream_timeout'
        ? 'timeout'
        : error.code === 'upstream_unavailable'
          ? 'unavailable'
          : 'error';
    this.settleAll(status, error.code);
    if (UNSERVED.has(error.code)) this.recordUnserved(error, status);
    const budget = error.code === 'rate_limited' ? rateBudget(error.data?.limit) : LIMIT_BUDGETS[error.code];
    if (!budget) return;
    this.ctx.span?.event('rate_limit.refused', { 'portcullis.budget': budget });
    const limit = typeof error.data?.limit === 'string' ? error.data.limit : '';
    const retryAfter = error.retryAfter ?? Number.NaN;
    this.services.log.record({
      type: 'rate_limit.refused',
      requestId: this.ctx.requestId,
      budget,
      code: error.code,
      clientIp: this.ctx.clientIp,
      upstream: this.ctx.endpoint.upstream,
      ...(this.ctx.principal && this.ctx.principal.kind !== 'anonymous'
        ? { principal: auditPrincipal(this.ctx.principal) }
        : {}),
      ...(budget === 'tool' ? { tool: limit.slice('tool:'.length) } : {}),
      ...(Number.isFinite(retryAfter) ? { retryAfter } : {}),
    });
  }

  /**
   * Governed calls that failed before the policy could see them (the upstream, whose catalog the
   * decision needs, could not be reached) still leave a decision in the trail: denied, with why.
   */
  private recordUnserved(error: GatewayError, status: UpstreamStatus): void {
    for (const message of this.ctx.messages ?? []) {
      if (!isRequest(message) || this.decidedIds.has(idKey(message.id))) continue;
      const target = auditTarget(message);
      if (!target) continue;
      this.decidedIds.add(idKey(message.id));
      this.record(
        message,
        { target, outcome: 'denied', rule: `not relayed: ${error.message}`, code: error.code },
        status,
      );
    }
  }

  /** Closes every call still waiting for its answer with `status`. */
  private settleAll(status: UpstreamStatus, errorCode?: string): void {
    for (const { request, verdict, span } of this.pending.values()) {
      span?.end(status, errorCode);
      this.record(request, verdict, status);
    }
    this.pending.clear();
  }

  private record(
    request: JsonRpcRequest,
    verdict: PolicyVerdict,
    upstreamStatus?: UpstreamStatus,
    response?: JsonRpcResponse,
  ): void {
    const principal = this.ctx.principal;
    if (!principal) return;
    const upstream = verdict.upstream ?? this.ctx.endpoint.upstream;
    const latencyMs =
      upstreamStatus === undefined ? undefined : Math.round(performance.now() - this.ctx.startedAt);
    if (latencyMs !== undefined && upstreamStatus !== undefined)
      this.services.metrics?.observeUpstream(upstream, request.method, upstreamStatus, latencyMs / 1000);
    // The response is the one the client got: the gatekeeper's markers say what it withheld.
    const withheld = response && 'result' in response ? withheldIn(request.method, response.result) : [];
    const withPayload =
      verdict.target.kind === 'tool' && this.services.log.logsArgumentsOf(upstream, verdict.target.name);
    const event: Omit<PolicyDecisionEvent, 'time'> = {
      type: 'policy.decision',
      requestId: this.ctx.requestId,
      principal: auditPrincipal(principal),
      clientIp: this.ctx.clientIp,
      upstream,
      method: request.method,
      target: verdict.target,
      outcome: verdict.outcome,
      rule: verdict.rule,
      ...(verdict.code !== undefined ? { code: verdict.code } : {}),
      ...(verdict.missingScopes !== undefined ? { missingScopes: verdict.missingScopes } : {}),
      ...(latencyMs !== undefined ? { latencyMs } : {}),
      ...(upstreamStatus !== undefined ? { upstreamStatus } : {}),
      ...(response && 'error' in response && response.error ? { upstreamError: response.error.code } : {}),
      ...(withheld.length > 0 ? { withheld } : {}),
      ...(this.ctx.protocolVersion !== undefined ? { protocolVersion: this.ctx.protocolVersion } : {}),
      ...(withPayload ? { arguments: (request.params as Params | undefined)?.arguments ?? {} } : {}),
      ...(withPayload && response && 'result' in response ? { result: response.result } : {}),
    };
    this.services.log.record(event);
  }
}

/** What a request is about, for the trail: the governed MCP methods, undefined for the rest. */
export function auditTarget(request: JsonRpcRequest): AuditTarget | undefined {
  return requestTarget(request.method, request.params);
}

function authMethodOf(principal: Principal): AuthMethod {
  if (principal.kind === 'api-key' || principal.kind === 'basic' || principal.kind === 'oauth')
    return principal.kind;
  return principal.id.startsWith('introspection:') ? 'introspection' : 'jwt';
}

function rateBudget(limit: unknown): RateLimitRefusedEvent['budget'] | undefined {
  if (limit === 'ip' || limit === 'principal') return limit;
  if (typeof limit === 'string' && limit.startsWith('tool:')) return 'tool';
  return undefined;
}

function statusOf(response: JsonRpcResponse): UpstreamStatus {
  if (!('error' in response) || !response.error) return 'ok';
  // The gateway's own answers when the upstream did not give one.
  if (response.error.code === RPC.upstreamTimeout) return 'timeout';
  if (response.error.code === RPC.upstreamUnavailable) return 'unavailable';
  return 'error';
}
