/**
 * One client session of the 2025 protocol family, relayed to its own upstream link — or, on an
 * aggregated endpoint, to one channel (link and policy) per upstream, with an AggregateRouter
 * choosing which channel each request takes.
 *
 * Routing rules, because a stdio upstream never says which request a message belongs to:
 * - a response goes to the POST stream that carried its request;
 * - progress goes to the stream of the request that owns the progress token;
 * - anything else (server requests such as sampling or elicitation, logs, list_changed, resource
 *   updates) goes to the client's GET stream, else to the newest open POST stream with a request
 *   upstream, else waits in a bounded buffer for the next GET stream.
 * Ids the upstreams use for their own requests are replaced with session-local ones, so that the
 * channels' ids never collide and each answer goes back to the channel that asked.
 */

import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { RequestAudit } from '../audit/request-audit.js';
import { type Backoff, backoffDelay } from '../core/backoff.js';
import { GatewayError, RPC, toGatewayError } from '../core/errors.js';
import {
  asRequestId,
  isRequest,
  isResponse,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Params,
  progressTokenOf,
} from '../core/jsonrpc.js';
import type { Principal } from '../core/principal.js';
import { rpcError } from '../core/render.js';
import type { Logger } from '../log/logger.js';
import type { RunCall } from '../pipeline/call-stages.js';
import type { UrlAsk } from '../policy/approval-hold.js';
import type { Gatekeeper } from '../policy/gatekeeper.js';
import { screenServerRequest } from '../policy/result-filter.js';
import type { AggregateRouter, ChannelCall } from './aggregate/router.js';
import { CallAbandoned, CallTable } from './call-table.js';
import type { PostExchange } from './post-exchange.js';
import { ServerRequestIds } from './server-requests.js';
import { SessionStreams } from './session-streams.js';
import type { SessionUpstream } from './upstream-link.js';

/** 256 random bits, base64url: visible ASCII as the transport requires, unguessable. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** One conversation with one upstream: its link, and the policy over it. */
export interface Channel {
  readonly upstream: string;
  readonly link: SessionUpstream;
  readonly gatekeeper: Gatekeeper;
}

/**
 * One client request in flight: the requests it put to upstreams (one, or one per channel of a
 * fan-out), stopped together when the client cancels it or the session closes.
 */
class InFlight {
  registered = false;
  stopped = false;
  readonly running = new Set<{ channel: Channel; handle: number; reject: (err: unknown) => void }>();

  constructor(readonly exchange: PostExchange) {}

  /** Ends the call without an answer: `tell` the upstreams too when the client cancelled it. */
  stop(tell: boolean, reason?: unknown): void {
    this.stopped = true;
    for (const { channel, handle, reject } of this.running) {
      if (tell) channel.link.cancel(handle, reason);
      reject(new CallAbandoned());
    }
    this.running.clear();
  }
}

/** What an aggregated session needs beyond its channels. */
export interface AggregateSessionOptions {
  readonly router: AggregateRouter;
  /** The upstreams that could not be reached when the session opened. */
  readonly absent: readonly string[];
  /** A new channel to an upstream that left, for it to rejoin; rejects while it is still down. */
  readonly rejoin: (upstream: string) => Promise<Channel>;
  /** Backoff between attempts to rejoin an upstream (its own restart settings). */
  backoff(upstream: string): Backoff;
}

/** Who sent one POST, and what its calls are checked and recorded with. */
export interface PostContext {
  readonly requestId: string;
  readonly principal: Principal;
  readonly audit: RequestAudit | undefined;
  /** The protected resource's metadata URL, for a step-up challenge. */
  readonly resourceMetadata: string;
}

export interface SessionOptions {
  readonly principal: Principal;
  /** The endpoint's upstream as the registry and the audit trail name it (`*` for an aggregate). */
  readonly upstream: string;
  /** One channel, or on an aggregated endpoint those of its upstreams that could be reached. */
  readonly channels: readonly Channel[];
  readonly aggregate?: AggregateSessionOptions;
  /** The message path every request of the session takes (authorization, result filter, audit). */
  readonly runCall: RunCall;
  /** Open SSE streams allowed at once (the GET stream and POST answers together). */
  readonly maxStreams: number;
  readonly logger: Logger;
}

