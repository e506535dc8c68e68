/**
 * POST /revoke (RFC 7009): the client authenticates, then its token (and, for a refresh token, the
 * whole grant) is revoked; an unknown token is still a 200, as §2.2 asks.
 */
import { authenticateClient, single } from '../client-authentication.js';
import type { EndpointContext, OAuthRequest } from './endpoint-context.js';
import { type JsonAnswer, readFormBody } from './json-endpoint.js';

export async function revocationEndpoint(ctx: EndpointContext, r: OAuthRequest): Promise<JsonAnswer> {
  const body = await readFormBody(r);
  const client = await authenticateClient({ authorization: r.req.headers.authorization, body }, ctx.clients);
  await ctx.tokens.revoke(client, single(body, 'token'));
  ctx.options.audit?.record({
    type: 'oauth.revoked',
    requestId: r.requestId,
    clientIp: r.clientIp,
    clientId: client.clientId,
  });
  return { status: 200 };
}
