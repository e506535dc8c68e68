/**
 * The sign-in page for a pending authorization request: the local form (when local sign-in is on),
 * the "Sign in with …" link (when an identity provider is set), and after a failed attempt the
 * user name back with what went wrong — 401 for a wrong password, 429 when throttled.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OAuthClient } from '../client-metadata.js';
import { OAUTH_PATHS } from '../metadata.js';
import { FIELDS } from '../pages/fields.js';
import { pageHeaders } from '../pages/headers.js';
import { renderLoginPage } from '../pages/login-page.js';
import type { Transaction } from '../transactions.js';
import { UPSTREAM_LOGIN_PATHS } from '../upstream-login.js';
import type { EndpointContext } from './endpoint-context.js';
import { send } from './responses.js';

export interface LoginFailure {
  readonly username: string;
  readonly error: string;
  readonly throttled?: { retryAfter: number | undefined };
}

export async function showLogin(
  ctx: EndpointContext,
  res: ServerResponse,
  req: IncomingMessage,
  transaction: Transaction,
  client: OAuthClient,
  requestId: string,
  failure?: LoginFailure,
): Promise<void> {
  const binding = ctx.csrf.binding(req.headers.cookie);
  const external = ctx.upstream && ctx.options.config.login.oidc;
  const externalQuery = new URLSearchParams({
    [FIELDS.requestId]: requestId,
    [FIELDS.csrfToken]: ctx.csrf.token('external-login', requestId, binding.value),
  });
  const page = renderLoginPage({
    action: OAUTH_PATHS.login,
    requestId,
    csrfToken: ctx.csrf.token('login', requestId, binding.value),
    client,
    localLogin: ctx.localLogin,
    ...(external
      ? { externalLogin: { name: external.name, href: `${UPSTREAM_LOGIN_PATHS.start}?${externalQuery}` } }
      : {}),
    ...(failure ? { username: failure.username, error: failure.error } : {}),
  });
  // A remembered consent sends the sign-in straight on to the client: its form may lead there.
  const base = pageHeaders({ redirectUris: [transaction.redirectUri] });
  const headers = [
    ...base,
    ...(binding.setCookie ? [['set-cookie', binding.setCookie] as const] : []),
    ...(failure?.throttled?.retryAfter !== undefined
      ? [['retry-after', String(failure.throttled.retryAfter)] as const]
      : []),
  ];
  // A throttled sign-in is 429 (as the audit event records it), a wrong password 401.
  send(res, failure ? (failure.throttled ? 429 : 401) : 200, headers, page);
}
