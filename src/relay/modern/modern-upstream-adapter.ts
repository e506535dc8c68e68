/**
 * Lets a 2025 client session use an upstream that speaks 2026-07-28 (stateless):
 * - initialize is answered from the upstream's server/discover; the session's capabilities,
 *   client info and log level become the per-request envelope of every forwarded request;
 * - ping and logging/setLevel are answered here; resources/subscribe opens an upstream
 *   subscriptions/listen, and list_changed comes from one opened after notifications/initialized;
 * - an `input_required` result becomes real server-to-client requests (elicitation, sampling,
 *   roots) on the client's session, whose answers go back in the retry's `inputResponses`, with the
 *   upstream's `requestState` echoed untouched;
 * - 2026-only result fields are removed before the 2025 client sees them.
 */

import type {
  JsonRpcNotification,
  JsonRpcRequest,
  JsonRpcResponse,
  Params,
  RequestId,
} from '../../core/jsonrpc.js';
import type { Logger } from '../../log/logger.js';
import { ToolCatalog } from '../../policy/catalog.js';
import type { SendOptions } from '../../upstream/connection.js';
import type { SessionUpstream, UpstreamCall, UpstreamLink } from '../upstream-link.js';
import {
  envelopeOf,
  initializeResultOf,
  legacyResult,
  listChangedFilter,
  retryParams,
  type SessionState,
  untagged,
} from './adapter-translate.js';
import { deriveHeaders } from './param-headers.js';

/** The SDK's own bridge allows 8 rounds; a server that keeps asking is refused after that. */
const MAX_ROUNDS = 8;
const SHED_RETRY_MS = 250;

interface Asked {
  readonly resolve: (result: Params) => void;
  readonly reject: (err: Error) => void;
}

export class ModernUpstreamAdapter implements SessionUpstream {
  onServerMessage: (message: JsonRpcRequest | JsonRpcNotification) => void = () => {};
  private session: SessionState = { clientCapabilities: {}, clientInfo: undefined, logLevel: undefined };
  private upstreamCapabilities: Params = {};
  private nextHandle = 1;
  private nextInputId = 1;
  private readonly upstreamHandles = new Map<number, number>();
  private readonly asked = new Map<RequestId, Asked>();
  private readonly resourceListens = new Map<string, number>();
  private listChangedListen: number | undefined;
  /** The upstream's tools as this session sees them (the session's policy shares it). */
  readonly catalog: ToolCatalog;

  constructor(
    private readonly link: UpstreamLink,
    private readonly logger: Logger,
    maxCatalogAgeMs: number,
  ) {
    link.onServerMessage = (message) => this.fromUpstream(message);
    this.catalog = new ToolCatalog(async (cursor) => {
      const params = { ...(cursor ? { cursor } : {}), _meta: this.envelope() };
      const answer = await link.request({ jsonrpc: '2.0', id: 0, method: 'tools/list', params }).response;
      return 'result' in answer ? answer.result : {};
    }, maxCatalogAgeMs);
  }

  get name(): string {
    return this.link.name;
  }

  get pid(): number | undefined {
    return this.link.pid;
  }

  request(message: JsonRpcRequest, options: SendOptions = {}): UpstreamCall {
    const handle = this.nextHandle++;
    return {
      handle,
      response: this.serve(handle, message, options.headers ?? {}).finally(() =>
        this.upstreamHandles.delete(handle),
      ),
    };
  }

  notify(message: JsonRpcNotification): void {
    if (message.method === 'notifications/initialized') this.openListChangedListen();
  }

  /** The client's answer to an input request this adapter asked on the upstream's behalf. */
  respond(message: JsonRpcResponse): void {
    const asked = this.asked.get(message.id as RequestId);
    if (!asked) return;
    this.asked.delete(message.id as RequestId);
    if ('result' in message) asked.resolve(message.result);
    else asked.reject(new Error(`the client refused: ${message.error.message}`));
  }

  cancel(handle: number, reason: unknown): void {
    const upstream = this.upstreamHandles.get(handle);
    if (upstream !== undefined) this.link.cancel(upstream, reason);
  }

  async close(): Promise<void> {
    for (const asked of this.asked.values()) asked.reject(new Error('the session ended'));
    this.asked.clear();
    await this.link.close();
  }

  private async serve(
    handle: number,
    message: JsonRpcRequest,
    extraHeaders: Readonly<Record<string, string>>,
  ): Promise<JsonRpcResponse> {
    const ok = (result: Params): JsonRpcResponse => ({ jsonrpc: '2.0', id: message.id, result });
    const params = message.params ?? {};
    switch (message.method) {
      case 'initialize':
        return this.initialize(message);
      case 'ping':
        return ok({});
      case 'logging/setLevel':
        this.session = {
          ...this.session,
          logLevel: typeof params.level === 'string' ? params.level : undefined,
        };
        return ok({});
      case 'resources/subscribe':
        this.subscribe(String(params.uri));
        return ok({});
      case 'resources/unsubscribe': {
        const listen = this.resourceListens.get(String(params.uri));
        if (listen !== undefined) this.link.cancel(listen, 'unsubscribed');
        this.resourceListens.delete(String(params.uri));
        return ok({});
      }
      default:
        return this.forward(handle, message, extraHeaders);
    }
  }

