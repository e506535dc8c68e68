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
import { randomBytes } from 'node:crypto';
import { GatewayError, type RequestId, toGatewayError } from '../../core/errors.js';
import {
  idKey,
  isRequest,
  type JsonRpcErrorObject,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Params,
} from '../../core/jsonrpc.js';
import { methodFacts } from '../../core/methods.js';
import type { Principal } from '../../core/principal.js';
import { rpcError } from '../../core/render.js';
import { META, MODERN_REVISIONS, type ModernEnvelope } from '../../core/revisions.js';
import type { Logger } from '../../log/logger.js';
import type { Gatekeeper } from '../../policy/gatekeeper.js';
import type { UpstreamCall, UpstreamLink } from '../upstream-link.js';
import type { ModernBackend } from './backend.js';
import { BackendBase } from './backend-base.js';
import type { ModernExchange } from './exchange.js';
import { checkMirrored } from './param-headers.js';
import type { RequestStateCodec } from './request-state.js';
import { type CachePolicy, completeResult, modernCapabilities, modernError } from './results.js';

/** What the gateway declares to a 2025 upstream: everything it can bridge. */
const BRIDGE_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} };
const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export interface UpstreamIdentity {
  readonly protocolVersion: string;
  readonly capabilities: Params;
  readonly serverInfo: Params | undefined;
  readonly instructions: string | undefined;
}

interface PendingInput {
  readonly upstreamId: RequestId;
  readonly method: string;
  readonly params: Params | undefined;
}

class BridgedCall {
  readonly id = randomBytes(12).toString('base64url');
  state: 'running' | 'parked' | 'done' = 'running';
  readonly inputs = new Map<string, PendingInput>();
  finalResponse: JsonRpcResponse | undefined;
  parkTimer: NodeJS.Timeout | undefined;
  parkScheduled = false;

  constructor(
    readonly method: string,
    readonly upstream: UpstreamCall,
    public clientId: RequestId,
    public exchange: ModernExchange,
    public envelope: ModernEnvelope,
    readonly progressKey: string | undefined,
    public principal: Principal,
  ) {}
}

