/**
 * The relay stage for 2026-07-28 requests. Each principal gets, per upstream, a bridge holding the
 * 2025 upstream session the gateway keeps for them (opened on first use, closed when idle).
 * Methods the revision removed are refused with 404 -32601 as it requires.
 */

import { GatewayError } from '../../core/errors.js';
import {
  asRequestId,
  isNotification,
  isResponse,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Params,
} from '../../core/jsonrpc.js';
import { methodFacts } from '../../core/methods.js';
import type { Principal } from '../../core/principal.js';
import { resourceMetadataUrl } from '../../http/resource-url.js';
import type { Logger } from '../../log/logger.js';
import type { RunCall } from '../../pipeline/call-stages.js';
import type { AuthenticatedContext } from '../../pipeline/context.js';
import type { Gatekeeper } from '../../policy/gatekeeper.js';
import type { Policy } from '../../policy/policy.js';
import type { AggregateCatalog } from '../aggregate/catalog.js';
import { listenAll } from '../aggregate/listen.js';
import type { AggregateRouter } from '../aggregate/router.js';
import { CallAbandoned } from '../call-table.js';
import type { RelaySession } from '../relay-session.js';
import type { SessionRegistry } from '../session-registry.js';
import type { ModernBackend } from './backend.js';
import { backendKey } from './backend-base.js';
import { ModernExchange } from './exchange.js';
import { FORWARDED_HEADER } from './forward.js';
import type { StateOwner } from './request-state.js';
import { type CachePolicy, completeResult, modernError } from './results.js';

export interface ModernRelayOptions {
  /** The one registry of sessions: a principal's backend for an upstream counts as one session. */
  readonly sessions: SessionRegistry<RelaySession>;
  readonly openBridge: (upstream: string, principal: Principal) => Promise<ModernBackend>;
  /** The message path every request takes around the backend (authorization, result filter, audit). */
  readonly runCall: RunCall;
  /**
   * Where the parked call of a retry's requestState is (undefined: the state is not the gateway's,
   * e.g. a 2026 upstream's own); with `forward`, a retry for a call parked at a peer goes there.
   */
  readonly stateOwner?: (upstream: string, state: string) => Promise<StateOwner | undefined>;
  readonly forward?: (ctx: AuthenticatedContext, route: string, body: string) => Promise<void>;
  /** The aggregated endpoints (/mcp over several upstreams, virtual servers), by label. */
  readonly aggregates?: ReadonlyMap<string, ModernAggregate>;
}

/** What the aggregated endpoint's 2026-07-28 requests need. */
export interface ModernAggregate {
  readonly router: AggregateRouter;
  readonly catalog: AggregateCatalog;
  /** The endpoint's policy (a virtual server's narrows the base one). */
  readonly policy: Policy;
  /** How long a fan-out (and a listen's acknowledgement) waits for one upstream. */
  readonly deadlineMs: number;
  readonly cache: CachePolicy;
  readonly logger: Logger;
}

type CallOn = (
  upstream: string,
  request: JsonRpcRequest,
  on: ModernExchange,
  raw?: (result: Params) => void,
) => Promise<JsonRpcResponse>;

