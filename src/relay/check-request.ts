/**
 * Front-door checks on the shape of an MCP HTTP request, before any body is read: the method, and
 * the media types the transport requires (POST: JSON in; JSON and SSE accepted. GET: SSE accepted).
 */

import { GatewayError } from '../core/errors.js';
import type { RequestContext } from '../pipeline/context.js';

export function checkRequestShape(ctx: RequestContext): void {
  const { method, headers } = ctx.req;
  const accept = (headers.accept ?? '').toLowerCase();
  const accepts = (type: string) => accept.includes(type) || accept.includes('*/*');
  if (method === 'POST') {
    const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new GatewayError('unsupported_media_type', 'POST bodies must be Content-Type: application/json');
    }
    if (!accepts('application/json') || !accepts('text/event-stream')) {
      throw new GatewayError('not_acceptable', 'POST must send Accept: application/json, text/event-stream');
    }
    return;
  }
  if (method === 'GET') {
    if (!accepts('text/event-stream'))
      throw new GatewayError('not_acceptable', 'GET must send Accept: text/event-stream');
    return;
  }
  if (method === 'DELETE') return;
  throw methodNotAllowed(method);
}

export function methodNotAllowed(method: string | undefined): GatewayError {
  return new GatewayError('method_not_allowed', `${method} is not allowed here — use POST, GET or DELETE`, {
    headers: { allow: 'GET, POST, DELETE' },
  });
}