interface Listener {
  readonly id: RequestId;
  readonly filter: { tools: boolean; prompts: boolean; resources: boolean; uris: ReadonlySet<string> };
  readonly exchange: ModernExchange;
}

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
  private readonly running = new Set<BridgedCall>();
  private readonly parked = new Map<string, BridgedCall>();
  private readonly byProgress = new Map<string, BridgedCall>();
  private readonly listeners = new Set<Listener>();
  private readonly subscriptions = new Map<string, number>();
  private upstreamLogLevel: string | undefined;

  constructor(private readonly options: BridgeOptions) {
    super(options.principal, options.gatekeeper, options.link);
  }

  activity(): { inFlight: number; openStreams: number } {
    return { inFlight: this.running.size + this.parked.size, openStreams: this.listeners.size };
  }

  /** Initializes the upstream session as a 2025 client that can bridge every server request. */
  async start(): Promise<void> {
    const { response } = this.options.link.request({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: BRIDGE_CAPABILITIES,
        clientInfo: { name: 'portcullis-bridge', version: '0.1.0' },
      },
    });
    const answer = await response;
    if (!('result' in answer)) {
      throw new GatewayError(
        'upstream_unavailable',
        `upstream '${this.upstream}' refused to initialize: ${answer.error.message}`,
      );
    }
    const r = answer.result;
    this.identity = {
      protocolVersion: String(r.protocolVersion),
      capabilities: (r.capabilities as Params | undefined) ?? {},
      serverInfo: r.serverInfo as Params | undefined,
      instructions: typeof r.instructions === 'string' ? r.instructions : undefined,
    };
    this.options.link.notify({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  /** `server/discover`: what the gateway and the upstream together support. */
  async discover(
    request: JsonRpcRequest,
    _envelope: ModernEnvelope,
    exchange: ModernExchange,
  ): Promise<void> {
    exchange.answer({ jsonrpc: '2.0', id: request.id, result: this.discovery() });
  }

  private discovery(): Params {
    const identity = this.requireIdentity();
    return completeResult(
      'server/discover',
      {
        supportedVersions: [...MODERN_REVISIONS],
        capabilities: modernCapabilities(identity.capabilities),
        ...(identity.instructions ? { instructions: identity.instructions } : {}),
        ...(identity.serverInfo ? { _meta: { [META.serverInfo]: identity.serverInfo } } : {}),
      },
      this.options.cache,
    );
  }

  /** Relays one request; resumes a parked call when the request carries `requestState`. */
  async call(
    request: JsonRpcRequest,
    envelope: ModernEnvelope,
    exchange: ModernExchange,
    principal: Principal,
  ): Promise<void> {
    this.touch();
    const state = request.params?.requestState;
    if (typeof state === 'string') return this.resume(request, state, envelope, exchange, principal);
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
    const token = (request.params?._meta as Params | undefined)?.progressToken;
    const progressKey = typeof token === 'string' || typeof token === 'number' ? idKey(token) : undefined;
    const call = new BridgedCall(
      request.method,
      upstream,
      request.id,
      exchange,
      envelope,
      progressKey,
      principal,
    );
    this.running.add(call);
    if (progressKey) this.byProgress.set(progressKey, call);
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
    const honours = (kind: 'tools' | 'prompts' | 'resources', flag: string) =>
      wanted[flag] === true && capabilities[kind]?.listChanged === true;
    const uris =
      Array.isArray(wanted.resourceSubscriptions) && capabilities.resources?.subscribe === true
        ? wanted.resourceSubscriptions.filter((u): u is string => typeof u === 'string')
        : [];
    const filter = {
      tools: honours('tools', 'toolsListChanged'),
      prompts: honours('prompts', 'promptsListChanged'),
      resources: honours('resources', 'resourcesListChanged'),
      uris: new Set(uris),
    };
    for (const uri of filter.uris) await this.subscribe(uri);
    const listener: Listener = { id: request.id, filter, exchange };
    this.listeners.add(listener);
    exchange.onclose = () => {
      this.listeners.delete(listener);
      for (const uri of filter.uris) void this.unsubscribe(uri);
      this.touch();
    };
    exchange.notify({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: {
        notifications: {
          ...(filter.tools ? { toolsListChanged: true } : {}),
          ...(filter.prompts ? { promptsListChanged: true } : {}),
          ...(filter.resources ? { resourcesListChanged: true } : {}),
          ...(uris.length > 0 ? { resourceSubscriptions: uris } : {}),
        },
        _meta: { [META.subscriptionId]: request.id },
      },
    });
  }

  /** The client closed a request's stream or sent notifications/cancelled for it. */
  cancel(clientId: RequestId): void {
    for (const call of this.running)
      if (idKey(call.clientId) === idKey(clientId)) this.abandon(call, 'cancelled by the client');
  }

  async close(): Promise<void> {
    for (const call of [...this.running, ...this.parked.values()])
      this.abandon(call, 'the gateway closed the session');
    for (const listener of this.listeners) listener.exchange.abandon();
    await this.options.link.close();
  }

  private async resume(
    request: JsonRpcRequest,
    state: string,
    envelope: ModernEnvelope,
    exchange: ModernExchange,
    principal: Principal,
  ): Promise<void> {
    const claims = await this.options.codec.open(state, this.principal.id, this.upstream);
    const call = this.parked.get(claims.call);
    if (!call || call.method !== request.method) {
      throw new GatewayError(
        'invalid_request_state',
        'requestState is not valid: it was already used or its call has ended — start the request again without it',
        {
          rpcCode: -32602,
        },
      );
    }
    this.parked.delete(call.id);
    clearTimeout(call.parkTimer);
    call.state = 'running';
    call.clientId = request.id;
    call.exchange = exchange;
    call.envelope = envelope;
    call.principal = principal;
    this.running.add(call);
    this.watch(call, exchange);
    const answers = (request.params?.inputResponses ?? {}) as Params;
    for (const [key, input] of call.inputs) {
      const answer = answers[key];
      this.options.link.respond(
        answer !== null && typeof answer === 'object'
          ? { jsonrpc: '2.0', id: input.upstreamId, result: answer as Params }
          : {
              jsonrpc: '2.0',
              id: input.upstreamId,
              error: { code: -32600, message: `the client did not answer ${input.method}` },
            },
      );
    }
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
    const answer = this.toClient(call, response);
    call.exchange.answer(answer);
  }

  private toClient(call: BridgedCall, response: JsonRpcResponse): JsonRpcResponse {
    if ('result' in response) {
      return {
        jsonrpc: '2.0',
        id: call.clientId,
        result: completeResult(call.method, response.result, this.options.cache),
      };
    }
    return { jsonrpc: '2.0', id: call.clientId, error: modernError(response.error) };
  }

  private forget(call: BridgedCall): void {
    call.state = 'done';
    this.running.delete(call);
    this.parked.delete(call.id);
    clearTimeout(call.parkTimer);
    if (call.progressKey && this.byProgress.get(call.progressKey) === call)
      this.byProgress.delete(call.progressKey);
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
        const token = params.progressToken;
        const call =
          typeof token === 'string' || typeof token === 'number'
            ? this.byProgress.get(idKey(token))
            : undefined;
        call?.exchange.notify(message);
        return;
      }
      case 'notifications/message': {
        const call = [...this.running].reverse().find((c) => c.envelope.logLevel !== undefined);
        if (call && levelAtLeast(String(params.level), call.envelope.logLevel as string))
          call.exchange.notify(message);
        return;
      }
      case 'notifications/tools/list_changed':
        this.gatekeeper.catalog.invalidate();
        this.broadcast(message, (f) => f.tools);
        return;
      case 'notifications/prompts/list_changed':
        this.broadcast(message, (f) => f.prompts);
        return;
      case 'notifications/resources/list_changed':
        this.broadcast(message, (f) => f.resources);
        return;
      case 'notifications/resources/updated':
        this.broadcast(message, (f) => f.uris.has(String(params.uri)));
        return;
      case 'notifications/cancelled':
        for (const call of [...this.running, ...this.parked.values()]) {
          for (const [key, input] of call.inputs)
            if (input.upstreamId === params.requestId) call.inputs.delete(key);
        }
        return;
      default:
        return;
    }
  }

  private broadcast(message: JsonRpcNotification, wants: (filter: Listener['filter']) => boolean): void {
    for (const listener of this.listeners) {
      if (!wants(listener.filter)) continue;
      listener.exchange.notify({
        ...message,
        params: {
          ...message.params,
          _meta: { ...(message.params?._meta as Params | undefined), [META.subscriptionId]: listener.id },
        },
      });
    }
  }

  /** A request from the upstream: becomes an input request of the call it belongs to. */
  private serverRequest(message: JsonRpcRequest): void {
    if (message.method === 'ping') {
      this.options.link.respond({ jsonrpc: '2.0', id: message.id, result: {} });
      return;
    }
    const call = [...this.running].reverse().find((c) => methodFacts(c.method).multiRoundTrip);
    if (!call) {
      // Outside any call (e.g. roots/list right after initialize) there is no one to ask.
      const answer: JsonRpcResponse =
        message.method === 'roots/list'
          ? { jsonrpc: '2.0', id: message.id, result: { roots: [] } }
          : {
              jsonrpc: '2.0',
              id: message.id,
              error: {
                code: -32601,
                message: `${message.method} cannot be relayed outside a client request`,
              },
            };
      this.options.link.respond(answer);
      return;
    }
    const missing = missingCapability(message, call.envelope.clientCapabilities);
    if (missing) {
      this.options.link.respond({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32601, message: `the client did not declare the ${missing} capability` },
      });
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
    call.state = 'parked';
    this.running.delete(call);
    this.parked.set(call.id, call);
    call.parkTimer = setTimeout(
      () => this.abandon(call, 'the client did not retry in time'),
      this.options.parkTtlMs,
    );
    call.parkTimer.unref();
    const requestState = await this.options.codec.mint({
      call: call.id,
      principal: this.principal.id,
      upstream: this.upstream,
    });
    const inputRequests = Object.fromEntries(
      [...call.inputs].map(([key, input]) => [
        key,
        { method: input.method, ...(input.params ? { params: omitMeta(input.params) } : {}) },
      ]),
    );
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

  private async subscribe(uri: string): Promise<void> {
    const count = this.subscriptions.get(uri) ?? 0;
    this.subscriptions.set(uri, count + 1);
    if (count === 0)
      await this.options.link.request({
        jsonrpc: '2.0',
        id: 0,
        method: 'resources/subscribe',
        params: { uri },
      }).response;
  }

  private async unsubscribe(uri: string): Promise<void> {
    const count = (this.subscriptions.get(uri) ?? 1) - 1;
    if (count > 0) {
      this.subscriptions.set(uri, count);
      return;
    }
    this.subscriptions.delete(uri);
    await this.options.link
      .request({ jsonrpc: '2.0', id: 0, method: 'resources/unsubscribe', params: { uri } })
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

/** The params a 2025 upstream gets: the 2026 envelope keys and MRTR fields removed. */
function upstreamParams(params: Params | undefined): Params | undefined {
  if (!params) return params;
  const { inputResponses: _responses, requestState: _state, ...rest } = params;
  const meta = rest._meta as Params | undefined;
  if (!meta) return rest;
  const kept = Object.fromEntries(
    Object.entries(meta).filter(([k]) => !k.startsWith('io.modelcontextprotocol/')),
  );
  return Object.keys(kept).length > 0 ? { ...rest, _meta: kept } : omitMeta(rest);
}

function omitMeta(params: Params): Params {
  const { _meta: _dropped, ...rest } = params;
  return rest;
}

function missingCapability(
  message: JsonRpcRequest,
  capabilities: Record<string, unknown>,
): string | undefined {
  switch (message.method) {
    case 'elicitation/create': {
      const elicitation = capabilities.elicitation as Record<string, unknown> | undefined;
      if (!elicitation) return 'elicitation';
      const mode = message.params?.mode === 'url' ? 'url' : 'form';
      const declaresModes = 'form' in elicitation || 'url' in elicitation;
      return mode === 'url'
        ? elicitation.url
          ? undefined
          : 'elicitation.url'
        : declaresModes && !elicitation.form
          ? 'elicitation.form'
          : undefined;
    }
    case 'sampling/createMessage':
      return capabilities.sampling ? undefined : 'sampling';
    case 'roots/list':
      return capabilities.roots ? undefined : 'roots';
    default:
      return message.method;
  }
}

function levelAtLeast(level: string, minimum: string): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(minimum);
}
