/**
 * The browser's two steps of a sign-in delegated to the identity provider (auth.oauth.login.oidc):
 * the sign-in page's link, CSRF-checked like a form, off to the provider with the pending request
 * sealed in state; and the provider's redirect back, verified by UpstreamLogin, then on as after a
 * local sign-in. An IdP account named like a local user is refused rather than merged with it.
 */
import type { ServerResponse } from 'node:http';
import type { OidcLoginConfig } from '../../config/oauth-schema.js';
import { OAuthError } from '../errors.js';
import { renderErrorPage } from '../pages/error-page.js';
import { FIELDS } from '../pages/fields.js';
import { PAGE_HEADERS } from '../pages/headers.js';
import { UPSTREAM_LOGIN_PATHS, type UpstreamLogin } from '../upstream-login.js';
import type { EndpointContext, OAuthRequest } from './endpoint-context.js';
import { openTransaction, verifyCsrf } from './page-forms.js';
import { redirect, respondToClient, send } from './responses.js';
import { signedIn, upstreamPrincipal } from './signed-in.js';

/** The sign-in page's "Sign in with …" link: off to the provider, the pending request sealed in state. */
export async function startUpstreamLogin(
  ctx: EndpointContext,
  upstream: UpstreamLogin,
  { req, res }: OAuthRequest,
): Promise<void> {
  const params = new URL(req.url ?? '/', ctx.issuer).searchParams;
  const requestId = params.get(FIELDS.requestId) ?? '';
  // A GET, but it must not be triggerable across sites either: a link elsewhere could start a
  // sign-in in the victim's browser for a request the attacker made.
  const binding = verifyCsrf(
    ctx,
    res,
    'external-login',
    requestId,
    req.headers.cookie,
    params.get(FIELDS.csrfToken),
  );
  if (binding === undefined) return;
  const transaction = await openTransaction(ctx, res, requestId);
  if (!transaction) return;
  let location: string;
  try {
    location = await upstream.authorizationUrl(transaction, binding);
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    return upstreamErrorPage(ctx, res, err);
  }
  redirect(res, location);
}

/** The provider sends the browser back here: verify, then carry on as after a local sign-in. */
export async function upstreamCallback(
  ctx: EndpointContext,
  upstream: UpstreamLogin,
  oidc: OidcLoginConfig,
  r: OAuthRequest,
): Promise<void> {
  const { req, res } = r;
  const params = new URL(req.url ?? '/', ctx.issuer).searchParams;
  const cookie = ctx.csrf.binding(req.headers.cookie);
  // A binding made just now (no cookie came) cannot match the state's: pass none.
  const binding = cookie.setCookie === undefined ? cookie.value : undefined;
  const outcome = await upstream.complete(params, binding).catch((err: unknown) => {
    if (err instanceof OAuthError) return { ok: false as const, error: err, toClient: false };
    throw err;
  });
  if (!outcome.ok) {
    recordFailure(
      ctx,
      r,
      outcome.error,
      'username' in outcome ? outcome.username : undefined,
      outcome.error.error === 'access_denied' ? 'invalid_token' : 'invalid_auth_request',
    );
    const transaction = 'transaction' in outcome ? outcome.transaction : undefined;
    if (outcome.toClient && transaction) {
      // The provider said no (cancelled, not allowed there): the client hears it, with state and iss.
      return respondToClient(
        res,
        ctx.issuer,
        transaction,
        { error: 'access_denied', error_description: outcome.error.description },
        false,
      );
    }
    return upstreamErrorPage(ctx, res, outcome.error);
  }
  const { transaction, identity } = outcome;
  // One name, one person: an IdP account named like a local user would share that user's
  // remembered consents and principal id (oauth:<name>), so it is refused rather than merged.
  if (ctx.options.users?.principalOf(identity.username) !== undefined) {
    const error = new OAuthError(
      'access_denied',
      `the name ${identity.username} belongs to a local user here — sign in with the user name and password instead`,
    );
    recordFailure(ctx, r, error, identity.username, 'invalid_token');
    return upstreamErrorPage(ctx, res, error);
  }
  const user = upstreamPrincipal(identity.username, oidc);
  ctx.options.audit?.record({
    type: 'auth.success',
    requestId: r.requestId,
    method: 'oauth',
    principal: { id: user.id, kind: user.kind, name: user.name },
    clientIp: r.clientIp,
    upstream: '-',
    endpoint: UPSTREAM_LOGIN_PATHS.callback,
  });
  const client = await ctx.clients.resolve(transaction.clientId);
  // complete() succeeds only when the browser's binding matched the state's, so there is one.
  return signedIn(ctx, res, transaction, client, user, binding as string, 'oidc');
}

function recordFailure(
  ctx: EndpointContext,
  r: OAuthRequest,
  error: OAuthError,
  username: string | undefined,
  reason: 'invalid_token' | 'invalid_auth_request',
): void {
  ctx.options.audit?.record({
    type: 'auth.failure',
    requestId: r.requestId,
    method: 'oauth',
    reason,
    message: error.description,
    status: error.status,
    clientIp: r.clientIp,
    upstream: '-',
    endpoint: UPSTREAM_LOGIN_PATHS.callback,
    ...(username !== undefined ? { username } : {}),
  });
}

function upstreamErrorPage(ctx: EndpointContext, res: ServerResponse, error: OAuthError): void {
  const name = ctx.options.config.login.oidc?.name ?? 'the identity provider';
  const page = renderErrorPage({
    title: `Sign-in with ${name} did not succeed`,
    problem: capitalize(error.description),
    advice:
      'Nothing was signed in or approved. Go back to the application and connect again; if this keeps happening, tell the operator of this server.',
    code: error.error,
  });
  send(res, error.status, PAGE_HEADERS, page);
}

function capitalize(text: string): string {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
