/**
 * The MCP Streamable HTTP endpoint for the 2025 revisions: POST carries messages, GET opens the
 * session's standalone stream, DELETE ends the session. Sessions are bound to the principal that
 * opened them; another principal presenting the id gets the same 404 as an unknown id.
 */

import { GatewayError } from '../core/errors.js';
import { isRequest } from '../core/jsonrpc.js';
import type { Principal } from '../core/principal.js';
import { allowsBatch } from '../core/revisions.js';
import { resourceMetadataUrl } from '../http/resource-url.js';
import type { AuthenticatedContext } from '../pipeline/context.js';
import { methodNotAllowed } from './check-request.js';
import type { RelaySession } from './relay-session.js';
import type { PostContext, Session } from './session.js';
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
          await session.post(ctx.res, messages, postOf(ctx));
          return;
        }
        const session = existing(ctx);
        if (ctx.isBatch && !allowsBatch(session.protocolVersion ?? ctx.protocolVersion ?? '')) {
          throw new GatewayError(
            'batch_not_supported',
            `JSON-RPC batches are not allowed in protocol ${session.protocolVersion} — send one message per POST`,
          );
        }
        await session.post(ctx.res, messages, postOf(ctx));
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

/** Who sent a POST, and what its calls are checked and recorded with. */
function postOf(ctx: AuthenticatedContext): PostContext {
  return {
    requestId: ctx.requestId,
    principal: ctx.principal,
    audit: ctx.audit,
    resourceMetadata: resourceMetadataUrl(ctx.publicUrl, ctx.endpoint.path),
  };
}
