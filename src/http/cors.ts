/**
 * CORS for browser clients: only origins listed in listen.allowedOrigins get CORS headers (nothing
 * by default — unlike frameworks that default to `*`); preflights are answered here, and the
 * headers an MCP client must read (session id, auth challenges, limits) are exposed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const ALLOWED_METHODS = 'GET, POST, DELETE, OPTIONS';
const ALLOWED_HEADERS = new Set([
  'authorization',
  'content-type',
  'accept',
  'x-api-key',
  'mcp-session-id',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'last-event-id',
]);
const EXPOSED = 'Mcp-Session-Id, WWW-Authenticate, X-Request-Id, Retry-After, RateLimit, RateLimit-Policy';

export interface Cors {
  /** Adds CORS headers for an allowed Origin; true if the request's Origin is allowed. */
  apply(req: IncomingMessage, res: ServerResponse): boolean;
  /** Answers a preflight: 204 for an allowed origin, 403 otherwise. */
  preflight(req: IncomingMessage, res: ServerResponse): void;
}

export function cors(allowedOrigins: readonly string[]): Cors {
  const allowed = new Set(allowedOrigins.map((o) => o.toLowerCase()));
  const apply = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined || !allowed.has(origin.toLowerCase())) return false;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-expose-headers', EXPOSED);
    res.setHeader('vary', 'Origin');
    return true;
  };
  return {
    apply,
    preflight(req, res) {
      if (!apply(req, res)) {
        res.writeHead(403, { 'content-length': 0 }).end();
        return;
      }
      const requested = String(req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => ALLOWED_HEADERS.has(h) || /^mcp-param-[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(h));
      res.writeHead(204, {
        'access-control-allow-methods': ALLOWED_METHODS,
        'access-control-allow-headers': requested.join(', '),
        'access-control-max-age': '600',
        'content-length': 0,
      });
      res.end();
    },
  };
}
