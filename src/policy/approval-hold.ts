/**
 * What happens to a call an approval rule holds (policy.approval), after the policy and the guards
 * allowed it. With an approval for exactly this call (approved, unused, same binding) the call runs,
 * once. Otherwise the caller's open request is reused, or a new one made, and the caller is told in
 * its protocol's own way:
 * - a 2026-07-28 client that declared URL elicitation gets `input_required` with a URL elicitation
 *   of the approval page and a `requestState`; its retry waits up to `wait` for the decision, then
 *   runs the call, refuses it (denied, expired), or asks again;
 * - a 2025 client that declared URL elicitation gets `elicitation/create` (mode `url`) on its
 *   session; once it accepts, the call waits (until the request expires) for the decision;
 * - any other caller waits up to `wait`, then gets `approval_required` with the link; its retry with
 *   the same arguments runs once someone approved.
 */
import { GatewayError } from '../core/errors.js';
import type { JsonRpcRequest, JsonRpcResponse, Params } from '../core/jsonrpc.js';
import type { Principal } from '../core/principal.js';
import { rpcError } from '../core/render.js';
import type { ApprovalBinding, ApprovalRecord } from '../store/store.js';
import type { ApprovalRuleMatch } from './approval-rules.js';
import type { ApprovalStateCodec } from './approval-state.js';
import type { Approvals } from './approvals.js';

/** The key of the approval's input request in a 2026-07-28 input_required round. */
export const APPROVAL_INPUT = 'approval';

/** How the caller can be sent to a page mid-call (MCP URL-mode elicitation), if at all. */
export type UrlAsk =
  /** A 2026-07-28 client that declared `elicitation.url`: an input_required round. */
  | { readonly kind: 'input_required' }
  /** A 2025 session whose client declared `elicitation.url`: a gateway-originated request. */
  | {
      readonly kind: 'elicitation';
      /** Sends `elicitation/create` with `params`; resolves with the client's result (undefined: no answer). */
      elicit(params: Params): Promise<Params | undefined>;
      /** Tells the client the elicitation is over (notifications/elicitation/complete). */
      complete(elicitationId: string): void;
    };

/** A call an approval rule holds: the rule and what an approval for it must be bound to. */
export interface HeldCall {
  readonly match: ApprovalRuleMatch;
  readonly binding: ApprovalBinding;
}

export interface HoldContext {
  readonly request: JsonRpcRequest;
  readonly principal: Principal;
  readonly requestId: string;
  readonly ask?: UrlAsk;
  /** Relays the (possibly rewritten) request to the upstream. */
  readonly relay: (request: JsonRpcRequest) => Promise<JsonRpcResponse>;
}

export class ApprovalHold {
  constructor(
    private readonly approvals: Approvals,
    private readonly states: ApprovalStateCodec,
  ) {}

  async run(held: HeldCall, call: HoldContext): Promise<JsonRpcResponse> {
    const { approvals } = this;
    const { binding } = held;
    const resumed = await this.resumed(call, binding);
    const forwarded = resumed ? withoutInputRound(call.request) : call.request;
    let record = resumed?.record ?? (await approvals.open(binding));
    if (record && usable(record)) return this.runApproved(record, held, call, forwarded);
    if (resumed && record?.status === 'approved') record = undefined; // used already: a replay asks anew
    if (resumed && record && record.status !== 'pending') return this.answer(call, refusal(record));
    if (resumed?.declined && record)
      return this.answer(call, required(record, approvals, 'the client declined to open the approval page'));
    record ??= await approvals.request(
      binding,
      call.principal,
      args(call.request),
      held.match,
      call.requestId,
    );

    const ask = call.ask;
    if (ask?.kind === 'input_required' && !resumed) return this.inputRequired(call, record, held);
    let decided: ApprovalRecord | undefined;
    if (ask?.kind === 'elicitation') {
      const answer = await within(
        ask.elicit(elicitation(record, held, approvals)),
        record.expiresAt - Date.now(),
      );
      if (answer?.action !== 'accept')
        return this.answer(call, required(record, approvals, 'the client did not open the approval page'));
      decided = await approvals.awaitDecision(record.id, record.expiresAt);
      ask.complete(record.id);
    } else {
      decided = await approvals.awaitDecision(record.id, Date.now() + approvals.waitMs);
    }
    if (!decided) return this.answer(call, required(record, approvals, 'the request is gone'));
    if (decided.status === 'approved') return this.runApproved(decided, held, call, forwarded);
    if (decided.status !== 'pending') return this.answer(call, refusal(decided));
    if (ask?.kind === 'input_required') return this.inputRequired(call, decided, held);
    return this.answer(call, required(decided, approvals));
  }

