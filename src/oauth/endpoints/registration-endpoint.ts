/**
 * POST /register (RFC 7591), only with auth.oauth.registration: open. Rate-limited per client IP
 * before the body is read; the body must be JSON under its own size cap; the metadata checks are
 * DynamicClients'. Each registration is an audit event.
 */
import { readBody } from '../../http/read-body.js';
import type { DynamicClients } from '../client-id.js';
import { OAuthError } from '../errors.js';
import type { EndpointContext, OAuthRequest } from './endpoint-context.js';
import type { JsonAnswer } from './json-endpoint.js';

const MAX_REGISTRATION_BODY = 8 * 1024;

export async function registrationEndpoint(
  ctx: EndpointContext,
  dynamic: DynamicClients,
  r: OAuthRequest,
): Promise<JsonAnswer> {
  const limited = await ctx.options.registrationLimiter.consume(r.clientIp);
  if (!limited.allowed) {
    throw new OAuthError(
      'temporarily_unavailable',
      `too many registrations from this address — retry in ${limited.resetSeconds} s`,
      { status: 429 },
    );
  }
  if (!(r.req.headers['content-type'] ?? '').startsWith('application/json'))
    throw new OAuthError('invalid_client_metadata', 'send the registration as application/json');
  let body: unknown;
  try {
    body = JSON.parse(await readBody(r.req, MAX_REGISTRATION_BODY));
  } catch (err) {
    throw new OAuthError(
      'invalid_client_metadata',
      err instanceof SyntaxError
        ? 'the registration is not valid JSON'
        : `the registration is larger than ${MAX_REGISTRATION_BODY} bytes`,
    );
  }
  const registered = await dynamic.register(body);
  ctx.options.audit?.record({
    type: 'oauth.client_registered',
    requestId: r.requestId,
    clientIp: r.clientIp,
    clientId: registered.client_id,
    clientName: registered.client_name ?? '',
    redirectUris: registered.redirect_uris,
  });
  return { status: 201, body: registered };
}
