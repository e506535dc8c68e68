/**
 * DNS-rebinding guard, part two (MCP transports: a present but invalid Origin MUST get 403).
 * Requests without Origin come from non-browser clients and pass; a browser's Origin must be the
 * gateway's own or one the operator listed. `Origin: null` (sandboxed frames, file://) is refused.
 * On a loopback-only listener, localhost, 127.0.0.1 and [::1] at the port the request arrived on
 * are this gateway too (issue 14): only this machine can reach it, by any of the three names.
 * The same names at another port are another program's pages, and are refused.
 */

import type { TLSSocket } from 'node:tls';
import { GatewayError } from '../core/errors.js';
import { isLoopbackHost } from '../net/loopback.js';
import type { RequestContext } from '../pipeline/context.js';

export interface OriginCheckOptions {
  /** listen.host: the loopback aliases are accepted only when it is a loopback address or name. */
  readonly listenHost: string;
  readonly publicUrl: URL;
  readonly allowedOrigins: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

export function originCheck(options: OriginCheckOptions): (ctx: RequestContext) => void {
  const allowed = new Set([options.publicUrl.origin, ...options.allowedOrigins].map((o) => o.toLowerCase()));
  const loopbackOnly = isLoopbackHost(options.listenHost);
  return function checkOrigin(ctx) {
    const origin = ctx.req.headers.origin;
    if (origin === undefined) return;
    const given = origin.toLowerCase();
    if (allowed.has(given) || (loopbackOnly && loopbackOrigins(ctx).includes(given))) return;
    throw new GatewayError(
      'origin_not_allowed',
      `requests from origin ${JSON.stringify(origin)} are not allowed — add it to listen.allowedOrigins if it is yours`,
    );
  };
}

/** The three loopback spellings of the listener this request arrived on (URL drops a default port). */
function loopbackOrigins(ctx: RequestContext): string[] {
  const scheme = (ctx.req.socket as TLSSocket).encrypted === true ? 'https' : 'http';
  const port = ctx.req.socket.localPort;
  if (port === undefined) return []; // the socket is already gone
  return LOOPBACK_NAMES.map((name) => new URL(`${scheme}://${name}:${port}`).origin);
}
