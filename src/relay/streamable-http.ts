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
import type { RequestContext } from '../pipeline/context.js';
import { canStepUp, type Gatekeeper } from '../policy/gatekeeper.js';
import { methodNotAllowed } from './check-request.js';
import type { Session } from './session.js';
import type { SessionRegistry } from './session-registry.js';

export interface RelayOptions {
  readonly sessions: SessionRegistry<Session>;
  /** Serves 2026-07-28 (stateless) requests. */
  readonly modern: (ctx: RequestContext) => Promise<void>;
  /** Starts a session and its upstream link for `upstream`, owned by `principal`. */
  readonly openSession: (upstream: string, principal: Principal) => Promise<Session>;
  /** Open sessions allowed per principal and in all. */
  readonly maxSessions: { readonly perPrincipal: number; readonly total: number };
}

export function relay(options: RelayOptions): (ctx: RequestContext) => Promise<void> {
  const { sessions, openSession } = options;
  /** Sessions being opened, per principal and in all: they count against the caps already. */
  const opening = new Map<string, number>();
  let openingTotal = 0;

  const existing = (ctx: RequestContext): Session => {
    const id = ctx.req.headers['mcp-session-id'];
    if (typeof id !== 'string' || id === '') {
      throw new GatewayError(
        'session_required',
        'Mcp-Session-Id header is required — send initialize first to open a session',
      );
    }
    const session = sessions.get(id, principal(ctx).id);
    if (!session || session.upstream !== ctx.endpoint.upstream) {
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
          // Each session may hold a child process: bounded per principal and in all, counting the
          // sessions still opening (an HTTP upstream's initialize takes a round trip).
          const owner = principal(ctx).id;
          if (sessions.countFor(owner) + (opening.get(owner) ?? 0) >= options.maxSessions.perPrincipal) {
            throw new GatewayError(
              'too_many_sessions',
              `this caller already has ${options.maxSessions.perPrincipal} open sessions — end one (DELETE) before opening another`,
            );
          }
          if (sessions.size + openingTotal >= options.maxSessions.total) {
            throw new GatewayError(
              'gateway_full',
              'the gateway has reached its session limit — try again later',
              { retryAfter: 30 },
            );
          }
          opening.set(owner, (opening.get(owner) ?? 0) + 1);
          openingTotal++;
          let session: Session;
          try {
            session = await openSession(ctx.endpoint.upstream, principal(ctx));
          } finally {
            openingTotal--;
            const left = (opening.get(owner) ?? 1) - 1;
            if (left > 0) opening.set(owner, left);
            else opening.delete(owner);
          }
          sessions.add(session);
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
function exchangeOf(ctx: RequestContext) {
  const audit = ctx.audit;
  return {
    requestId: ctx.requestId,
    principal: principal(ctx),
    ...(audit ? { observe: (response: JsonRpcResponse) => audit.answered(response) } : {}),
  };
}

function principal(ctx: RequestContext): Principal {
  if (!ctx.principal) {
    throw new GatewayError('internal_error', 'no principal', {
      detail: 'relay ran before authentication',
    });
  }
  return ctx.principal;
}

/**
 * The policy's refusals for the requests of one POST. A lone request refused for a principal that
 * can step up is answered with HTTP 403 and its challenge; otherwise each refusal is answered in
 * place of its request.
 */
async function refusals(
  gatekeeper: Gatekeeper,
  messages: readonly JsonRpcMessage[],
  ctx: RequestContext,
): Promise<Map<string, GatewayError>> {
  const refused = new Map<string, GatewayError>();
  const resourceMetadata = resourceMetadataUrl(ctx.publicUrl, ctx.endpoint.path);
  for (const message of messages) {
    if (!isRequest(message)) continue;
    const refusal = await gatekeeper.refusal(message, principal(ctx), resourceMetadata, ctx.audit);
    if (refusal) refused.set(idKey(message.id), refusal);
  }
  const only = messages.length === 1 ? refused.values().next().value : undefined;
  if (only && canStepUp(principal(ctx))) throw only;
  return refused;
}
