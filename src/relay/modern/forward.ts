/**
 * Hands a 2026-07-28 retry to the fleet instance holding its parked call, and relays that
 * instance's answer (JSON or an SSE stream) back as it comes. The peer authenticates, limits and
 * checks the request itself, as if the client had reached it directly: this instance vouches for
 * nothing. A forwarded request is marked, and a marked request is never forwarded again, so two
 * instances can never pass a request back and forth.
 */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { GatewayError } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import type { AuthenticatedContext } from '../../pipeline/context.js';

export const FORWARDED_HEADER = 'x-portcullis-forwarded';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the new hop sets itself. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'expect',
]);

function forwardable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !NOT_FORWARDED.has(name)) out[name] = value;
  }
  return out;
}

export interface ForwardOptions {
  /** The owner's origin (fleet.advertiseUrl), from the signed and sealed requestState. */
  readonly route: string;
  /** The request body as this instance parsed it. */
  readonly body: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

export function forwardToOwner(ctx: AuthenticatedContext, options: ForwardOptions): Promise<void> {
  const target = new URL(ctx.req.url ?? '/', options.route);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = Buffer.from(options.body, 'utf8');
  return new Promise((resolve, reject) => {
    const peer = send(target, {
      method: 'POST',
      // Host stays the client's (the public name every instance accepts); the socket goes to the peer.
      headers: { ...forwardable(ctx.req.headers), [FORWARDED_HEADER]: '1', 'content-length': body.length },
      timeout: options.timeoutMs,
    });
    const unavailable = (why: string) =>
      new GatewayError(
        'peer_unavailable',
        'the gateway instance holding this call cannot be reached — start the request again without requestState',
        { detail: `forwarding to ${target.origin}: ${why}` },
      );
    peer.on('timeout', () => peer.destroy(new Error('timed out')));
    peer.on('error', (err) => {
      if (!ctx.res.headersSent) reject(unavailable(err.message));
      else {
        ctx.res.destroy();
        resolve();
      }
    });
    peer.on('response', (answer) => {
      const headers = forwardable(answer.headers);
      ctx.res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(ctx.res);
      answer.on('end', () => resolve());
      answer.on('error', () => {
        ctx.res.destroy();
        resolve();
      });
    });
    // The client went away: so does the forwarded request (the owner then abandons the call).
    ctx.res.on('close', () => {
      if (!ctx.res.writableFinished) peer.destroy();
    });
    options.logger.debug({ owner: target.origin }, 'forwarded a retry to the instance holding its call');
    peer.end(body);
  });
}
