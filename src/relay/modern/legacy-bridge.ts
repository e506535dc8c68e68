/**
 * Serves 2026-07-28 (stateless) requests from one principal with a 2025 upstream session that the
 * gateway holds for them: the gateway does the initialize, relays each request, and turns what a
 * 2025 server does over its session into what a 2026 client expects:
 * - a request the upstream sends mid-call (elicitation, sampling, roots) parks the call and answers
 *   the client `input_required`, with a signed `requestState`; the client's retry carries the
 *   answers (`inputResponses`) back to the waiting upstream request;
 * - progress and (when `_meta.logLevel` asks for them) log messages travel on the request's own
 *   response stream;
 * - list_changed and resource updates fan out to `subscriptions/listen` streams, and resource
 *   subscriptions are held upstream while any listener wants them.
 *
 * A stdio upstream never says which call a mid-call request belongs to; it is given to the newest
 * call in flight on this principal's session (never to another principal's: sessions are theirs).
 */
import { GatewayError, type RequestId, toGatewayError } from '../../core/errors.js';
import {
  idKey,
  isRequest,
  type JsonRpcErrorObject,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Params,
  progressKeyOf,
  progressTokenOf,
} from '../../core/jsonrpc.js';
import { methodFacts } from '../../core/methods.js';
import type { Principal } from '../../core/principal.js';
import { rpcError } from '../../core/render.js';
import type { ModernEnvelope } from '../../core/revisions.js';
import type { Logger } from '../../log/logger.js';
import type { Gatekeeper } from '../../policy/gatekeeper.js';
import type { UpstreamLink } from '../upstream-link.js';
import type { ModernBackend } from './backend.js';
import { BackendBase } from './backend-base.js';
import { BridgeCalls, BridgedCall } from './bridge-calls.js';
import { BridgeListeners } from './bridge-listeners.js';
import {
  answerHere,
  answerOutsideACall,
  clientAnswer,
  discoveryOf,
  identityOf,
  initializeRequest,
  inputRequestsOf,
  levelAtLeast,
  type UpstreamIdentity,
  upstreamAnswers,
  upstreamParams,
} from './bridge-translate.js';
import type { ModernExchange } from './exchange.js';
import { checkMirrored } from './param-headers.js';
import type { RequestStateCodec } from './request-state.js';
import type { CachePolicy } from './results.js';

export interface BridgeOptions {
  readonly principal: Principal;
  readonly gatekeeper: Gatekeeper;
  readonly link: UpstreamLink;
  readonly codec: RequestStateCodec;
  readonly cache: CachePolicy;
  /** How long a parked call waits for the client's retry. */
  readonly parkTtlMs: number;
  readonly logger: Logger;
}

export class LegacyBridge extends BackendBase implements ModernBackend {
  private identity: UpstreamIdentity | undefined;
  private readonly calls = new BridgeCalls();
  private readonly listeners: BridgeListeners;
  private upstreamLogLevel: string | undefined;

  constructor(private readonly options: BridgeOptions) {
    super(options.principal, options.gatekeeper, options.link);
    this.listeners = new BridgeListeners(options.link, () => this.touch());
  }

  activity(): { inFlight: number; openStreams: number } {
    return { inFlight: this.calls.size, openStreams: this.listeners.size };
  }

