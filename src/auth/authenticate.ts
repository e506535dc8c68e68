/**
 * Authentication stage: turns the request's credential into the one Principal later stages see.
 * With `auth: { none: true }` (accepted only on a loopback listener) every caller is the same
 * anonymous principal.
 */
import type { Config } from '../config/schema.js';
import type { RequestContext } from '../http/context.js';
import { GatewayError } from '../http/errors.js';
import type { Principal } from './principal.js';

export const ANONYMOUS: Principal = Object.freeze({
  id: 'anonymous',
  kind: 'anonymous',
  name: 'anonymous',
  scopes: ['*'],
});

export function authenticate(auth: Config['auth']): (ctx: RequestContext) => void {
  const allowAnonymous = auth.none === true;
  return function authenticateRequest(ctx) {
    if (allowAnonymous) {
      ctx.principal = ANONYMOUS;
      return;
    }
    throw new GatewayError(401, 'unauthorized', 'authentication is required');
  };
}
