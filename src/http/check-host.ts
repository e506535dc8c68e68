/**
 * DNS-rebinding guard, part one: the Host header must name this gateway. A page on evil.example that
 * re-points its DNS at 127.0.0.1 still sends Host: evil.example, and is refused here.
 */

import { GatewayError } from '../core/errors.js';
import { isLoopbackHost } from '../net/loopback.js';
import type { RequestContext } from '../pipeline/context.js';

export interface HostCheckOptions {
  readonly listenHost: string;
  readonly publicUrl: URL;
  readonly allowedHosts: readonly string[];
}

export function hostCheck(options: HostCheckOptions): (ctx: RequestContext) => void {
  const allowed = new Set([options.publicUrl.hostname, ...options.allowedHosts].map(normalizeHost));
  const allowLoopback = isLoopbackHost(options.listenHost);
  return function checkHost(ctx) {
    const header = ctx.req.headers.host;
    if (!header) throw new GatewayError('host_missing', 'the request has no Host header');
    const host = normalizeHost(hostnameOf(header));
    if (allowed.has(host) || (allowLoopback && isLoopbackHost(host))) return;
    throw new GatewayError(
      'host_not_allowed',
      `Host ${JSON.stringify(header)} is not served here — use the gateway's public URL, or add the host to listen.allowedHosts`,
    );
  };
}

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

function normalizeHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}
