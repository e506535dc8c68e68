/**
 * POST /login, only with local sign-in on: the form is CSRF-checked, the pending request opened,
 * and the user name and password checked against the Basic users (throttled there). A failure is
 * recorded and shows the sign-in page again; a success goes on to consent (signed-in.ts).
 */

import { signInRefusedEvent } from '../../audit/sign-in-events.js';
import { AuthError } from '../../auth/auth-error.js';
import type { BasicUsers } from '../../auth/basic.js';
import type { Principal } from '../../core/principal.js';
import { OAUTH_PATHS } from '../metadata.js';
import { FIELDS } from '../pages/fields.js';
import type { EndpointContext, OAuthRequest } from './endpoint-context.js';
import { openTransaction, verifiedForm } from './page-forms.js';
import { showLogin } from './show-login.js';
import { signedIn } from './signed-in.js';

export async function localLoginEndpoint(
  ctx: EndpointContext,
  users: BasicUsers,
  r: OAuthRequest,
): Promise<void> {
  const { req, res } = r;
  const form = await verifiedForm(ctx, r, 'login');
  if (!form) return;
  const { fields, requestId, binding } = form;
  const transaction = await openTransaction(ctx, res, requestId);
  if (!transaction) return;
  const client = await ctx.clients.resolve(transaction.clientId);
  const username = fields.get(FIELDS.username) ?? '';
  const password = fields.get(FIELDS.password) ?? '';
  let user: Principal;
  try {
    user = await users.verify({ username, password, clientIp: r.clientIp, secure: r.secure });
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    ctx.options.audit?.record(
      signInRefusedEvent(err, {
        requestId: r.requestId,
        clientIp: r.clientIp,
        endpoint: OAUTH_PATHS.login,
        username,
      }),
    );
    const throttled = err.status === 429 ? { retryAfter: err.retryAfter } : undefined;
    const error = throttled
      ? 'Too many failed attempts. Wait a while and try again.'
      : 'The user name or password is not right.';
    return showLogin(ctx, res, req, transaction, client, requestId, {
      username,
      error,
      ...(throttled ? { throttled } : {}),
    });
  }
  return signedIn(ctx, res, transaction, client, user, binding);
}
