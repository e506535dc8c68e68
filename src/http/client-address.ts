/**
 * Who is on the other end: the client IP and whether the request travelled over TLS. Forwarded
 * headers are believed only from the proxies the operator listed (listen.trustedProxies); the client
 * is then the right-most address in X-Forwarded-For that is not a trusted proxy (proxy-addr).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import proxyaddr from 'proxy-addr';

export interface ClientAddress {
  readonly ip: string;
  /** TLS here, or at a trusted proxy that says so in X-Forwarded-Proto. */
  readonly secure: boolean;
}

export function clientAddressResolver(
  trustedProxies: readonly string[],
): (req: IncomingMessage) => ClientAddress {
  const trust = proxyaddr.compile([...trustedProxies]);
  return (req) => {
    const encrypted = (req.socket as TLSSocket).encrypted === true;
    const peer = req.socket.remoteAddress ?? '';
    if (trustedProxies.length === 0 || !trust(peer, 0)) return { ip: peer, secure: encrypted };
    const proto = String(req.headers['x-forwarded-proto'] ?? '')
      .split(',')
      .pop()
      ?.trim()
      .toLowerCase();
    return { ip: proxyaddr(req, trust), secure: encrypted || proto === 'https' };
  };
}
