/**
 * One client session of the 2025 protocol family, relayed to its own upstream link.
 *
 * Routing rules, because a stdio upstream never says which request a message belongs to:
 * - a response goes to the POST stream that carried its request;
 * - progress goes to the stream of the request that owns the progress token;
 * - anything else (server requests such as sampling or elicitation, logs, list_changed, resource
 *   updates) goes to the client's GET stream, else to the newest open POST stream, else waits in a
 *   bounded buffer for the next GET stream.
 * Ids the upstream uses for its own requests are replaced with session-local ones, so that one
 * client session can later fan out to several upstreams without id collisions.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { GatewayError, type RequestId, toGatewayError } from '../core/errors.js';
import {
  idKey,
  isRequest,
  isResponse,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../core/jsonrpc.js';
import type { Principal } from '../core/principal.js';
import { rpcError } from '../core/render.js';
import type { Logger } from '../log/logger.js';
import type { Gatekeeper } from '../policy/gatekeeper.js';
import { SseStream } from './sse.js';
import type { SessionUpstream } from './upstream-link.js';

const BUFFER_LIMIT = 256;

/** 256 random bits, base64url: visible ASCII as the transport requires, unguessable. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** The answer channel of one POST: an SSE stream that ends once every request in it is answered. */
class Exchange {
  readonly stream: SseStream;
  private readonly awaiting = new Set<string>();

  constructor(
    res: ServerResponse,
    headers: Record<string, string>,
    readonly requestId: string,
    ids: readonly RequestId[],
    private readonly observe: ((response: JsonRpcResponse) => void) | undefined,
  ) {
    for (const id of ids) this.awaiting.add(idKey(id));
    this.stream = new SseStream(res, { headers, flush: false });
  }

  /** Marks `id` answered, writing `response` if there is one; ends the stream after the last. */
  complete(id: RequestId, response: JsonRpcResponse | undefined): void {
    if (response) this.observe?.(response);
    this.awaiting.delete(idKey(id));
    const last = this.awaiting.size === 0;
    if (response && last) this.stream.sendAndEnd(response);
    else if (response) this.stream.send(response);
    else if (last) this.stream.end();
  }
}

interface InFlight {
  readonly exchange: Exchange;
  readonly handle: number;
  readonly progressKey: string | undefined;
}

export interface SessionOptions {
  readonly principal: Principal;
  readonly link: SessionUpstream;
  /** The policy for this session's principal and upstream. */
  readonly gatekeeper: Gatekeeper;
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
  private readonly maxStreams: number;
  private readonly log: Logger;
  private readonly exchanges = new Set<Exchange>();
  private getStream: SseStream | undefined;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly progress = new Map<string, Exchange>();
  /** Session-local id → the upstream's id, for requests the upstream sends to the client. */
  private readonly serverRequests = new Map<number, RequestId>();
  private nextServerRequestId = 1;
  private readonly buffered: JsonRpcMessage[] = [];
  private closed = false;

  constructor(options: SessionOptions) {
    this.principal = options.principal;
    this.link = options.link;
    this.gatekeeper = options.gatekeeper;
    this.maxStreams = options.maxStreams;
    this.log = options.logger.child({ session: this.id.slice(0, 8), upstream: options.link.name });
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
    return {
      inFlight: this.inFlight.size,
      openStreams: this.exchanges.size + (this.getStream?.open ? 1 : 0),
    };
  }

  /**
   * Relays the messages of one POST and answers it: 202 without requests, else an SSE stream.
   * Requests in `refused` (keyed by id) are answered with their refusal and never relayed; each
   * response is shown to `observe` (the request's audit trail) as it is sent.
   */
  post(
    res: ServerResponse,
    messages: readonly JsonRpcMessage[],
    call: {
      readonly requestId: string;
      readonly principal: Principal;
      readonly refused?: ReadonlyMap<string, GatewayError>;
      readonly observe?: (response: JsonRpcResponse) => void;
    },
  ): void {
    const { requestId, principal, refused = new Map<string, GatewayError>() } = call;
    this.lastActivity = Date.now();
    const requests = messages.filter(isRequest);
    if (requests.length === 0) {
      for (const message of messages) this.fromClient(message as JsonRpcNotification | JsonRpcResponse);
      res.writeHead(202, { 'mcp-session-id': this.id }).end();
      return;
    }
    this.refuseIfTooManyStreams();
    const exchange = new Exchange(
      res,
      { 'mcp-session-id': this.id },
      requestId,
      requests.map((r) => r.id),
      call.observe,
    );
    this.exchanges.add(exchange);
    exchange.stream.onclose = () => this.exchanges.delete(exchange);
    for (const message of messages) {
      const refusal = isRequest(message) ? refused.get(idKey(message.id)) : undefined;
      if (refusal && isRequest(message))
        exchange.complete(message.id, errorResponse(message.id, refusal, requestId));
      else if (isRequest(message)) this.forwardRequest(message, exchange, principal);
      else this.fromClient(message as JsonRpcNotification | JsonRpcResponse);
    }
  }

  /** Opens the client's standalone stream for messages not tied to a request. */
  openStream(res: ServerResponse): void {
    if (this.getStream?.open) {
      throw new GatewayError(
        'stream_conflict',
        'this session already has an open GET stream — close it first',
      );
    }
    this.refuseIfTooManyStreams();
    this.lastActivity = Date.now();
    const stream = new SseStream(res, {
      headers: { 'mcp-session-id': this.id },
      flush: true,
    });
    this.getStream = stream;
    stream.onclose = () => {
      if (this.getStream === stream) this.getStream = undefined;
      this.lastActivity = Date.now();
    };
    for (const message of this.buffered.splice(0)) stream.send(message);
  }