  /** Initializes the upstream session as a 2025 client that can bridge every server request. */
  async start(): Promise<void> {
    const answer = await this.options.link.request(initializeRequest()).response;
    if (!('result' in answer)) {
      throw new GatewayError(
        'upstream_unavailable',
        `upstream '${this.upstream}' refused to initialize: ${answer.error.message}`,
      );
    }
    this.identity = identityOf(answer.result);
    this.options.link.notify({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  /** `server/discover`: what the gateway and the upstream together support. */
  async discover(
    request: JsonRpcRequest,
    _envelope: ModernEnvelope,
    exchange: ModernExchange,
  ): Promise<void> {
    exchange.answer({
      jsonrpc: '2.0',
      id: request.id,
      result: discoveryOf(this.requireIdentity(), this.options.cache),
    });
  }

  /** Relays one request; resumes a parked call when the request carries `requestState`. */
  async call(request: JsonRpcRequest, envelope: ModernEnvelope, exchange: ModernExchange): Promise<void> {
    this.touch();
    const state = request.params?.requestState;
    if (typeof state === 'string') return this.resume(request, state, envelope, exchange);
    if (request.params?.inputResponses !== undefined) {
      throw new GatewayError(
        'invalid_request_state',
        'inputResponses were sent without the requestState they answer',
        {
          rpcCode: -32602,
        },
      );
    }
    if (request.method === 'tools/call') {
      // A 2025 upstream takes no headers, but what the client mirrored must still agree with the body.
      const declared = await this.gatekeeper.catalog.declared(String(request.params?.name));
      if (declared)
        checkMirrored(declared, request.params?.arguments as Params | undefined, envelope.paramHeaders);
    }
    await this.syncLogLevel(envelope.logLevel);
    const forwarded: JsonRpcRequest = { ...request, params: upstreamParams(request.params) };
    const upstream = this.options.link.request(forwarded);
    const progressKey = progressKeyOf(progressTokenOf(request.params));
    const call = new BridgedCall(request.method, upstream, request.id, exchange, envelope, progressKey);
    this.calls.run(call);
    this.watch(call, exchange);
    upstream.response.then(
      (response) => this.finish(call, response),
      (err: unknown) =>
        this.finish(call, this.errorResponse(call.clientId, toGatewayError(err), call.exchange.requestId)),
    );
  }

  /** `subscriptions/listen`: acknowledges what can be honoured, then streams matching notifications. */
  async listen(request: JsonRpcRequest, _envelope: ModernEnvelope, exchange: ModernExchange): Promise<void> {
    const capabilities = this.requireIdentity().capabilities as Record<string, Params | undefined>;
    const wanted = (request.params?.notifications ?? {}) as Params;
    await this.listeners.listen(request.id, wanted, capabilities, exchange);
  }

  /** The client closed a request's stream or sent notifications/cancelled for it. */
  cancel(clientId: RequestId): void {
    const key = idKey(clientId);
    for (const call of this.calls.runningWithClientId((id) => idKey(id) === key))
      this.abandon(call, 'cancelled by the client');
  }

  async close(): Promise<void> {
    for (const call of this.calls.all()) this.abandon(call, 'the gateway closed the session');
    this.listeners.abandonAll();
    await this.options.link.close();
  }

  private async resume(
    request: JsonRpcRequest,
    state: string,
    envelope: ModernEnvelope,
    exchange: ModernExchange,
  ): Promise<void> {
    const claims = await this.options.codec.open(state, this.principal.id, this.upstream);
    const call = this.calls.parked(claims.call);
    if (!call || call.method !== request.method) {
      throw new GatewayError(
        'invalid_request_state',
        'requestState is not valid: it was already used or its call has ended — start the request again without it',
        {
          rpcCode: -32602,
        },
      );
    }
    call.clientId = request.id;
    call.exchange = exchange;
    call.envelope = envelope;
    this.calls.run(call);
    this.watch(call, exchange);
    for (const answer of upstreamAnswers(call.inputs, request.params?.inputResponses))
      this.options.link.respond(answer);
    call.inputs.clear();
    if (call.finalResponse) this.finish(call, call.finalResponse);
  }

  private watch(call: BridgedCall, exchange: ModernExchange): void {
    exchange.onclose = () => {
      if (call.exchange === exchange && call.state === 'running')
        this.abandon(call, 'the client closed the request');
    };
  }

  private finish(call: BridgedCall, response: JsonRpcResponse): void {
    if (call.state === 'done') return;
    if (call.state === 'parked') {
      call.finalResponse = response;
      return;
    }
    this.forget(call);
    call.exchange.answer(clientAnswer(call.method, response, call.clientId, this.options.cache));
  }

  private forget(call: BridgedCall): void {
    this.calls.done(call);
    this.touch();
  }

  private abandon(call: BridgedCall, reason: string): void {
    if (call.state === 'done') return;
    for (const input of call.inputs.values()) {
      this.options.link.respond({
        jsonrpc: '2.0',
        id: input.upstreamId,
        error: { code: -32600, message: reason },
      });
    }
    this.forget(call);
    call.exchange.abandon();
    this.options.link.cancel(call.upstream.handle, reason);
  }

  protected fromUpstream(message: JsonRpcRequest | JsonRpcNotification): void {
    if (isRequest(message)) {
      this.serverRequest(message);
      return;
    }
    const params = message.params ?? {};
    switch (message.method) {
      case 'notifications/progress': {
        const call = this.calls.byProgressKey(progressKeyOf(params.progressToken));
        call?.exchange.notify(message);
        return;
      }
      case 'notifications/message': {
        const call = this.calls.newestRunning((c) => c.envelope.logLevel !== undefined);
        if (call && levelAtLeast(String(params.level), call.envelope.logLevel as string))
          call.exchange.notify(message);
        return;
      }
      case 'notifications/tools/list_changed':
      case 'notifications/prompts/list_changed':
      case 'notifications/resources/list_changed':
      case 'notifications/resources/updated':
        if (message.method === 'notifications/tools/list_changed') this.gatekeeper.catalog.invalidate();
        this.listeners.deliver(message);
        return;
      case 'notifications/cancelled':
        for (const call of this.calls.all()) {
          for (const [key, input] of call.inputs)
            if (input.upstreamId === params.requestId) call.inputs.delete(key);
        }
        return;
      default:
        return;
    }
  }

  /** A request from the upstream: becomes an input request of the call it belongs to. */
  private serverRequest(message: JsonRpcRequest): void {
    const call = this.calls.newestRunning((c) => methodFacts(c.method).multiRoundTrip === true);
    const answer = answerHere(message, call?.envelope.clientCapabilities);
    if (answer || !call) {
      this.options.link.respond(answer ?? answerOutsideACall(message));
      return;
    }
    call.inputs.set(`input-${call.inputs.size + 1}`, {
      upstreamId: message.id,
      method: message.method,
      params: message.params,
    });
    if (call.parkScheduled) return;
    call.parkScheduled = true;
    // Requests the upstream sends together are answered in one round.
    setImmediate(() => void this.park(call));
  }

  private async park(call: BridgedCall): Promise<void> {
    call.parkScheduled = false;
    if (call.state !== 'running' || call.inputs.size === 0) return;
    const timer = setTimeout(
      () => this.abandon(call, 'the client did not retry in time'),
      this.options.parkTtlMs,
    );
    timer.unref();
    this.calls.park(call, timer);
    const requestState = await this.options.codec.mint({
      call: call.id,
      principal: this.principal.id,
      upstream: this.upstream,
    });
    const inputRequests = inputRequestsOf(call.inputs);
    call.exchange.answer({
      jsonrpc: '2.0',
      id: call.clientId,
      result: { resultType: 'input_required', inputRequests, requestState },
    });
  }

  /** logging/setLevel is per session in 2025; a request's logLevel sets it before the request runs. */
  private async syncLogLevel(level: string | undefined): Promise<void> {
    if (level === undefined || level === this.upstreamLogLevel || !this.identity?.capabilities.logging)
      return;
    this.upstreamLogLevel = level;
    await this.options.link
      .request({ jsonrpc: '2.0', id: 0, method: 'logging/setLevel', params: { level } })
      .response.catch(() => undefined);
  }

  private requireIdentity(): UpstreamIdentity {
    if (!this.identity)
      throw new GatewayError('upstream_unavailable', `upstream '${this.upstream}' is not initialized`);
    return this.identity;
  }

  private errorResponse(id: RequestId, err: GatewayError, requestId: string): JsonRpcResponse {
    const error: JsonRpcErrorObject = rpcError(err, requestId);
    return { jsonrpc: '2.0', id, error };
  }
}