export function modernRelay(options: ModernRelayOptions): (ctx: AuthenticatedContext) => Promise<void> {
  const opening = new Map<string, Promise<ModernBackend>>();

  const existing = (principal: Principal, upstream: string): ModernBackend | undefined => {
    const backend = options.sessions.get(backendKey(principal.id, upstream), principal.id);
    return backend?.kind === 'stateless' ? backend : undefined;
  };

  /** The principal's backend for `upstream`, opened once however many requests ask at the same time. */
  const bridgeFor = (principal: Principal, upstream: string): Promise<ModernBackend> => {
    const found = existing(principal, upstream);
    if (found) return Promise.resolve(found);
    const key = backendKey(principal.id, upstream);
    let pending = opening.get(key);
    if (!pending) {
      pending = options.sessions
        .admit(principal, () => options.openBridge(upstream, principal))
        .then((backend) => backend as ModernBackend)
        .finally(() => opening.delete(key));
      opening.set(key, pending);
    }
    return pending;
  };

  /** The peer a retry must go to; undefined to serve it here (where a call not parked here is refused). */
  const peerHolding = async (request: JsonRpcRequest, ctx: AuthenticatedContext) => {
    const state = request.params?.requestState;
    if (typeof state !== 'string' || !options.stateOwner) return undefined;
    // Forwarded once already: the owner it named is gone, so the call is too.
    if (ctx.req.headers[FORWARDED_HEADER] !== undefined) return undefined;
    // A state that fails the check is refused on the message path, where the refusal is audited.
    const owner = await options.stateOwner(ctx.endpoint.upstream, state).catch(() => undefined);
    return owner && !owner.here ? owner.route : undefined;
  };

  return async function relayModern(ctx) {
    const aggregate = options.aggregates?.get(ctx.endpoint.upstream);
    const message = ctx.messages?.[0];
    const envelope = ctx.modern;
    const { principal } = ctx;
    if (!message || !envelope)
      throw new GatewayError('internal_error', 'modern relay without a checked request');
    if (isResponse(message)) {
      throw new GatewayError(
        'invalid_request',
        'a 2026-07-28 client sends no JSON-RPC responses — answer input requests by retrying with inputResponses',
      );
    }
    if (isNotification(message)) {
      const requestId = asRequestId(message.params?.requestId);
      if (message.method === 'notifications/cancelled' && requestId !== undefined)
        for (const upstream of aggregate ? aggregate.router.members : [ctx.endpoint.upstream])
          existing(principal, upstream)?.cancel(requestId);
      ctx.res.writeHead(202).end();
      return;
    }
    const request = message as JsonRpcRequest;
    if (methodFacts(request.method).sessionOnly) {
      throw new GatewayError('method_not_found', `${request.method} is not part of MCP 2026-07-28`, {
        rpcCode: -32601,
      });
    }
    const route = await peerHolding(request, ctx);
    if (route !== undefined && options.forward) return options.forward(ctx, route, JSON.stringify(request));
    const meta = request.params?._meta as Record<string, unknown> | undefined;
    const streaming =
      request.method === 'subscriptions/listen' ||
      meta?.progressToken !== undefined ||
      envelope.logLevel !== undefined;
    const exchange = new ModernExchange(ctx.res, ctx.requestId, streaming);
    const gatekeeperOf = (backend: ModernBackend) =>
      aggregate ? backend.gatekeeper.under(aggregate.policy) : backend.gatekeeper;
    const run = (backend: ModernBackend, forwarded: JsonRpcRequest, on: ModernExchange): Promise<void> => {
      switch (forwarded.method) {
        case 'server/discover':
          return backend.discover(forwarded, envelope, on);
        case 'subscriptions/listen':
          return backend.listen(
            visibleSubscriptions(forwarded, gatekeeperOf(backend), principal),
            envelope,
            on,
          );
        default:
          return backend.call(forwarded, envelope, on);
      }
    };
    const elicitation = envelope.clientCapabilities.elicitation as Record<string, unknown> | undefined;
    /** One request through the message path to `upstream`'s backend, answered on `on`. */
    const callOn: CallOn = async (upstream, forwarded, on, raw) => {
      const backend = await bridgeFor(principal, upstream);
      return options.runCall({
        request: forwarded,
        principal,
        gatekeeper: gatekeeperOf(backend),
        requestId: ctx.requestId,
        resourceMetadata: resourceMetadataUrl(ctx.publicUrl, ctx.endpoint.path),
        audit: ctx.audit,
        alone: true,
        // A client that declared URL elicitation can be sent to an approval page in an input round.
        ...(elicitation?.url ? { ask: { kind: 'input_required' as const } } : {}),
        relay: async (relayed) => {
          await run(backend, relayed, on);
          const answer = await on.held();
          if (raw && 'result' in answer) raw(answer.result);
          return answer;
        },
      });
    };
    let response: JsonRpcResponse;
    try {
      response = aggregate
        ? await aggregated(aggregate, request, exchange, callOn)
        : await callOn(ctx.endpoint.upstream, request, exchange);
    } catch (err) {
      if (err instanceof CallAbandoned) return exchange.end();
      // 2026-07-28 retired the -32000..-32019 range: the 403 carries the code the in-band path would.
      if (err instanceof GatewayError && err.code === 'insufficient_scope')
        throw new GatewayError(err.code, err.message, {
          rpcCode: modernError({ code: err.rpcCode, message: err.message }).code,
          headers: err.headers,
          ...(err.data ? { data: err.data } : {}),
        });
      throw err;
    }
    exchange.send('error' in response ? { ...response, error: modernError(response.error) } : response);
  };
}

/**
 * A request on the aggregated endpoint: the router's fan-out or routing over each upstream's
 * backend (each part on a fork of the client's exchange, its notifications in the client's form),
 * or one listen per upstream on the client's stream.
 */
async function aggregated(
  aggregate: ModernAggregate,
  request: JsonRpcRequest,
  exchange: ModernExchange,
  callOn: CallOn,
): Promise<JsonRpcResponse> {
  const { router, catalog, logger } = aggregate;
  const left = (upstream: string, reason: string) =>
    logger.warn(
      { upstream, method: request.method, reason },
      `aggregate: ${upstream} left out of ${request.method}`,
    );
  if (request.method === 'subscriptions/listen') {
    await listenAll({ request, exchange, catalog, deadlineMs: aggregate.deadlineMs, listenOn: callOn, left });
    throw new CallAbandoned();
  }
  const response = await router.call({
    request,
    present: router.members,
    on: (upstream, forwarded, raw) =>
      callOn(
        upstream,
        forwarded,
        exchange.fork((m) => (isNotification(m) ? router.toClient(upstream, m) : m)),
        raw,
      ),
    left,
  });
  // The merged discovery and lists are the gateway's own results, stamped as the revision requires.
  if ('result' in response && (request.method === 'server/discover' || methodFacts(request.method).list))
    return { ...response, result: completeResult(request.method, response.result, aggregate.cache) };
  return response;
}

/** A listen request asking only for the resource subscriptions the principal may read. */
function visibleSubscriptions(
  request: JsonRpcRequest,
  gatekeeper: Gatekeeper,
  principal: Principal,
): JsonRpcRequest {
  const notifications = request.params?.notifications as Record<string, unknown> | undefined;
  const uris = notifications?.resourceSubscriptions;
  if (!Array.isArray(uris)) return request;
  const allowed = uris.filter((uri) => typeof uri === 'string' && gatekeeper.mayRead(uri, principal));
  return {
    ...request,
    params: { ...request.params, notifications: { ...notifications, resourceSubscriptions: allowed } },
  };
}