  /** A 2026 retry carrying one of our states: its approval (bound to this very call) and the answer. */
  private async resumed(
    call: HoldContext,
    binding: ApprovalBinding,
  ): Promise<{ record: ApprovalRecord | undefined; declined: boolean } | undefined> {
    const state = call.request.params?.requestState;
    if (typeof state !== 'string') return undefined;
    const id = await this.states.open(state, call.principal.id, binding.upstream);
    if (id === undefined) return undefined;
    const record = await this.approvals.store.get(id);
    if (record && !sameCall(record, binding))
      throw new GatewayError(
        'invalid_request_state',
        'requestState is not valid: it belongs to a call with other arguments — start the request again without it',
        { rpcCode: -32602 },
      );
    const responses = call.request.params?.inputResponses as Params | undefined;
    const answer = responses?.[APPROVAL_INPUT] as Params | undefined;
    return { record, declined: answer !== undefined && answer.action !== 'accept' };
  }

  /** Uses the approval and runs the call once; an approval someone else just used means asking again. */
  private async runApproved(
    record: ApprovalRecord,
    held: HeldCall,
    call: HoldContext,
    forwarded: JsonRpcRequest,
  ): Promise<JsonRpcResponse> {
    if (await this.approvals.use(record, held.binding, call.principal, call.requestId))
      return call.relay(forwarded);
    const fresh = await this.approvals.request(
      held.binding,
      call.principal,
      args(call.request),
      held.match,
      call.requestId,
    );
    if (call.ask?.kind === 'input_required') return this.inputRequired(call, fresh, held);
    return this.answer(call, required(fresh, this.approvals, 'its approval was already used'));
  }

  private async inputRequired(
    call: HoldContext,
    record: ApprovalRecord,
    held: HeldCall,
  ): Promise<JsonRpcResponse> {
    const requestState = await this.states.mint(record.id, call.principal.id, record.upstream);
    return {
      jsonrpc: '2.0',
      id: call.request.id,
      result: {
        resultType: 'input_required',
        inputRequests: {
          [APPROVAL_INPUT]: {
            method: 'elicitation/create',
            params: elicitation(record, held, this.approvals),
          },
        },
        requestState,
      },
    };
  }

  private answer(call: HoldContext, error: GatewayError): JsonRpcResponse {
    return { jsonrpc: '2.0', id: call.request.id, error: rpcError(error, call.requestId) };
  }
}

/** `promise`'s value, or undefined once `ms` passed (a client that never answers holds nothing). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  return Promise.race([promise.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

const args = (request: JsonRpcRequest) => request.params?.arguments as Params | undefined;

const usable = (record: ApprovalRecord) =>
  record.status === 'approved' && record.usedAt === null && record.expiresAt > Date.now();

/** The call as the approval binds it (the state's principal and upstream were checked by the codec). */
function sameCall(record: ApprovalRecord, binding: ApprovalBinding): boolean {
  return (
    record.tool === binding.tool &&
    record.argumentsHash === binding.argumentsHash &&
    record.policyVersion === binding.policyVersion
  );
}

/** The request without the input round's fields, as the upstream must get it. */
function withoutInputRound(request: JsonRpcRequest): JsonRpcRequest {
  const { requestState: _state, inputResponses: _responses, ...params } = request.params ?? {};
  return { ...request, params };
}

/** The URL-mode elicitation of the approval page (MCP 2025-11-25 ElicitRequestURLParams). */
function elicitation(record: ApprovalRecord, held: HeldCall, approvals: Approvals): Params {
  return {
    mode: 'url',
    elicitationId: record.id,
    url: approvals.link(record.id),
    message: `The call of tool '${record.tool}' on '${record.upstream}' needs a person's approval (${held.match.reason}). Open the page to see it; someone allowed to approve it must say yes.`,
  };
}

function what(record: ApprovalRecord): string {
  return `the call of tool '${record.tool}' on upstream '${record.upstream}'`;
}

function approvalData(record: ApprovalRecord, approvals: Approvals): Record<string, unknown> {
  return {
    approvalId: record.id,
    approvalUrl: approvals.link(record.id),
    expiresAt: new Date(record.expiresAt).toISOString(),
  };
}

function required(record: ApprovalRecord, approvals: Approvals, why?: string): GatewayError {
  return new GatewayError(
    'approval_required',
    `${what(record)} waits for a person's approval${why ? ` (${why})` : ''}: open ${approvals.link(record.id)} — someone with the scope tools:approve must approve it by ${new Date(record.expiresAt).toISOString()}, then call again with the same arguments`,
    { data: approvalData(record, approvals) },
  );
}

/** A decided request that will not run: denied, or expired (a used approval is asked anew instead). */
function refusal(record: ApprovalRecord): GatewayError {
  if (record.status === 'denied')
    return new GatewayError(
      'approval_denied',
      `${what(record)} was denied by the person asked to approve it — it did not run; call again to ask anew`,
      { data: { approvalId: record.id } },
    );
  return new GatewayError(
    'approval_expired',
    `${what(record)} was not approved in time, so it is refused — it did not run; call again to ask anew`,
    { data: { approvalId: record.id } },
  );
}
