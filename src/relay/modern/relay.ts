/**
 * The relay stage for 2026-07-28 requests. Each principal gets, per upstream, a bridge holding the
 * 2025 upstream session the gateway keeps for them (opened on first use, closed when idle).
 * Methods the revision removed are refused with 404 -32601 as it requires.
 */

import { GatewayError } from '../../core/errors.js';
import { isNotification, isResponse, type JsonRpcRequest } from '../../core/jsonrpc.js';
import type { Principal } from '../../core/principal.js';
import { rpcError } from '../../core/render.js';
import { resourceMetadataUrl } from '../../http/resource-url.js';
import type { RequestContext } from '../../pipeline/context.js';
import { canStepUp } from '../../policy/gatekeeper.js';
import type { SessionRegistry } from '../session-registry.js';
import type { ModernBackend } from './backend.js';
import { ModernExchange } from './exchange.js';
import { modernError } from './results.js';

/** 2025 methods that 2026-07-28 removed (sessions, handshake, per-session settings). */
const REMOVED = new Set([
  'initialize',
  'ping',
  'logging/setLevel',
  'resources/subscribe',
  'resources/unsubscribe',
]);

export interface ModernRelayOptions {
  readonly bridges: SessionRegistry<ModernBackend>;
  readonly openBridge: (upstream: string, principal: Principal) => Promise<ModernBackend>;
}

export function modernRelay(options: ModernRelayOptions): (ctx: RequestContext) => Promise<void> {
  const opening = new Map<string, Promise<ModernBackend>>();

  const bridgeFor = (principal: Principal, upstream: string): Promise<ModernBackend> => {
    const key = `${principal.id}\0${upstream}`;
    const existing = options.bridges.get(key, principal.id);
    if (existing) return Promise.resolve(existing);
    let pending = opening.get(key);
    if (!pending) {
      pending = options
        .openBridge(upstream, principal)
        .then((bridge) => {
          options.bridges.add(bridge);
          return bridge;
        })
        .finally(() => opening.delete(key));
      opening.set(key, pending);
    }
    return pending;
  };

  return async function relayModern(ctx) {
    const message = ctx.messages?.[0];
    const envelope = ctx.modern;
    const principal = ctx.principal;
    if (!message || !envelope || !principal)
      throw new GatewayError('internal_error', 'modern relay without a checked request');
    if (isResponse(message)) {
      throw new GatewayError(
        'invalid_request',
        'a 2026-07-28 client sends no JSON-RPC responses — answer input requests by retrying with inputResponses',
      );
    }
    if (isNotification(message)) {
      const requestId = message.params?.requestId;
      if (
        message.method === 'notifications/cancelled' &&
        (typeof requestId === 'string' || typeof requestId === 'number')
      ) {
        options.bridges.get(`${principal.id}\0${ctx.endpoint.upstream}`, principal.id)?.cancel(requestId);
      }
      ctx.res.writeHead(202).end();
      return;
    }
    const request = message as JsonRpcRequest;
    if (REMOVED.has(request.method)) {
      throw new GatewayError('method_not_found', `${request.method} is not part of MCP 2026-07-28`, {
        rpcCode: -32601,
      });
    }
    const bridge = await bridgeFor(principal, ctx.endpoint.upstream);
    const refusal = await bridge.gatekeeper.refusal(
      request,
      principal,
      resourceMetadataUrl(ctx.publicUrl, ctx.endpoint.path),
      ctx.audit,
    );
    if (refusal) {
      // 2026-07-28 retired the -32000..-32019 range: the 403 carries the code the in-band path would.
      if (canStepUp(principal)) {
        throw new GatewayError(refusal.code, refusal.message, {
          rpcCode: modernError({ code: refusal.rpcCode, message: refusal.message }).code,
          headers: refusal.headers,
          ...(refusal.data ? { data: refusal.data } : {}),
        });
      }
      exchange(ctx, false).answer({
        jsonrpc: '2.0',
        id: request.id,
        error: modernError(rpcError(refusal, ctx.requestId)),
      });
      return;
    }
    const meta = request.params?._meta as Record<string, unknown> | undefined;
    switch (request.method) {
      case 'server/discover':
        await bridge.discover(request, envelope, exchange(ctx, false));
        return;
      case 'subscriptions/listen':
        await bridge.listen(visibleSubscriptions(request, bridge, principal), envelope, exchange(ctx, true));
        return;
      default: {
        const streaming = meta?.progressToken !== undefined || envelope.logLevel !== undefined;
        await bridge.call(request, envelope, exchange(ctx, streaming), principal);
      }
    }
  };
}

/** The answer channel of `ctx`, its answers shown to the request's audit trail. */
function exchange(ctx: RequestContext, streaming: boolean): ModernExchange {
  const audit = ctx.audit;
  return new ModernExchange(ctx.res, ctx.requestId, streaming, audit && ((r) => audit.answered(r)));
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
