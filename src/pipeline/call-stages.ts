/**
 * The order of checks for every JSON-RPC request a client sends, whichever transport carried it
 * (a 2025 session's POST or a 2026-07-28 stateless request) and whichever upstream it goes to:
 *
 *   audit the answer ─▶ authorize (policy and argument guards, with the upstream's catalog; a
 *   refusal is the answer) ─▶ filter the result (lists and embedded resources) ─▶ hold for a
 *   person's approval (policy.approval) ─▶ the channel
 *
 * Each stage is `(call, next)` and returns the response: a check answers instead of calling
 * `next()`; the result filter works on what `next()` returned.
 */
import type { RequestAudit } from '../audit/request-audit.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../core/jsonrpc.js';
import type { Principal } from '../core/principal.js';
import { rpcError } from '../core/render.js';
import type { UrlAsk } from '../policy/approval-hold.js';
import { canStepUp, type Gatekeeper } from '../policy/gatekeeper.js';
import { compose, type Stage } from './compose.js';

export interface CallContext {
  readonly request: JsonRpcRequest;
  readonly principal: Principal;
  /** The policy over the upstream this call goes to, with that upstream's catalog. */
  readonly gatekeeper: Gatekeeper;
  /** The HTTP request's id, quoted in every error the client sees. */
  readonly requestId: string;
  /** The protected resource's metadata URL, for the insufficient_scope challenge. */
  readonly resourceMetadata: string;
  readonly audit: RequestAudit | undefined;
  /**
   * The call is the only request of its HTTP request: a refusal the caller can cure by authorizing
   * again (MCP step-up) is then thrown, so the transport answers it as HTTP 403 with its challenge.
   */
  readonly alone: boolean;
  /** How the caller can be sent to a page mid-call (URL elicitation), for a call held for approval. */
  readonly ask?: UrlAsk;
  /**
   * The channel's relaying of a request to its upstream: the innermost stage. It takes the request
   * because a stage may forward it changed (an approval's input round removed).
   */
  readonly relay: (request: JsonRpcRequest) => Promise<JsonRpcResponse>;
}

export type CallStage = Stage<CallContext, JsonRpcResponse>;

/** Runs one call through the stages and the channel. */
export type RunCall = (call: CallContext) => Promise<JsonRpcResponse>;

const auditAnswer: CallStage = async (call, next) => {
  const response = await next();
  call.audit?.answered(response);
  return response;
};

/**
 * A refusal is the call's answer, in band. Only a lone call refused for want of a scope the caller
 * can obtain by authorizing again (MCP step-up) is thrown, for the transport to answer as HTTP 403
 * with its challenge. What fails later (the upstream, the channel) is thrown to the transport too.
 */
const authorize: CallStage = async (call, next) => {
  const refusal = await call.gatekeeper.refusal(
    call.request,
    call.principal,
    call.resourceMetadata,
    call.audit,
  );
  if (!refusal) return next();
  if (call.alone && refusal.code === 'insufficient_scope' && canStepUp(call.principal)) throw refusal;
  return { jsonrpc: '2.0', id: call.request.id, error: rpcError(refusal, call.requestId) };
};

/**
 * Lists shrink to what the principal may use (and, with pinning enforced, to approved tools);
 * resources they may not read are withheld, also from the requests an input_required round carries.
 */
const filterResult: CallStage = async (call, next) => {
  const response = await next();
  if (!('result' in response)) return response;
  const { method } = call.request;
  const visible = call.gatekeeper.filter(method, response.result, call.principal);
  return { ...response, result: await call.gatekeeper.screenPinned(method, visible) };
};

/**
 * A tools/call an approval rule holds (policy.approval) runs only with a person's approval for
 * exactly it, once; until then the caller is told how to get one (src/policy/approval-hold.ts).
 */
const holdForApproval: CallStage = async (call, next) => {
  const held = await call.gatekeeper.held(call.request, call.principal);
  const hold = call.gatekeeper.approvalHold;
  if (!held || !hold) return next();
  return hold.run(held, call);
};

const STAGES: readonly CallStage[] = [auditAnswer, authorize, filterResult, holdForApproval];

export const runCall: RunCall = compose(STAGES, (call) => call.relay(call.request));
