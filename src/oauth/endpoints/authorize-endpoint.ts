/**
 * GET /authorize: the request is checked (authorization-request.ts); a bad client or redirect URI
 * gets an error page, never a redirect, and any later refusal goes back to the client. A good one
 * is sealed into a transaction and the sign-in page is shown.
 */
import { parseAuthorizationRequest } from '../authorization-request.js';
import type { Transaction } from '../transactions.js';
import type { EndpointContext, OAuthRequest } from './endpoint-context.js';
import { pageError } from './page-forms.js';
import { redirect } from './responses.js';
import { showLogin } from './show-login.js';

export async function authorizeEndpoint(ctx: EndpointContext, { req, res }: OAuthRequest): Promise<void> {
  const params = new URL(req.url ?? '/', ctx.issuer).searchParams;
  const parsed = await parseAuthorizationRequest(params, {
    issuer: ctx.issuer,
    resources: ctx.options.resources,
    resolveClient: (id) => ctx.clients.resolve(id),
  });
  if (!parsed.ok && !parsed.redirect) {
    pageError(res, parsed.error);
    return;
  }
  if (!parsed.ok) {
    redirect(res, parsed.location);
    return;
  }
  const { request } = parsed;
  const transaction: Transaction = {
    clientId: request.client.clientId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    resource: request.resource,
    scopes: request.scopes,
    state: request.state,
  };
  await showLogin(ctx, res, req, transaction, request.client, await ctx.transactions.seal(transaction));
}
