/**
 * POST /consent: the consent form, CSRF-checked and bound to the browser that signed in. Deny, a
 * user who is gone, or nothing grantable goes back to the client as access_denied; approval is
 * remembered (so the next sign-in skips the page), recorded, and answered with a code.
 */
import { OAuthError } from '../errors.js';
import { FIELDS } from '../pages/fields.js';
import { grantScopes } from '../scopes.js';
import { browserHash } from '../transactions.js';
import type { EndpointContext, OAuthRequest } from './endpoint-context.js';
import { openTransaction, pageError, verifiedForm } from './page-forms.js';
import { respondToClient } from './responses.js';
import { grantable, issueCode, userOf } from './signed-in.js';

export async function consentEndpoint(ctx: EndpointContext, r: OAuthRequest): Promise<void> {
  const { res } = r;
  const form = await verifiedForm(ctx, r, 'consent');
  if (!form) return;
  const { fields, requestId, binding } = form;
  const transaction = await openTransaction(ctx, res, requestId);
  if (!transaction) return;
  if (transaction.subject === undefined || transaction.browser !== browserHash(binding)) {
    return pageError(
      res,
      new OAuthError('invalid_request', 'sign in first — this consent form was not issued to this browser'),
    );
  }
  const deny = (description: string) =>
    respondToClient(
      res,
      ctx.issuer,
      transaction,
      { error: 'access_denied', error_description: description },
      true,
    );
  if (fields.get(FIELDS.decision) !== 'approve') return deny('the user denied the request');
  const client = await ctx.clients.resolve(transaction.clientId);
  const user = userOf(ctx, transaction);
  if (!user) return deny('the user no longer exists');
  const grant = grantScopes(transaction.scopes, grantable(ctx, user), client.scopes);
  if (grant.granted.length === 0) return deny('none of the requested scopes may be granted by this user');
  await ctx.options.stores.consents.remember(transaction.subject, client.clientId, grant.granted, Date.now());
  ctx.options.audit?.record({
    type: 'oauth.consent',
    requestId: r.requestId,
    clientIp: r.clientIp,
    subject: transaction.subject,
    clientId: client.clientId,
    clientKind: client.kind,
    scopes: grant.granted,
    dropped: grant.dropped,
  });
  return issueCode(ctx, res, transaction, grant.granted);
}
