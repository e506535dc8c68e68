/**
 * The one runner of the JSON endpoints (/token, /revoke, /register): their answer, or their refusal
 * as an RFC 6749 §5.2 error object with no-store, recorded in the audit trail. Also the form body
 * /token and /revoke take, refused unless it is form-encoded.
 */
import { readBody } from '../../http/read-body.js';
import { CodeReplayError, OAuthError, oauthErrorBody, RefreshTokenReuseError } from '../errors.js';
import { type EndpointContext, MAX_FORM_BYTES, type OAuthRequest } from './endpoint-context.js';
import { sendJson } from './responses.js';

export interface JsonAnswer {
  readonly status: number;
  readonly body?: object;
}

/** Runs a JSON endpoint: its answer, or its refusal as an RFC 6749 error object (and an audit event). */
export async function runJsonEndpoint(
  ctx: EndpointContext,
  r: OAuthRequest,
  endpoint: string,
  work: () => Promise<JsonAnswer>,
): Promise<void> {
  const { res } = r;
  try {
    const { status, body } = await work();
    sendJson(res, status, body);
  } catch (err) {
    const { status, body } = oauthErrorBody(err);
    ctx.options.audit?.record({
      type: 'oauth.refused',
      requestId: r.requestId,
      clientIp: r.clientIp,
      endpoint,
      error: body.error,
      message: body.error_description,
      ...(err instanceof CodeReplayError || err instanceof RefreshTokenReuseError
        ? { grantRevoked: true }
        : {}),
    });
    // RFC 6749 §5.2: a failed client authentication through the Authorization header gets a challenge.
    const headers: Record<string, string> =
      status === 401 ? { 'www-authenticate': 'Basic realm="portcullis-oauth", charset="UTF-8"' } : {};
    sendJson(res, status, body, headers);
  }
}

export async function readFormBody({ req }: OAuthRequest): Promise<URLSearchParams> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
    throw new OAuthError('invalid_request', 'send the request as application/x-www-form-urlencoded');
  return new URLSearchParams(await readBody(req, MAX_FORM_BYTES));
}
