/**
 * The MCP Streamable HTTP endpoint for the 2025 revisions: POST carries messages, GET opens the
 * session's standalone stream, DELETE ends the session. Sessions are bound to the principal that
 * opened them; another principal presenting the id gets the same 404 as an unknown id.
 */

import { GatewayError } from '../core/errors.js';
import { idKey, isRequest, type JsonRpcMessage, type JsonRpcResponse } from '../core/jsonrpc.js';
import type { Principal } from '../core/principal.js';
import { allowsBatch } from '../core/revisions.js';
import { resourceMetadataUrl } from '../http/resource-url.js';
import type { AuthenticatedContext } from '../pipeline/context.js';
import { canStepUp, type Gatekeeper } from '../policy/gatekeeper.js';
import { methodNotAllowed } from './check-request.js';
import type { RelaySession } from './relay-session.js';
import type { Session } from './session.js';
import type { SessionRegistry } from './session-registry.js';

export interface RelayOptions {
  /** Every session the gateway holds, 2025 and 2026 alike, under one set of caps. */
  readonly sessions: SessionRegistry<RelaySession>;
  /** Serves 2026-07-28 (stateless) requests. */
  readonly modern: (ctx: AuthenticatedContext) => Promise<void>;
  /** Starts a session and its upstream link for `upstream`, owned by `principal`. */
  readonly openSession: (upstream: string, principal: Principal) => Promise<Session>;
}

export function relay(options: RelayOptions): (ctx: AuthenticatedContext) => Promise<void> {
  const { sessions, openSession } = options;

  const existing = (ctx: AuthenticatedContext): Session => {
    const id = ctx.req.headers['mcp-session-id'];
    if (typeof id !== 'string' || id === '') {
      throw new GatewayError(
        'session_required',
        'Mcp-Session-Id header is required — send initialize first to open a session',
      );
    }
    const session = sessions.get(id, ctx.principal.id);
    if (session?.kind !== 'session' || session.upstream !== ctx.endpoint.upstream) {
      throw new GatewayError(
        'session_not_found',
        'session not found or ended — send initialize to open a new session',
      );
    }
    return session;
  };

  return async function relayToUpstream(ctx) {
    if (ctx.modern) return options.modern(ctx);
    switch (ctx.req.method) {
      case 'POST': {
        const messages = ctx.messages ?? [];
        const initialize = messages.find((m) => isRequest(m) && m.method === 'initialize');
        if (initialize) {
          if (messages.length > 1)
            throw new GatewayError('invalid_request', 'initialize must be sent alone, not in a batch');
          if (ctx.req.headers['mcp-session-id'] !== undefined) {
            throw new GatewayError(
              'invalid_request',
              'initialize opens a new session — send it without Mcp-Session-Id',
            );
          }
          const owner = ctx.principal;
          const session = await sessions.admit(owner, () => openSession(ctx.endpoint.upstream, owner));
          session.post(ctx.res, messages, exchangeOf(ctx));
          return;
        }
        const session = existing(ctx);
        if (ctx.isBatch && !allowsBatch(session.protocolVersion ?? ctx.protocolVersion ?? '')) {
          throw new GatewayError(
            'batch_not_supported',
            `JSON-RPC batches are not allowed in protocol ${session.protocolVersion} — send one message per POST`,
          );
        }
        session.post(ctx.res, messages, {
          ...exchangeOf(ctx),
          refused: await refusals(session.gatekeeper, messages, ctx),
        });
        return;
      }
      case 'GET':
        existing(ctx).openStream(ctx.res);
        return;
      case 'DELETE':
        await sessions.close(existing(ctx));
        ctx.res.writeHead(200).end();
        return;
      default:
        throw methodNotAllowed(ctx.req.method);
    }
  };
}

/** Who a POST's answers belong to, and the audit trail that watches them go out. */
function exchangeOf(ctx: AuthenticatedContext) {
  const audit = ctx.audit;
  return {
    requestId: ctx.requestId,
    principal: ctx.principal,
    ...(audit ? { observe: (response: JsonRpcResponse) => audit.answered(response) } : {}),
  };
}

/**
 * The policy's refusals for the requests of one POST. A lone request refused for a principal that
 * can step up is answered with HTTP 403 and its challenge; otherwise each refusal is answered in
 * place of its request.
 */
async function refusals(
  gatekeeper: Gatekeeper,
  messages: readonly JsonRpcMessage[],
  ctx: AuthenticatedContext,
): Promise<Map<string, GatewayError>> {
  const refused = new Map<string, GatewayError>();
  const resourceMetadata = resourceMetadataUrl(ctx.publicUrl, ctx.endpoint.path);
  for (const message of messages) {
    if (!isRequest(message)) continue;
    const refusal = await gatekeeper.refusal(message, ctx.principal, resourceMetadata, ctx.audit);
    if (refusal) refused.set(idKey(message.id), refusal);
  }
  const only = messages.length === 1 ? refused.values().next().value : undefined;
  if (only && canStepUp(ctx.principal)) throw only;
  return refused;
}
