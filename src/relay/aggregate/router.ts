/**
 * Where each request of an aggregated session goes, and what the client gets back: lists fan out to
 * every upstream in parallel and come back as one (every page of each, under the exposed names);
 * a call, read or prompt goes to the one upstream its exposed name or URI belongs to, under the
 * upstream's own name. An upstream that fails or misses the deadline is left out of a fan-out
 * instead of failing it (`left`), so one slow or broken server never takes the others down.
 *
 * Every request to an upstream goes through `on`, which is the session's whole message path for
 * that upstream's channel (its policy, result filter, approval and audit): routing never skips a
 * check, it only decides which channel's checks apply.
 */
import { GatewayError, RPC } from '../../core/errors.js';
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, Params } from '../../core/jsonrpc.js';
import { methodFacts } from '../../core/methods.js';
import { META } from '../../core/revisions.js';
import { CallAbandoned } from '../call-table.js';
import { type AggregateCatalog, type NamedKind, namedKind } from './catalog.js';
import { withDeadline } from './deadline.js';
import { exposeItems, exposeUris, listedNames, mergeDiscovery, mergeInitialize } from './merge.js';
import type { Origin } from './names.js';

/** One request through the message path of `upstream`'s channel; `raw` sees the upstream's own result. */
export type ChannelCall = (
  upstream: string,
  request: JsonRpcRequest,
  raw?: (result: Params) => void,
) => Promise<JsonRpcResponse>;

export interface RoutedCall {
  readonly request: JsonRpcRequest;
  /** The upstreams answering now (those that are down or left out are not asked). */
  readonly present: readonly string[];
  readonly on: ChannelCall;
  /**
   * An upstream's part is missing from a fan-out's answer. `gone`: the channel is unusable (down,
   * or it failed initialize), and the session leaves it out until it rejoins.
   */
  readonly left: (upstream: string, reason: string, gone: boolean) => void;
}

/** Pages of one upstream's list gathered for one answer: a bound against a cursor loop. */
const MAX_PAGES = 100;

const URI_LISTS = ['resources/list', 'resources/templates/list'] as const;

export class AggregateRouter {
  constructor(
    private readonly catalog: AggregateCatalog,
    /** How long a fan-out waits for one upstream before leaving it out. */
    private readonly deadlineMs: number,
  ) {}

  get members(): readonly string[] {
    return this.catalog.members.map((m) => m.upstream);
  }

  async call(call: RoutedCall): Promise<JsonRpcResponse> {
    const { request } = call;
    const { method } = request;
    if (method === 'initialize' || method === 'server/discover') return this.initialize(call);
    if (method === 'ping') return { jsonrpc: '2.0', id: request.id, result: {} };
    if (method === 'logging/setLevel') {
      await this.fanOut(call, (upstream) => call.on(upstream, request), false);
      return { jsonrpc: '2.0', id: request.id, result: {} };
    }
    if (methodFacts(method).list) return this.list(call);
    const kind = namedKind(method);
    if (kind) return this.byName(call, kind);
    if (methodFacts(method).nameField === 'uri') return this.byUri(call, String(request.params?.uri));
    if (method === 'completion/complete') return this.completion(call);
    throw new GatewayError('method_not_found', `method ${method} is not served by the aggregated endpoint`, {
      rpcCode: RPC.methodNotFound,
    });
  }

  /** A request or notification from `upstream` to the client, with its URIs as the client sees them. */
  toClient<T extends JsonRpcRequest | JsonRpcNotification>(upstream: string, message: T): T {
    if (!message.params) return message;
    return { ...message, params: exposeUris(message.params, upstream, this.catalog) };
  }

