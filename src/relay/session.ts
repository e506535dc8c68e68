/**
 * One client session of the 2025 protocol family, relayed to its own upstream link.
 *
 * Routing rules, because a stdio upstream never says which request a message belongs to:
 * - a response goes to the POST stream that carried its request;
 * - progress goes to the stream of the request that owns the progress token;
 * - anything else (server requests such as sampling or elicitation, logs, list_changed, resource
 *   updates) goes to the client's GET stream, else to the newest open POST stream with a request
 *   upstream, else waits in a bounded buffer for the next GET stream.
 * Ids the upstream uses for its own requests are replaced with session-local ones, so that one
 * client session can later fan out to several upstreams without id collisions.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { RequestAudit } from '../audit/request-audit.js';
import { GatewayError, toGatewayError } from '../core/errors.js';
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
import { CallAbandoned, CallTable } from './call-table.js';
import type { PostExchange } from './post-exchange.js';
import { ServerRequestIds } from './server-requests.js';
import { SessionStreams } from './session-streams.js';
import type { SessionUpstream } from './upstream-link.js';

/** 256 random bits, base64url: visible ASCII as the transport requires, unguessable. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

interface InFlight {
  readonly exchange: PostExchange;
  /** Ends the call without an answer: `tell` the upstream too when the client cancelled it. */
  stop(tell: boolean, reason?: unknown): void;
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
  readonly link: SessionUpstream;
  /** The policy for this session's principal and upstream. */
  readonly gatekeeper: Gatekeeper;
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
  private readonly link: SessionUpstream;
  readonly gatekeeper: Gatekeeper;
  private readonly runCall: RunCall;
  private readonly log: Logger;
  private readonly streams: SessionStreams;
  private readonly calls = new CallTable<InFlight>();
  /** Session-local id → the upstream's id, for requests the upstream sends to the client. */
  private readonly serverRequests = new ServerRequestIds();
  /** What the client declared in its initialize request. */
  private clientCapabilities: Params | undefined;
  private closed = false;

  constructor(options: SessionOptions) {
    this.principal = options.principal;
    this.link = options.link;
    this.gatekeeper = options.gatekeeper;
    this.runCall = options.runCall;
    this.log = options.logger.child({ session: this.id.slice(0, 8), upstream: options.link.name });
    this.streams = new SessionStreams({ 'mcp-session-id': this.id }, options.maxStreams, this.log, () => {
      this.lastActivity = Date.now();
    });
    this.link.onServerMessage = (message) => this.fromUpstream(message);
  }

  get upstream(): string {
    return this.link.name;
  }

  get revision(): string | undefined {
    return this.protocolVersion;
  }

  get pid(): number | undefined {
    return this.link.pid;
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
    this.streams.endGet();
    this.serverRequests.clear();
    await this.link.close();
  }

  /** One request through the message path; its answer goes on the POST's stream. */
  private async call(
    request: JsonRpcRequest,
    exchange: PostExchange,
    post: PostContext,
    alone: boolean,
  ): Promise<void> {
    if (request.method === 'initialize')
      this.clientCapabilities = request.params?.capabilities as Params | undefined;
    const ask = this.urlAsk(exchange);
    let response: JsonRpcResponse;
    try {
      response = await this.runCall({
        request,
        principal: post.principal,
        gatekeeper: this.gatekeeper,
        requestId: post.requestId,
        resourceMetadata: post.resourceMetadata,
        audit: post.audit,
        alone,
        ...(ask ? { ask } : {}),
        relay: (forwarded) => this.relay(forwarded, exchange, post.requestId),
      });
    } catch (err) {
      if (err instanceof CallAbandoned) {
        exchange.complete(request.id, undefined);
        return;
      }
      // Only a step-up refusal leaves the message path as a throw; it becomes HTTP 403 while it can.
      if (err instanceof GatewayError && err.code === 'insufficient_scope' && exchange.pristine) throw err;
      response = { jsonrpc: '2.0', id: request.id, error: rpcError(toGatewayError(err), post.requestId) };
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
    const elicitation = this.clientCapabilities?.elicitation as Params | undefined;
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

  /** The innermost stage: the request to the upstream, settled by its answer or a cancellation. */
  private relay(
    request: JsonRpcRequest,
    exchange: PostExchange,
    requestId: string,
  ): Promise<JsonRpcResponse> {
    return new Promise((resolve, reject) => {
      const entry: InFlight = { exchange, stop: () => reject(new CallAbandoned()) };
      exchange.relaying = true;
      this.calls.add(request.id, progressTokenOf(request.params), entry);
      let handle: number;
      let answer: Promise<JsonRpcResponse>;
      try {
        // The request id reaches an HTTP upstream too, so its logs of this call can be matched to ours.
        ({ handle, response: answer } = this.link.request(request, {
          headers: { 'x-request-id': requestId },
        }));
      } catch (err) {
        this.calls.take(request.id, entry);
        throw err;
      }
      entry.stop = (tell, reason) => {
        if (tell) this.link.cancel(handle, reason);
        reject(new CallAbandoned());
      };
      answer.then(
        (response) => {
          if (this.calls.take(request.id, entry)) resolve({ ...response, id: request.id } as JsonRpcResponse);
        },
        (err: unknown) => {
          if (this.calls.take(request.id, entry)) reject(err);
        },
      );
    });
  }

  private fromClient(message: JsonRpcNotification | JsonRpcResponse): void {
    if (isResponse(message)) {
      if (this.serverRequests.answeredOwn(message)) return;
      const upstreamId = this.serverRequests.answered(message.id);
      if (upstreamId === undefined) {
        this.log.debug({ id: message.id }, 'dropped a response to no pending server request');
        return;
      }
      this.link.respond({ ...message, id: upstreamId } as JsonRpcResponse);
      return;
    }
    if (message.method === 'notifications/cancelled') {
      // The client cancelled: tell the upstream by its id; the request closes without an answer.
      const id = asRequestId(message.params?.requestId);
      const call = id === undefined ? undefined : this.calls.take(id);
      call?.stop(true, message.params?.reason);
      return;
    }
    this.link.notify(message);
  }

  private fromUpstream(message: JsonRpcRequest | JsonRpcNotification): void {
    if (isRequest(message)) {
      const localId = this.serverRequests.add(message.id);
      // A sampling request can embed resources too: the principal sees only those they may read.
      const screened = screenServerRequest(
        message.method,
        message.params,
        this.gatekeeper.resourceDecider(this.principal),
      );
      if (screened.withheld.length > 0)
        this.log.info(
          { method: message.method, withheld: screened.withheld },
          'withheld resources from a server request',
        );
      this.route({ ...message, id: localId, ...(screened.value ? { params: screened.value } : {}) });
      return;
    }
    if (message.method === 'notifications/cancelled') {
      const localId = this.serverRequests.cancelled(message.params?.requestId);
      if (localId === undefined) return;
      this.route({ ...message, params: { ...message.params, requestId: localId } });
      return;
    }
    if (message.method === 'notifications/tools/list_changed') this.gatekeeper.catalog.invalidate();
    if (message.method === 'notifications/progress') {
      this.route(message, this.calls.byProgressToken(message.params?.progressToken)?.exchange);
      return;
    }
    this.route(message);
  }

  private route(message: JsonRpcMessage, preferred?: PostExchange): void {
    this.streams.route(message, preferred);
  }
}
