/**
 * The listening socket. The port is bound before the routes are built (a publicUrl may depend on
 * the port the system chose), so requests that arrive in between are held, not left unanswered:
 * each one is served once the gateway is ready, or answered 503 if its start failed.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayError } from '../core/errors.js';
import { sendError } from '../core/render.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface HeldPort {
  readonly port: number;
  /** Serves the held requests and every later one with `handler`. */
  open(handler: Handler): void;
  /** Answers the held requests 503: the gateway will not start. */
  refuse(): void;
}

export async function listen(server: Server, host: string, port: number): Promise<HeldPort> {
  const held: [IncomingMessage, ServerResponse][] = [];
  const hold: Handler = (req, res) => void held.push([req, res]);
  server.on('request', hold);
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use — stop the other process or set listen.port`
          : `cannot listen on ${host}:${port} (${err.code ?? err.message}) — check listen.host and listen.port`;
      reject(new Error(hint));
    });
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
  return {
    port: bound,
    open(handler) {
      server.off('request', hold);
      server.on('request', handler);
      for (const [req, res] of held.splice(0)) handler(req, res);
    },
    refuse() {
      const error = new GatewayError('not_ready', 'the gateway failed to start — see its log', {
        retryAfter: 5,
      });
      for (const [, res] of held.splice(0)) sendError(res, error, 'startup');
    },
  };
}

export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
