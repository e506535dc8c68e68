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
} from '../../core/jsonrpc.js';
import { methodFacts } from '../../core/methods.js';
import type { Principal } from '../../core/principal.js';
import { resourceMetadataUrl } from '../../http/resource-url.js';
import type { RunCall } from '../../pipeline/call-stages.js';
import type { AuthenticatedContext } from '../../pipeline/context.js';
import { CallAbandoned } from '../call-table.js';
import type { RelaySession } from '../relay-session.js';
import type { SessionRegistry } from '../session-registry.js';
import type { ModernBackend } from './backend.js';
import { backendKey } from './backend-base.js';
import { ModernExchange } from './exchange.js';
import { FORWARDED_HEADER } from './forward.js';
import type { StateOwner } from './request-state.js';
import { modernError } from './results.js';

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
}

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
    const message = ctx.messages?.[0];
    const envelope = ctx.modern;
    const { principal } = ctx;
    if (!message || !envelope)
      throw new GatewayError('internal_error', 'modern relay without a checked request');
    if (ctx.endpoint.names) {
      throw new GatewayError(
        'unsupported_protocol_version',
        `the aggregated ${ctx.endpoint.path} serves MCP 2025 sessions (2025-11-25 and earlier) — a 2026-07-28 client can use each upstream at /servers/<name>/mcp`,
        { data: { supported: ['2025-11-25', '2025-06-18', '2025-03-26'] } },
      );
    }
    if (isResponse(message)) {
      throw new GatewayError(
        'invalid_request',
        'a 2026-07-28 client sends no JSON-RPC responses — answer input requests by retrying with inputResponses',
      );
    }
    if (isNotification(message)) {
      const requestId = asRequestId(message.params?.requestId);
      if (message.method === 'notifications/cancelled' && requestId !== undefined)
        existing(principal, ctx.endpoint.upstream)?.cancel(requestId);
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
    const backend = await bridgeFor(principal, ctx.endpoint.upstream);
    const meta = request.params?._meta as Record<string, unknown> | undefined;
    const streaming =
      request.method === 'subscriptions/listen' ||
      meta?.progressToken !== undefined ||
      envelope.logLevel !== undefined;
    const exchange = new ModernExchange(ctx.res, ctx.requestId, streaming);
    const run = (forwarded: JsonRpcRequest): Promise<void> => {
      switch (forwarded.method) {
        case 'server/discover':
          return backend.discover(forwarded, envelope, exchange);
        case 'subscriptions/listen':
          return backend.listen(visibleSubscriptions(forwarded, backend, principal), envelope, exchange);
        default:
          return backend.call(forwarded, envelope, exchange);
      }
    };
    const elicitation = envelope.clientCapabilities.elicitation as Record<string, unknown> | undefined;
    let response: JsonRpcResponse;
    try {
      response = await options.runCall({
        request,
        principal,
        gatekeeper: backend.gatekeeper,
        requestId: ctx.requestId,
        resourceMetadata: resourceMetadataUrl(ctx.publicUrl, ctx.endpoint.path),
        audit: ctx.audit,
        alone: true,
        // A client that declared URL elicitation can be sent to an approval page in an input round.
        ...(elicitation?.url ? { ask: { kind: 'input_required' as const } } : {}),
        relay: async (forwarded) => {
          await run(forwarded);
          return exchange.held();
        },
      });
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

/** A listen request asking only for the resource subscriptions the principal may read. */
function visibleSubscriptions(
  request: JsonRpcRequest,
  backend: ModernBackend,
  principal: Principal,
): JsonRpcRequest {
  const notifications = request.params?.notifications as Record<string, unknown> | undefined;
  const uris = notifications?.resourceSubscriptions;
  if (!Array.isArray(uris)) return request;
  const allowed = uris.filter((uri) => typeof uri === 'string' && backend.gatekeeper.mayRead(uri, principal));
  return {
    ...request,
    params: { ...request.params, notifications: { ...notifications, resourceSubscriptions: allowed } },
  };
}