export class Session {
  readonly id = newSessionId();
  readonly kind = 'session' as const;
  readonly principal: Principal;
  protocolVersion: string | undefined;
  lastActivity = Date.now();
  readonly upstream: string;
  private readonly channels = new Map<string, Channel>();
  private readonly aggregate: AggregateSessionOptions | undefined;
  private readonly rejoining = new Map<string, { timer: NodeJS.Timeout | undefined; attempt: number }>();
  private readonly runCall: RunCall;
  private readonly log: Logger;
  private readonly streams: SessionStreams;
  private readonly calls = new CallTable<InFlight>();
  /** Session-local id → the upstream's id and channel, for requests upstreams send to the client. */
  private readonly serverRequests = new ServerRequestIds<Channel>();
  /** The client's initialize params, for a channel that joins later. */
  private clientInitialize: Params | undefined;
  private closed = false;

  constructor(options: SessionOptions) {
    this.principal = options.principal;
    this.upstream = options.upstream;
    this.aggregate = options.aggregate;
    this.runCall = options.runCall;
    this.log = options.logger.child({ session: this.id.slice(0, 8), upstream: options.upstream });
    this.streams = new SessionStreams({ 'mcp-session-id': this.id }, options.maxStreams, this.log, () => {
      this.lastActivity = Date.now();
    });
    for (const channel of options.channels) this.attach(channel);
    for (const upstream of options.aggregate?.absent ?? []) this.scheduleRejoin(upstream);
  }

  get revision(): string | undefined {
    return this.protocolVersion;
  }

  /** The stdio child of a one-upstream session. */
  get pid(): number | undefined {
    return this.aggregate ? undefined : this.only?.link.pid;
  }

  private get only(): Channel | undefined {
    return this.channels.values().next().value;
  }

  activity(): { inFlight: number; openStreams: number } {
    return { inFlight: this.calls.size, openStreams: this.streams.open };
  }

  /**
   * Relays the messages of one POST and answers it: 202 without requests, else an SSE stream that
   * ends with the last answer. Settles once every request in it is answered or cancelled. A lone
   * request refused with a step-up challenge rejects, so the transport answers it as HTTP 403.
   */
  async post(res: ServerResponse, messages: readonly JsonRpcMessage[], post: PostContext): Promise<void> {
    this.lastActivity = Date.now();
    const requests = messages.filter(isRequest);
    if (requests.length === 0) {
      for (const message of messages) this.fromClient(message as JsonRpcNotification | JsonRpcResponse);
      res.writeHead(202, { 'mcp-session-id': this.id }).end();
      return;
    }
    const exchange = this.streams.exchange(
      res,
      requests.map((r) => r.id),
    );
    const alone = messages.length === 1;
    const calls: Promise<void>[] = [];
    for (const message of messages) {
      if (isRequest(message)) calls.push(this.call(message, exchange, post, alone));
      else this.fromClient(message as JsonRpcNotification | JsonRpcResponse);
    }
    await Promise.all(calls);
  }

