/**
 * The admin API, on the gateway's own port: GET /admin/sessions lists the sessions the gateway holds
 * (with each stdio child's PID and resident memory) and the warm pools' waiting children, DELETE /admin/sessions/<ref> ends one. The
 * caller must hold the `admin` scope through an API key or a Basic user; `auth: { none: true }`
 * serves no admin API, since there everyone on the port would be an administrator.
 */
import { GatewayError } from '../core/errors.js';
import type { Principal } from '../core/principal.js';
import { sendJson } from '../core/render.js';
import type { AuthenticatedContext } from '../pipeline/context.js';
import { rssBytes } from '../upstream/process-memory.js';

/** The scope that grants the admin API (held by `*` and `admin:*` too). */
export const ADMIN_SCOPE = 'admin';

export interface AdminSessions {
  list(): readonly { readonly pid?: number }[];
  /** Ends the session with this public handle; false when there is none. */
  closeByRef(ref: string, actor: Principal): Promise<boolean>;
  /** The stdio upstreams' warm pools: children waiting (not yet any session's) and their memory. */
  warmPools(): Promise<readonly object[]>;
}

export interface AdminApiOptions {
  readonly sessions: AdminSessions;
  /** Whether the principal holds `scope` (roles and wildcards expanded by the policy). */
  readonly holds: (principal: Principal, scope: string) => boolean;
}

const SESSION_PATH = /^\/admin\/sessions\/([0-9a-f]{12})$/;

export function adminApi(options: AdminApiOptions): (ctx: AuthenticatedContext) => Promise<void> {
  return async function serveAdmin(ctx) {
    const { req, res, principal } = ctx;
    if (principal.kind === 'anonymous') {
      throw new GatewayError(
        'forbidden',
        'the admin API needs a signed-in administrator — enable auth.apiKeys or auth.basic and use a key or user with the admin scope',
      );
    }
    if (!options.holds(principal, ADMIN_SCOPE)) {
      throw new GatewayError(
        'insufficient_scope',
        `the admin API needs the scope '${ADMIN_SCOPE}', which this caller does not have`,
        {
          data: { requiredScopes: [ADMIN_SCOPE] },
        },
      );
    }
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (path === '/admin/sessions') {
      if (req.method !== 'GET') throw notAllowed(req.method, 'GET');
      const sessions = await Promise.all(options.sessions.list().map(withMemory));
      const warmPools = await options.sessions.warmPools();
      return sendJson(res, 200, { sessions, warmPools }, {}, true);
    }
    const match = SESSION_PATH.exec(path);
    if (match) {
      if (req.method !== 'DELETE') throw notAllowed(req.method, 'DELETE');
      if (!(await options.sessions.closeByRef(match[1] as string, principal))) {
        throw new GatewayError('not_found', `no session ${match[1]} — list them with GET /admin/sessions`);
      }
      return sendJson(res, 200, { closed: match[1] }, {}, true);
    }
    throw new GatewayError('not_found', `no admin endpoint at ${path} — try GET /admin/sessions`);
  };
}

function notAllowed(method: string | undefined, allowed: string): GatewayError {
  return new GatewayError('method_not_allowed', `${method} is not allowed here — use ${allowed}`, {
    headers: { allow: allowed },
  });
}

/** The session with its child's resident memory, read from /proc where the platform has it. */
async function withMemory<T extends { readonly pid?: number }>(
  session: T,
): Promise<T & { rssBytes?: number }> {
  if (session.pid === undefined) return session;
  const rss = await rssBytes(session.pid);
  return rss === undefined ? session : { ...session, rssBytes: rss };
}