  private refuseIfTooManyStreams(): void {
    const open = this.exchanges.size + (this.getStream?.open ? 1 : 0);
    if (open >= this.maxStreams) {
      throw new GatewayError(
        'too_many_streams',
        `this session already has ${open} open streams — wait for an answer before sending more`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.getStream?.end();
    for (const exchange of this.exchanges) exchange.stream.end();
    this.inFlight.clear();
    this.progress.clear();
    this.serverRequests.clear();
    await this.link.close();
  }

  private forwardRequest(message: JsonRpcRequest, exchange: Exchange, principal: Principal): void {
    const key = idKey(message.id);
    if (this.inFlight.has(key)) {
      const err = new GatewayError(
        'duplicate_request_id',
        `request id ${JSON.stringify(message.id)} is already in flight in this session`,
      );
      exchange.complete(message.id, errorResponse(message.id, err, exchange.requestId));
      return;
    }
    let call: ReturnType<SessionUpstream['request']>;
    try {
      // The request id reaches an HTTP upstream too, so its logs of this call can be matched to ours.
      call = this.link.request(message, { headers: { 'x-request-id': exchange.requestId } });
    } catch (err) {
      exchange.complete(message.id, errorResponse(message.id, toGatewayError(err), exchange.requestId));
      return;
    }
    const token = progressToken(message);
    const progressKey = token === undefined ? undefined : idKey(token);
    if (progressKey) this.progress.set(progressKey, exchange);
    this.inFlight.set(key, { exchange, handle: call.handle, progressKey });
    call.response.then(
      (response) => this.answer(message, key, { ...response, id: message.id } as JsonRpcResponse, principal),
      (err: unknown) =>
        this.answer(
          message,
          key,
          errorResponse(message.id, toGatewayError(err), exchange.requestId),
          principal,
        ),
    );
  }

  private answer(
    request: JsonRpcRequest,
    key: string,
    response: JsonRpcResponse,
    principal: Principal,
  ): void {
    const entry = this.inFlight.get(key);
    if (!entry) return;
    this.forget(key, entry);
    if (request.method === 'initialize' && 'result' in response) {
      const version = response.result.protocolVersion;
      if (typeof version === 'string') this.protocolVersion = version;
    }
    const answer =
      'result' in response
        ? { ...response, result: this.gatekeeper.filter(request.method, response.result, principal) }
        : response;
    entry.exchange.complete(request.id, answer);
    this.lastActivity = Date.now();
  }

  private forget(key: string, entry: InFlight): void {
    this.inFlight.delete(key);
    if (entry.progressKey) this.progress.delete(entry.progressKey);
  }

  private fromClient(message: JsonRpcNotification | JsonRpcResponse): void {
    if (isResponse(message)) {
      const upstreamId = typeof message.id === 'number' ? this.serverRequests.get(message.id) : undefined;
      if (upstreamId === undefined) {
        this.log.debug({ id: message.id }, 'dropped a response to no pending server request');
        return;
      }
      this.serverRequests.delete(message.id as number);
      this.link.respond({ ...message, id: upstreamId } as JsonRpcResponse);
      return;
    }
    if (message.method === 'notifications/cancelled') {
      this.cancelFromClient(message);
      return;
    }
    this.link.notify(message);
  }

  /** The client cancelled: tell the upstream by its id, and close the request without an answer. */
  private cancelFromClient(message: JsonRpcNotification): void {
    const requestId = message.params?.requestId;
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
    const key = idKey(requestId);
    const entry = this.inFlight.get(key);
    if (!entry) return;
    this.forget(key, entry);
    this.link.cancel(entry.handle, message.params?.reason);
    entry.exchange.complete(requestId, undefined);
  }

  private fromUpstream(message: JsonRpcRequest | JsonRpcNotification): void {
    if (isRequest(message)) {
      const localId = this.nextServerRequestId++;
      this.serverRequests.set(localId, message.id);
      this.route({ ...message, id: localId });
      return;
    }
    if (message.method === 'notifications/cancelled') {
      const localId = this.localIdOf(message.params?.requestId);
      if (localId === undefined) return;
      this.serverRequests.delete(localId);
      this.route({ ...message, params: { ...message.params, requestId: localId } });
      return;
    }
    if (message.method === 'notifications/tools/list_changed') this.gatekeeper.catalog.invalidate();
    if (message.method === 'notifications/progress') {
      const token = message.params?.progressToken;
      const owner =
        typeof token === 'string' || typeof token === 'number' ? this.progress.get(idKey(token)) : undefined;
      this.route(message, owner);
      return;
    }
    this.route(message);
  }

  private localIdOf(upstreamId: unknown): number | undefined {
    for (const [local, remote] of this.serverRequests) if (remote === upstreamId) return local;
    return undefined;
  }

  private route(message: JsonRpcMessage, preferred?: Exchange): void {
    if (preferred?.stream.send(message)) return;
    if (this.getStream?.send(message)) return;
    const newest = [...this.exchanges].reverse().find((e) => e.stream.open);
    if (newest?.stream.send(message)) return;
    if (this.buffered.length >= BUFFER_LIMIT) {
      this.buffered.shift();
      this.log.warn('client has no open stream; dropped the oldest undelivered message');
    }
    this.buffered.push(message);
  }
}

function progressToken(message: JsonRpcRequest): RequestId | undefined {
  const meta = message.params?._meta;
  if (meta === null || typeof meta !== 'object') return undefined;
  const token = (meta as Record<string, unknown>).progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

function errorResponse(id: RequestId, err: GatewayError, requestId: string): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: rpcError(err, requestId) };
}
