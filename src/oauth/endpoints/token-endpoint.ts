/**
 * POST /token: the client authenticates, then one of the two grants we support runs —
 * authorization_code (with its PKCE verifier, RFC 7636) or refresh_token (rotated, RFC 6749 §6).
 * Any other grant_type is refused by name; each token issued is an audit event.
 */
import { authenticateClient, single } from '../client-authentication.js';
import type { OAuthClient } from '../client-metadata.js';
import { OAuthError } from '../errors.js';
import { parseScopeParameter } from '../scopes.js';
import type { TokenResponse } from '../tokens.js';
import type { EndpointContext, OAuthRequest } from './endpoint-context.js';
import { type JsonAnswer, readFormBody } from './json-endpoint.js';

type GrantType = 'authorization_code' | 'refresh_token';

export async function tokenEndpoint(ctx: EndpointContext, r: OAuthRequest): Promise<JsonAnswer> {
  const body = await readFormBody(r);
  const client = await authenticateClient({ authorization: r.req.headers.authorization, body }, ctx.clients);
  const grantType = single(body, 'grant_type');
  const resource = single(body, 'resource');
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
    throw new OAuthError(
      grantType === undefined ? 'invalid_request' : 'unsupported_grant_type',
      grantType === undefined
        ? 'grant_type is required'
        : `grant_type ${grantType} is not supported — use authorization_code or refresh_token`,
    );
  }
  const answer = await GRANTS[grantType](ctx, client, body, resource);
  ctx.options.audit?.record({
    type: 'oauth.token',
    requestId: r.requestId,
    clientIp: r.clientIp,
    grantType,
    clientId: client.clientId,
    scopes: answer.scope.split(' ').filter(Boolean),
  });
  return { status: 200, body: answer };
}

type Grant = (
  ctx: EndpointContext,
  client: OAuthClient,
  body: URLSearchParams,
  resource: string | undefined,
) => Promise<TokenResponse>;

const GRANTS: Readonly<Record<GrantType, Grant>> = {
  authorization_code: (ctx, client, body, resource) =>
    ctx.tokens.exchangeCode(
      ctx.codes,
      {
        code: single(body, 'code'),
        clientId: client.clientId,
        redirectUri: single(body, 'redirect_uri'),
        codeVerifier: single(body, 'code_verifier'),
        resource,
      },
      client,
    ),
  refresh_token: (ctx, client, body, resource) =>
    ctx.tokens.refresh(client, {
      token: single(body, 'refresh_token'),
      resource,
      scopes: parseScopeParameter(single(body, 'scope')),
    }),
};