  private async initialize(message: JsonRpcRequest): Promise<JsonRpcResponse> {
    const params = message.params ?? {};
    this.session = {
      ...this.session,
      clientCapabilities: (params.capabilities as Params | undefined) ?? {},
      clientInfo: params.clientInfo as Params | undefined,
    };
    const answer = await this.link.request({
      jsonrpc: '2.0',
      id: 0,
      method: 'server/discover',
      params: { _meta: this.envelope() },
    }).response;
    if ('error' in answer) return { ...answer, id: message.id };
    this.upstreamCapabilities = (answer.result.capabilities as Params | undefined) ?? {};
    return {
      jsonrpc: '2.0',
      id: message.id,
      result: initializeResultOf(params.protocolVersion, answer.result, this.link.name),
    };
  }

  /** Sends the request with the session's envelope, answering input_required rounds through the client. */
  private async forward(
    handle: number,
    message: JsonRpcRequest,
    extraHeaders: Readonly<Record<string, string>>,
  ): Promise<JsonRpcResponse> {
    const base = message.params ?? {};
    // A 2025 client mirrors no Mcp-Param headers; the upstream needs them as its tool schema declares.
    const declared =
      message.method === 'tools/call' ? await this.catalog.declared(String(base.name)) : undefined;
    const headers = {
      ...extraHeaders,
      ...(declared ? deriveHeaders(declared, base.arguments as Params | undefined) : {}),
    };
    let extra: Params = {};
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const call = this.link.request(
        {
          ...message,
          params: { ...base, ...extra, _meta: { ...(base._meta as Params | undefined), ...this.envelope() } },
        },
        { headers },
      );
      this.upstreamHandles.set(handle, call.handle);
      const answer = await call.response;
      if ('error' in answer) return { ...answer, id: message.id };
      const result = answer.result;
      if (result.resultType !== 'input_required')
        return { jsonrpc: '2.0', id: message.id, result: legacyResult(result) };
      const requests = Object.entries((result.inputRequests as Record<string, Params> | undefined) ?? {});
      if (requests.length === 0) await new Promise((r) => setTimeout(r, SHED_RETRY_MS));
      let answers: [string, Params][];
      try {
        answers = await Promise.all(
          requests.map(async ([key, input]) => [key, await this.ask(input)] as [string, Params]),
        );
      } catch (err) {
        return { jsonrpc: '2.0', id: message.id, error: { code: -32603, message: (err as Error).message } };
      }
      extra = retryParams(result, answers);
    }
    return {
      jsonrpc: '2.0',
      id: message.id,
      error: {
        code: -32603,
        message: `upstream '${this.link.name}' asked for input more than ${MAX_ROUNDS} times`,
      },
    };
  }

  /** Asks the client, as a 2025 server would: a request on its session. */
  private ask(input: Params): Promise<Params> {
    const id = `input-${this.nextInputId++}`;
    return new Promise((resolve, reject) => {
      this.asked.set(id, { resolve, reject });
      this.onServerMessage({
        jsonrpc: '2.0',
        id,
        method: String(input.method),
        params: (input.params as Params | undefined) ?? {},
      });
    });
  }

  private envelope(): Params {
    return envelopeOf(this.session);
  }

  private listen(filter: Params): number {
    const { handle, response } = this.link.request(
      {
        jsonrpc: '2.0',
        id: 0,
        method: 'subscriptions/listen',
        params: { notifications: filter, _meta: this.envelope() },
      },
      { untimed: true },
    );
    response.catch((err: Error) =>
      this.logger.debug({ upstream: this.link.name, err: err.message }, 'upstream listen ended'),
    );
    return handle;
  }

  private openListChangedListen(): void {
    const filter = listChangedFilter(this.upstreamCapabilities);
    if (this.listChangedListen === undefined && Object.keys(filter).length > 0)
      this.listChangedListen = this.listen(filter);
  }

  private subscribe(uri: string): void {
    if (!this.resourceListens.has(uri))
      this.resourceListens.set(uri, this.listen({ resourceSubscriptions: [uri] }));
  }

  private fromUpstream(message: JsonRpcRequest | JsonRpcNotification): void {
    if ('id' in message) {
      this.link.respond({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32601, message: 'a 2026-07-28 server sends no requests' },
      });
      return;
    }
    if (message.method === 'notifications/subscriptions/acknowledged') return;
    // A 2025 client knows nothing of subscriptions: deliver the bare notification on its session.
    this.onServerMessage(untagged(message));
  }
}
