/**
 * Where every sign-in ends, local or delegated: straight back to the client with a code when the
 * user already approved these scopes for it, else the consent page (its form bound to the user and
 * the browser). Also who signed in for a transaction, looked up again at consent time, since the
 * config (and with it what the user may grant) can change in between.
 */
import type { ServerResponse } from 'node:http';
import type { OidcLoginConfig } from '../../config/oauth-schema.js';
import type { Principal } from '../../core/principal.js';
import { expandRoles } from '../../policy/scopes.js';
import type { OAuthClient } from '../client-metadata.js';
import { OAuthError } from '../errors.js';
import { OAUTH_PATHS } from '../metadata.js';
import { renderConsentPage } from '../pages/consent-page.js';
import { pageHeaders } from '../pages/headers.js';
import { grantScopes } from '../scopes.js';
import { browserHash, type Transaction } from '../transactions.js';
import type { EndpointContext } from './endpoint-context.js';
import { respondToClient, send } from './responses.js';

/** A transaction after sign-in also says how the user signed in: an IdP user is no Basic user. */
export type SignedInTransaction = Transaction & { readonly via?: 'oidc' };

export async function signedIn(
  ctx: EndpointContext,
  res: ServerResponse,
  transaction: Transaction,
  client: OAuthClient,
  user: Principal,
  binding: string,
  via?: 'oidc',
): Promise<void> {
  const subject = user.name;
  const signedInTransaction: SignedInTransaction = {
    ...transaction,
    subject,
    browser: browserHash(binding),
    ...(via ? { via } : {}),
  };
  const grant = grantScopes(transaction.scopes, grantable(ctx, user), client.scopes);
  // Scopes the user cannot grant are never granted, so a remembered consent for the rest suffices.
  if (
    grant.granted.length > 0 &&
    (await ctx.options.stores.consents.covers(subject, client.clientId, grant.granted))
  ) {
    return issueCode(ctx, res, signedInTransaction, grant.granted);
  }
  const consentId = await ctx.transactions.seal(signedInTransaction);
  const page = renderConsentPage({
    action: OAUTH_PATHS.consent,
    requestId: consentId,
    csrfToken: ctx.csrf.token('consent', consentId, binding),
    client,
    redirectUri: transaction.redirectUri,
    resource: transaction.resource,
    grant,
    userName: user.name,
    upstreams: ctx.options.upstreams,
  });
  send(res, 200, pageHeaders({ redirectUris: [transaction.redirectUri] }), page);
}

/** The code for an approved transaction, sent to the client's redirect URI. */
export async function issueCode(
  ctx: EndpointContext,
  res: ServerResponse,
  transaction: Transaction,
  scopes: readonly string[],
): Promise<void> {
  if (transaction.subject === undefined) throw new OAuthError('server_error', 'no subject');
  const code = await ctx.codes.issue({
    clientId: transaction.clientId,
    redirectUri: transaction.redirectUri,
    codeChallenge: transaction.codeChallenge,
    resource: transaction.resource,
    scopes,
    subject: transaction.subject,
  });
  respondToClient(res, ctx.issuer, transaction, { code }, true);
}

/** The scopes a user may grant: their own and their roles', expanded. */
export function grantable(ctx: EndpointContext, user: Principal): string[] {
  return expandRoles(user.scopes, user.roles ?? [], ctx.options.roles);
}

/** Who signed in for this transaction, with what they may grant now (the config may have changed). */
export function userOf(ctx: EndpointContext, transaction: SignedInTransaction): Principal | undefined {
  const subject = transaction.subject;
  if (subject === undefined) return undefined;
  if (transaction.via === 'oidc') {
    const oidc = ctx.options.config.login.oidc;
    return oidc ? upstreamPrincipal(subject, oidc) : undefined;
  }
  return ctx.localLogin ? ctx.options.users?.principalOf(subject) : undefined;
}

/** Every user of the identity provider holds what the config gives them all. */
export function upstreamPrincipal(username: string, oidc: OidcLoginConfig): Principal {
  return { id: `oauth:${username}`, kind: 'oauth', name: username, scopes: oidc.scopes, roles: oidc.roles };
}
