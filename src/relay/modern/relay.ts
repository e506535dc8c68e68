/**
 * The relay stage for 2026-07-28 requests. Each principal gets, per upstream, a bridge holding the
 * 2025 upstream session the gateway keeps for them (opened on first use, closed when idle).
 * Methods the revision removed are refused with 404 -32601 as it requires.
 */

import { GatewayError } from '../../core/errors.js';
import { isNotification, isResponse, type JsonRpcRequest } from '../../core/jsonrpc.js';
import { methodFacts } from '../../core/methods.js';
import type { Principal } from '../../core/principal.js';
import { rpcError } from '../../core/render.js';
import { resourceMetadataUrl } from '../../http/resource-url.js';
import type { AuthenticatedContext } from '../../pipeline/context.js';
import { canStepUp } from '../../policy/gatekeeper.js';
import type { RelaySession } from '../relay-session.js';
import type { SessionRegistry } from '../session-registry.js';
import type { ModernBackend } from './backend.js';
import { backendKey } from './backend-base.js';
import { ModernExchange } from './exchange.js';
import { modernError } from './results.js';

export interface ModernRelayOptions {
  /** The one registry of sessions: a principal's backend for an upstream counts as one session. */
  readonly sessions: SessionRegistry<RelaySession>;
  readonly openBridge: (upstream: string, principal: Principal) => Promise<ModernBackend>;
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

  return async function relayModern(ctx) {
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
      const requestId = message.params?.requestId;
      if (
        message.method === 'notifications/cancelled' &&
        (typeof requestId === 'string' || typeof requestId === 'number')
      ) {
        existing(principal, ctx.endpoint.upstream)?.cancel(requestId);
      }
      ctx.res.writeHead(202).end();
      return;
    }
    const request = message as JsonRpcRequest;
    if (methodFacts(request.method).sessionOnly) {
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
function exchange(ctx: AuthenticatedContext, streaming: boolean): ModernExchange {
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