  private async initialize(call: RoutedCall): Promise<JsonRpcResponse> {
    const answers = await this.fanOut(call, (upstream) => call.on(upstream, call.request), true);
    if (answers.length === 0) throw noUpstream();
    const absent = this.members.filter((u) => !answers.some((a) => a.upstream === u));
    const result =
      call.request.method === 'initialize'
        ? mergeInitialize(answers, absent, this.catalog.members)
        : mergeDiscovery(answers, absent, this.catalog.members, META.serverInfo);
    return { jsonrpc: '2.0', id: call.request.id, result };
  }

  private async list(call: RoutedCall): Promise<JsonRpcResponse> {
    const { request } = call;
    if (request.params?.cursor !== undefined) {
      throw new GatewayError(
        'invalid_arguments',
        'the aggregated endpoint lists everything in one page — send the list request without a cursor',
      );
    }
    const { list } = methodFacts(request.method) as { list: { field: string; key: string } };
    // Resources are asked only of the upstreams whose resources this endpoint serves. An upstream
    // without the feature answers with an error: it has nothing to add, it is not down.
    const asked =
      list.key === 'name' ? call.present : call.present.filter((u) => this.catalog.servesResources(u));
    const answers = await this.fanOut(
      { ...call, present: asked },
      (upstream) => this.allPages(call, upstream, request),
      false,
    );
    const listed = this.members.flatMap((upstream) => {
      const items = answers.find((a) => a.upstream === upstream)?.result[list.field];
      return Array.isArray(items) ? [{ upstream, items }] : [];
    });
    // Every upstream's URIs are seen before any is shown, so two that share a scheme are both namespaced.
    if (list.key !== 'name')
      for (const { upstream, items } of listed) this.catalog.observeUris(upstream, items, list.key);
    const items = listed.flatMap(({ upstream, items }) =>
      exposeItems(request.method, upstream, items, this.catalog),
    );
    return { jsonrpc: '2.0', id: request.id, result: { [list.field]: items } };
  }

