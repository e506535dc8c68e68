/**
 * Serves a principal's 2026-07-28 requests with an upstream that speaks 2026-07-28 too: requests
 * pass through with their envelope, `inputResponses` and `requestState` intact (the upstream's own
 * multi-round-trip state is its business). The gateway still owns what crosses its boundary:
 * request ids (remapped by the link), cache hints (every cacheable result leaves private, with a
 * bounded ttl) and the subscription ids of listen streams (the upstream knows the link's ids).
 */

import { toGatewayError } from '../../core/errors.js';
import {
  idKey,
  isRequest,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Params,
  progressKeyOf,
  progressTokenOf,
  type RequestId,
} from '../../core/jsonrpc.js';
import type { Principal } from '../../core/principal.js';
import { rpcError } from '../../core/render.js';
import { META, MODERN_REVISIONS, type ModernEnvelope } from '../../core/revisions.js';
import type { Logger } from '../../log/logger.js';
import type { Gatekeeper } from '../../policy/gatekeeper.js';
import type { UpstreamLink } from '../upstream-link.js';
import type { ModernBackend } from './backend.js';
import { BackendBase } from './backend-base.js';
import type { ModernExchange } from './exchange.js';
import { checkMirrored, deriveHeaders } from './param-headers.js';
import { type CachePolicy, completeResult } from './results.js';

interface Running {
  readonly handle: number;
  readonly clientId: RequestId;
  readonly method: string;
  readonly envelope: ModernEnvelope;
  readonly exchange: ModernExchange;
  readonly progressKey: string | undefined;
}

export interface PassthroughOptions {
  readonly principal: Principal;
  readonly gatekeeper: Gatekeeper;
  readonly link: UpstreamLink;
  readonly cache: CachePolicy;
  readonly logger: Logger;
}

export class ModernPassthrough extends BackendBase implements ModernBackend {
  private readonly running = new Map<number, Running>();
  private readonly byProgress = new Map<string, Running>();
  private readonly listeners = new Map<number, { clientId: RequestId; exchange: ModernExchange }>();
  constructor(private readonly options: PassthroughOptions) {
    super(options.principal, options.gatekeeper, options.link);
  }

  activity(): { inFlight: number; openStreams: number } {
    return { inFlight: this.running.size, openStreams: this.listeners.size };
  }

  discover(request: JsonRpcRequest, envelope: ModernEnvelope, exchange: ModernExchange): Promise<void> {
    return this.call(request, envelope, exchange);
  }

  async call(request: JsonRpcRequest, envelope: ModernEnvelope, exchange: ModernExchange): Promise<void> {
    this.touch();
    const headers = {
      'x-request-id': exchange.requestId,
      ...(request.method === 'tools/call' ? await this.paramHeadersFor(request, envelope) : {}),
    };
    const { handle, response } = this.options.link.request(request, { headers });
    const progressKey = progressKeyOf(progressTokenOf(request.params));
    const entry: Running = {
      handle,
      clientId: request.id,
      method: request.method,
      envelope,
      exchange,
      progressKey,
    };
    this.running.set(handle, entry);
    if (progressKey) this.byProgress.set(progressKey, entry);
    exchange.onclose = () => {
      if (this.forget(entry)) this.options.link.cancel(handle, 'the client closed the request');
    };
    response.then(
      (answer) => this.finish(entry, answer),
      (err: unknown) =>
        this.finish(entry, {
          jsonrpc: '2.0',
          id: entry.clientId,
          error: rpcError(toGatewayError(err), exchange.requestId),
        }),
    );
  }

  async listen(request: JsonRpcRequest, _envelope: ModernEnvelope, exchange: ModernExchange): Promise<void> {
    this.touch();
    const { handle, response } = this.options.link.request(request, { untimed: true });
    this.listeners.set(handle, { clientId: request.id, exchange });
    exchange.onclose = () => {
      if (this.listeners.delete(handle))
        this.options.link.cancel(handle, 'the client closed the subscription');
      this.touch();
    };
    response.then(
      (answer) => {
        this.listeners.delete(handle);
        exchange.answer({ ...this.tagged(answer, request.id), id: request.id } as JsonRpcResponse);
      },
      () => {
        this.listeners.delete(handle);
        exchange.answer({ jsonrpc: '2.0', id: request.id, result: { resultType: 'complete' } });
      },
    );
  }

