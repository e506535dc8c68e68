/**
 * DNS-rebinding guard, part two (MCP transports: a present but invalid Origin MUST get 403).
 * Requests without Origin come from non-browser clients and pass; a browser's Origin must be the
 * gateway's own or one the operator listed. `Origin: null` (sandboxed frames, file://) is refused.
 */

import { GatewayError } from '../core/errors.js';
import type { RequestContext } from '../pipeline/context.js';

export interface OriginCheckOptions {
  readonly publicUrl: URL;
  readonly allowedOrigins: readonly string[];
}

export function originCheck(options: OriginCheckOptions): (ctx: RequestContext) => void {
  const allowed = new Set([options.publicUrl.origin, ...options.allowedOrigins].map((o) => o.toLowerCase()));
  return function checkOrigin(ctx) {
    const origin = ctx.req.headers.origin;
    if (origin === undefined || allowed.has(origin.toLowerCase())) return;
    throw new GatewayError(
      'origin_not_allowed',
      `requests from origin ${JSON.stringify(origin)} are not allowed — add it to listen.allowedOrigins if it is yours`,
    );
  };
}