  /** Every page of one upstream's list as one (filtered) result; the raw pages feed the catalog. */
  private async allPages(
    call: RoutedCall,
    upstream: string,
    request: JsonRpcRequest,
  ): Promise<JsonRpcResponse> {
    const { list } = methodFacts(request.method) as { list: { field: string } };
    const visible: unknown[] = [];
    const raw: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = { ...request.params, ...(cursor ? { cursor } : {}) };
      let next: string | undefined;
      const response = await call.on(upstream, { ...request, params }, (result) => {
        raw.push(...(listedNames(request.method, result) ?? []));
        next = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
      });
      if (!('result' in response)) return response;
      const items = response.result[list.field];
      if (Array.isArray(items)) visible.push(...items);
      cursor = next;
      if (!cursor) break;
    }
    const kind = namedKind(request.method);
    if (kind) this.catalog.observe(kind, upstream, raw);
    return { jsonrpc: '2.0', id: request.id, result: { [list.field]: visible } };
  }

  private async byName(call: RoutedCall, kind: NamedKind): Promise<JsonRpcResponse> {
    const { request } = call;
    const exposed = String(request.params?.name);
    const origin =
      this.catalog.origin(kind, exposed) ??
      (await this.relisted(call, kind === 'tool' ? ['tools/list'] : ['prompts/list'], () =>
        this.catalog.origin(kind, exposed),
      ));
    if (!this.servesName(call, origin)) {
      throw new GatewayError(
        'unknown_tool',
        `unknown ${kind} ${exposed} — list the ${kind}s to see their names`,
      );
    }
    return this.routed(call, origin, { ...request.params, name: origin.name });
  }

  private async byUri(call: RoutedCall, uri: string): Promise<JsonRpcResponse> {
    const origin =
      this.catalog.routeUri(uri) ?? (await this.relisted(call, URI_LISTS, () => this.catalog.routeUri(uri)));
    if (!this.serves(call, origin)) throw unknownResource(uri);
    return this.routed(call, origin, { ...call.request.params, uri: origin.name });
  }

  private async completion(call: RoutedCall): Promise<JsonRpcResponse> {
    const ref = (call.request.params?.ref ?? {}) as Params;
    const name = String(ref.type === 'ref/prompt' ? ref.name : ref.uri);
    const origin =
      ref.type === 'ref/prompt'
        ? (this.catalog.origin('prompt', name) ??
          (await this.relisted(call, ['prompts/list'], () => this.catalog.origin('prompt', name))))
        : (this.catalog.routeUri(name) ??
          (await this.relisted(call, URI_LISTS, () => this.catalog.routeUri(name))));
    const served = ref.type === 'ref/prompt' ? this.servesName(call, origin) : this.serves(call, origin);
    if (!served || !origin) throw unknownResource(name);
    const field = ref.type === 'ref/prompt' ? 'name' : 'uri';
    return this.routed(call, origin, { ...call.request.params, ref: { ...ref, [field]: origin.name } });
  }

  /** Whether a tool's or prompt's upstream answers now and this endpoint serves it. */
  private servesName(call: RoutedCall, origin: Origin | undefined): origin is Origin {
    return (
      origin !== undefined &&
      call.present.includes(origin.upstream) &&
      this.catalog.includes(origin.upstream, origin.name)
    );
  }

  /** Whether a URI's upstream answers now and this endpoint serves its resources. */
  private serves(call: RoutedCall, origin: Origin | undefined): origin is Origin {
    return (
      origin !== undefined &&
      call.present.includes(origin.upstream) &&
      this.catalog.servesResources(origin.upstream)
    );
  }

  /** The call on its upstream under the upstream's own names; the answer's URIs as the client sees them. */
  private async routed(call: RoutedCall, origin: Origin, params: Params): Promise<JsonRpcResponse> {
    const response = await call.on(origin.upstream, { ...call.request, params });
    if (!('result' in response)) return response;
    return { ...response, result: exposeUris(response.result, origin.upstream, this.catalog) };
  }

  /** A name the catalog does not know yet: list once (the gateway's own lists), then look again. */
  private async relisted(
    call: RoutedCall,
    methods: readonly string[],
    find: () => Origin | undefined,
  ): Promise<Origin | undefined> {
    for (const method of methods) {
      const request: JsonRpcRequest = { jsonrpc: '2.0', id: call.request.id, method, params: {} };
      await this.list({ ...call, request });
    }
    return find();
  }

  /**
   * `each` for every present upstream at once; what one fails to bring in time is left out of the
   * answer. One that cannot be reached is left out of the session until it rejoins; with
   * `leaveOnError` (initialize), so is one that misses the deadline or answers with an error.
   */
  private async fanOut(
    call: RoutedCall,
    each: (upstream: string) => Promise<JsonRpcResponse>,
    leaveOnError: boolean,
  ): Promise<{ upstream: string; result: Params }[]> {
    const settled = await Promise.all(
      call.present.map(async (upstream) => {
        try {
          const response = await withDeadline(each(upstream), this.deadlineMs);
          if ('result' in response) return { upstream, result: response.result };
          if (leaveOnError)
            call.left(upstream, `refused ${call.request.method}: ${response.error.message}`, true);
        } catch (err) {
          if (err instanceof CallAbandoned || !(err instanceof Error)) throw err;
          const down = err instanceof GatewayError && err.code === 'upstream_unavailable';
          call.left(upstream, err.message, leaveOnError || down);
        }
        return undefined;
      }),
    );
    return settled.filter((a): a is { upstream: string; result: Params } => a !== undefined);
  }
}

function noUpstream(): GatewayError {
  return new GatewayError(
    'upstream_unavailable',
    'no upstream of this endpoint could be reached — retry shortly',
    {
      rpcCode: RPC.upstreamUnavailable,
    },
  );
}

function unknownResource(uri: string): GatewayError {
  return new GatewayError('not_found', `resource ${uri} is not served by any upstream of this endpoint`, {
    rpcCode: RPC.resourceNotFound,
  });
}