  cancel(clientId: RequestId): void {
    for (const entry of this.running.values()) {
      if (idKey(entry.clientId) === idKey(clientId) && this.forget(entry)) {
        entry.exchange.abandon();
        this.options.link.cancel(entry.handle, 'cancelled by the client');
      }
    }
    for (const [handle, listener] of this.listeners) {
      if (idKey(listener.clientId) !== idKey(clientId)) continue;
      this.listeners.delete(handle);
      this.options.link.cancel(handle, 'cancelled by the client');
      listener.exchange.answer({ jsonrpc: '2.0', id: clientId, result: { resultType: 'complete' } });
    }
  }

  async close(): Promise<void> {
    for (const entry of this.running.values()) entry.exchange.abandon();
    for (const listener of this.listeners.values()) listener.exchange.abandon();
    this.running.clear();
    this.listeners.clear();
    await this.options.link.close();
  }

  /** The Mcp-Param headers to forward: checked against the body, then derived from it. */
  private async paramHeadersFor(
    request: JsonRpcRequest,
    envelope: ModernEnvelope,
  ): Promise<Record<string, string> | undefined> {
    const declared = await this.gatekeeper.catalog.declared(String(request.params?.name));
    if (!declared || declared.length === 0) return undefined;
    const args = request.params?.arguments as Params | undefined;
    checkMirrored(declared, args, envelope.paramHeaders);
    return deriveHeaders(declared, args);
  }

  private finish(entry: Running, answer: JsonRpcResponse): void {
    if (!this.forget(entry)) return;
    if ('error' in answer) {
      entry.exchange.answer({ jsonrpc: '2.0', id: entry.clientId, error: answer.error });
      return;
    }
    let result = answer.result;
    if (result.resultType === undefined || result.resultType === 'complete') {
      result = completeResult(entry.method, result, this.options.cache);
      if (entry.method === 'server/discover' && Array.isArray(result.supportedVersions)) {
        result.supportedVersions = result.supportedVersions.filter((v) =>
          (MODERN_REVISIONS as readonly unknown[]).includes(v),
        );
      }
    }
    entry.exchange.answer({ jsonrpc: '2.0', id: entry.clientId, result });
  }

  /** False when the entry was already finished, cancelled or abandoned. */
  private forget(entry: Running): boolean {
    if (this.running.get(entry.handle) !== entry) return false;
    this.running.delete(entry.handle);
    if (entry.progressKey && this.byProgress.get(entry.progressKey) === entry)
      this.byProgress.delete(entry.progressKey);
    this.touch();
    return true;
  }

  protected fromUpstream(message: JsonRpcRequest | JsonRpcNotification): void {
    if (isRequest(message)) {
      // 2026-07-28 servers ask for input through input_required results, never with requests.
      this.options.link.respond({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32601, message: `${message.method} is not a 2026-07-28 client request` },
      });
      return;
    }
    const meta = message.params?._meta as Params | undefined;
    const subscription = meta?.[META.subscriptionId];
    if (typeof subscription === 'number') {
      if (message.method === 'notifications/tools/list_changed') this.gatekeeper.catalog.invalidate();
      const listener = this.listeners.get(subscription);
      listener?.exchange.notify(this.tagged(message, listener.clientId));
      return;
    }
    if (message.method === 'notifications/progress') {
      const key = progressKeyOf(message.params?.progressToken);
      const entry = key === undefined ? undefined : this.byProgress.get(key);
      entry?.exchange.notify(message);
      return;
    }
    if (message.method === 'notifications/message') {
      const entry = [...this.running.values()].reverse().find((r) => r.envelope.logLevel !== undefined);
      entry?.exchange.notify(message);
    }
  }

  /** The message with the subscription id the client knows (its listen request's id). */
  private tagged<T extends JsonRpcNotification | JsonRpcResponse>(message: T, clientId: RequestId): T {
    const body = 'result' in message ? message.result : 'params' in message ? message.params : undefined;
    const meta = body?._meta as Params | undefined;
    if (!body || meta?.[META.subscriptionId] === undefined) return message;
    const retagged = { ...body, _meta: { ...meta, [META.subscriptionId]: clientId } };
    return ('result' in message ? { ...message, result: retagged } : { ...message, params: retagged }) as T;
  }
}