  /** Opens the client's standalone stream for messages not tied to a request. */
  openStream(res: ServerResponse): void {
    this.streams.openGet(res);
    this.lastActivity = Date.now();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const call of this.calls.clear()) call.stop(false);
    for (const { timer } of this.rejoining.values()) clearTimeout(timer);
    this.rejoining.clear();
    this.streams.endGet();
    this.serverRequests.clear();
    await Promise.all([...this.channels.values()].map((c) => c.link.close()));
  }

  /** One request through the message path; its answer goes on the POST's stream. */
  private async call(
    request: JsonRpcRequest,
    exchange: PostExchange,
    post: PostContext,
    alone: boolean,
  ): Promise<void> {
    if (request.method === 'initialize') this.clientInitialize = request.params;
    const inFlight = new InFlight(exchange);
    const ask = this.urlAsk(exchange);
    const on: ChannelCall = (upstream, forwarded, raw) => {
      const channel = this.channels.get(upstream);
      if (!channel) throw notConnected(upstream);
      return this.runCall({
        request: forwarded,
        principal: post.principal,
        gatekeeper: channel.gatekeeper,
        requestId: post.requestId,
        resourceMetadata: post.resourceMetadata,
        audit: post.audit,
        alone,
        ...(ask ? { ask } : {}),
        relay: async (relayed) => {
          const response = await this.relay(channel, relayed, inFlight, post.requestId);
          if (raw && 'result' in response) raw(response.result);
          return response;
        },
      });
    };
    let response: JsonRpcResponse;
    try {
      response = this.aggregate
        ? await this.aggregate.router.call({
            request,
            present: [...this.channels.keys()],
            on,
            left: (upstream, reason, gone) => this.left(upstream, request.method, reason, gone),
          })
        : await on(this.upstream, request);
    } catch (err) {
      if (err instanceof CallAbandoned) {
        exchange.complete(request.id, undefined);
        return;
      }
      // Only a step-up refusal leaves the message path as a throw; it becomes HTTP 403 while it can.
      if (err instanceof GatewayError && err.code === 'insufficient_scope' && exchange.pristine) throw err;
      response = { jsonrpc: '2.0', id: request.id, error: rpcError(toGatewayError(err), post.requestId) };
    } finally {
      if (inFlight.registered) this.calls.take(request.id, inFlight);
    }
    if (request.method === 'initialize' && 'result' in response) {
      const version = response.result.protocolVersion;
      if (typeof version === 'string') this.protocolVersion = version;
    }
    exchange.complete(request.id, response);
    this.lastActivity = Date.now();
  }

  /**
   * How the gateway itself can send this client to a page mid-call: a URL-mode elicitation on the
   * call's own stream, when the client declared `elicitation.url` (MCP 2025-11-25).
   */
  private urlAsk(exchange: PostExchange): UrlAsk | undefined {
    const capabilities = this.clientInitialize?.capabilities as Params | undefined;
    const elicitation = capabilities?.elicitation as Params | undefined;
    if (!elicitation?.url) return undefined;
    return {
      kind: 'elicitation',
      elicit: (params) =>
        new Promise((resolve) => {
          const id = this.serverRequests.addOwn((answer) =>
            resolve('result' in answer ? answer.result : undefined),
          );
          this.route({ jsonrpc: '2.0', id, method: 'elicitation/create', params }, exchange);
        }),
      complete: (elicitationId) =>
        this.route(
          { jsonrpc: '2.0', method: 'notifications/elicitation/complete', params: { elicitationId } },
          exchange,
        ),
    };
  }

  /** The innermost stage: the request to one upstream, settled by its answer or a cancellation. */
  private relay(
    channel: Channel,
    request: JsonRpcRequest,
    inFlight: InFlight,
    requestId: string,
  ): Promise<JsonRpcResponse> {
    return new Promise((resolve, reject) => {
      if (inFlight.stopped) throw new CallAbandoned();
      if (!inFlight.registered) {
        this.calls.add(request.id, progressTokenOf(request.params), inFlight);
        inFlight.registered = true;
      }
      inFlight.exchange.relaying = true;
      // The request id reaches an HTTP upstream too, so its logs of this call can be matched to ours.
      const { handle, response } = channel.link.request(request, { headers: { 'x-request-id': requestId } });
      const running = { channel, handle, reject };
      inFlight.running.add(running);
      response.then(
        (answer) => {
          if (inFlight.running.delete(running)) resolve({ ...answer, id: request.id } as JsonRpcResponse);
        },
        (err: unknown) => {
          if (inFlight.running.delete(running)) reject(err);
        },
      );
    });
  }

  private fromClient(message: JsonRpcNotification | JsonRpcResponse): void {
    if (isResponse(message)) {
      if (this.serverRequests.answeredOwn(message)) return;
      const asked = this.serverRequests.answered(message.id);
      if (asked === undefined) {
        this.log.debug({ id: message.id }, 'dropped a response to no pending server request');
        return;
      }
      asked.from.link.respond({ ...message, id: asked.id } as JsonRpcResponse);
      return;
    }
    if (message.method === 'notifications/cancelled') {
      // The client cancelled: tell the upstream by its id; the request closes without an answer.
      const id = asRequestId(message.params?.requestId);
      const call = id === undefined ? undefined : this.calls.take(id);
      call?.stop(true, message.params?.reason);
      return;
    }
    for (const channel of this.channels.values()) channel.link.notify(message);
  }

  private fromUpstream(channel: Channel, message: JsonRpcRequest | JsonRpcNotification): void {
    const shown = this.aggregate ? this.aggregate.router.toClient(channel.upstream, message) : message;
    if (isRequest(shown)) {
      const localId = this.serverRequests.add(shown.id, channel);
      // A sampling request can embed resources too: the principal sees only those they may read.
      const screened = screenServerRequest(
        shown.method,
        shown.params,
        channel.gatekeeper.resourceDecider(this.principal),
      );
      if (screened.withheld.length > 0)
        this.log.info(
          { method: shown.method, withheld: screened.withheld },
          'withheld resources from a server request',
        );
      this.route({ ...shown, id: localId, ...(screened.value ? { params: screened.value } : {}) });
      return;
    }
    if (shown.method === 'notifications/cancelled') {
      const localId = this.serverRequests.cancelled(channel, shown.params?.requestId);
      if (localId === undefined) return;
      this.route({ ...shown, params: { ...shown.params, requestId: localId } });
      return;
    }
    if (shown.method === 'notifications/tools/list_changed') channel.gatekeeper.catalog.invalidate();
    if (shown.method === 'notifications/progress') {
      this.route(shown, this.calls.byProgressToken(shown.params?.progressToken)?.exchange);
      return;
    }
    this.route(shown);
  }

  private route(message: JsonRpcMessage, preferred?: PostExchange): void {
    this.streams.route(message, preferred);
  }

  private attach(channel: Channel): void {
    this.channels.set(channel.upstream, channel);
    channel.link.onServerMessage = (message) => this.fromUpstream(channel, message);
  }

  /** An upstream's part is missing from an aggregated answer; a channel that is gone rejoins later. */
  private left(upstream: string, method: string, reason: string, gone: boolean): void {
    this.log.warn({ left: upstream, method, reason }, `aggregate: ${upstream} left out of ${method}`);
    const channel = this.channels.get(upstream);
    if (!gone || !channel) return;
    this.channels.delete(upstream);
    channel.link.close().catch(() => {});
    this.scheduleRejoin(upstream);
  }

  private scheduleRejoin(upstream: string): void {
    const aggregate = this.aggregate;
    if (!aggregate || this.closed) return;
    const state = this.rejoining.get(upstream) ?? { timer: undefined, attempt: 0 };
    state.attempt++;
    const delay = backoffDelay(state.attempt, aggregate.backoff(upstream));
    state.timer = setTimeout(() => void this.rejoin(upstream, aggregate), delay);
    // A session waiting for an upstream must not keep the process alive on its own.
    state.timer.unref();
    this.rejoining.set(upstream, state);
  }

  /** Opens the channel again and initializes it as the client did; the client hears that the lists changed. */
  private async rejoin(upstream: string, aggregate: AggregateSessionOptions): Promise<void> {
    let channel: Channel | undefined;
    try {
      channel = await aggregate.rejoin(upstream);
      if (this.clientInitialize) {
        const init = { jsonrpc: '2.0' as const, id: 0, method: 'initialize', params: this.clientInitialize };
        const answer = await channel.link.request(init).response;
        if (!('result' in answer)) throw new Error(`initialize was refused: ${answer.error.message}`);
        channel.link.notify({ jsonrpc: '2.0', method: 'notifications/initialized' });
      }
    } catch (err) {
      await channel?.link.close().catch(() => {});
      this.log.info({ upstream, err: (err as Error).message }, 'aggregate: upstream still unreachable');
      this.scheduleRejoin(upstream);
      return;
    }
    if (this.closed) {
      await channel.link.close();
      return;
    }
    this.rejoining.delete(upstream);
    this.attach(channel);
    this.log.info({ upstream }, `aggregate: ${upstream} joined`);
    for (const list of ['tools', 'prompts', 'resources'])
      this.route({ jsonrpc: '2.0', method: `notifications/${list}/list_changed` });
  }
}

function notConnected(upstream: string): GatewayError {
  return new GatewayError('upstream_unavailable', `upstream '${upstream}' is not connected — retry shortly`, {
    rpcCode: RPC.upstreamUnavailable,
  });
}
