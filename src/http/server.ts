/** The HTTP front door: health endpoints, and every MCP endpoint through the pipeline. */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { GatewayError, toGatewayError } from '../core/errors.js';
import { sendError, sendGatewayErrorAsOAuth, sendJson } from '../core/render.js';
import type { Logger } from '../log/logger.js';
import type { AuthorizationServer } from '../oauth/authorization-server.js';
import type { ReadinessReport } from '../observability/readiness.js';
import type { RequestContext } from '../pipeline/context.js';
import type { ApprovalPages } from './approval-pages.js';
import { clientAddressResolver } from './client-address.js';
import { cors } from './cors.js';
import { PRM_PREFIX } from './resource-url.js';
import { type AggregateRoute, resolveEndpoint } from './routes.js';
import { HSTS, SECURITY_HEADERS, setSecurityHeaders } from './security-headers.js';

/** Where the admin API lives (src/http/admin-api.ts): the same port, its own pipeline. */
export const ADMIN_PREFIX = '/admin/';
/** The admin API's name where an upstream's would be (audit events, metrics). */
export const ADMIN_ENDPOINT = '(admin)';

export interface FrontDoorOptions {
  readonly upstreams: readonly string[];
  /** The aggregated endpoints (/mcp over several upstreams, virtual servers), by path. */
  readonly aggregates: ReadonlyMap<string, AggregateRoute>;
  /** The MCP pipeline (src/pipeline/mcp-stages.ts). */
  readonly mcp: (ctx: RequestContext) => Promise<void>;
  /** The admin API's pipeline. */
  readonly admin: (ctx: RequestContext) => Promise<void>;
  readonly readiness: () => Promise<ReadinessReport>;
  /** RFC 9728 metadata of the endpoint at `path`. */
  readonly resourceMetadata: (path: string, upstream: string) => object;
  readonly trustedProxies: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly publicUrl: URL;
  readonly logger: Logger;
  /** Told of every MCP, admin and OAuth request's handling, so a stop can let it finish. */
  readonly track: (handling: Promise<unknown>) => void;
  /** Serves GET /metrics (Prometheus), when metrics are on. */
  readonly metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /** The gateway's own OAuth authorization server, and the per-IP limit its endpoints share. */
  readonly oauth?: {
    readonly server: AuthorizationServer;
    readonly limitIp: (clientIp: string) => Promise<void>;
  };
  /** The approval pages (policy.approval), under the same per-IP limit. */
  readonly approvals?: {
    readonly pages: ApprovalPages;
    readonly limitIp: (clientIp: string) => Promise<void>;
  };
}

export interface ServerOptions {
  /** The whole request (headers and body) must arrive within this time (slowloris guard). */
  readonly bodyTimeout: number;
  /** PEM certificate and key for native HTTPS. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

/** Status lines for the client errors Node reports before (or instead of) a request handler. */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  // limits.bodyTimeout: the headers or the body did not arrive in time (slowloris).
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  ERR_HTTP_HEADERS_TIMEOUT: '408 Request Timeout',
};

export function createHttpServer(options: ServerOptions): Server {
  const timeouts = {
    headersTimeout: Math.min(30_000, options.bodyTimeout),
    requestTimeout: options.bodyTimeout,
    // Node only enforces the two timeouts above when it sweeps its connections (every 30 s by
    // default), which would let a slow client hold a socket far past bodyTimeout.
    connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(options.bodyTimeout / 4))),
    keepAliveTimeout: 65_000,
  };
  if (!options.tls) return createServer(timeouts);
  return createHttpsServer({ ...timeouts, ...options.tls, minVersion: 'TLSv1.2' });
}

/** The front door: routes each request and renders every refusal with the one renderer. */
export function frontDoor(options: FrontDoorOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { upstreams, logger } = options;
  const clientAddress = clientAddressResolver(options.trustedProxies);
  const corsPolicy = cors(options.allowedOrigins);

  /** One log line per refused request: info for the client's mistakes, error for ours. */
  const logRefusal = (error: GatewayError, requestId: string, method: string | undefined, path: string) =>
    logger[error.status >= 500 ? 'error' : 'info'](
      { requestId, method, path, status: error.status, code: error.code, detail: error.detail },
      error.message,
    );

  return (req, res) => {
    const requestId = randomUUID();
    setSecurityHeaders(res);
    res.setHeader('x-request-id', requestId);
    const { ip, secure } = clientAddress(req);
    if (secure) res.setHeader('strict-transport-security', HSTS);
    if (req.method === 'OPTIONS') return corsPolicy.preflight(req, res);
    corsPolicy.apply(req, res);
    const pathname = (req.url ?? '/').split('?', 1)[0] as string;
    if (pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (pathname === '/readyz') {
      // 503 when not ready, so a load balancer takes the instance out of rotation.
      options.readiness().then(
        (report) => sendJson(res, report.ready ? 200 : 503, report.body),
        () => sendJson(res, 503, { status: 'not_ready' }),
      );
      return;
    }
    if (pathname === '/metrics' && options.metrics) return options.metrics(req, res);
    if (pathname === PRM_PREFIX || pathname.startsWith(`${PRM_PREFIX}/`)) {
      // The root document describes /mcp (RFC 9728 §3.1 lets clients fall back to it).
      const path = pathname === PRM_PREFIX ? '/mcp' : pathname.slice(PRM_PREFIX.length);
      const endpoint = resolveEndpoint(path, upstreams, options.aggregates);
      if (endpoint) return sendJson(res, 200, options.resourceMetadata(endpoint.path, endpoint.upstream));
    }
    const oauthRoute = options.oauth?.server.route(req.method, pathname);
    if (oauthRoute && options.oauth) {
      const { limitIp } = options.oauth;
      const handling = limitIp(ip)
        .then(() => oauthRoute({ req, res, clientIp: ip, secure, requestId }))
        .catch((err: unknown) => {
          const error = toGatewayError(err);
          logRefusal(error, requestId, req.method, pathname);
          sendGatewayErrorAsOAuth(res, error);
        });
      options.track(handling);
      return;
    }
    const pageRoute = options.approvals?.pages.route(req.method, pathname);
    if (pageRoute && options.approvals) {
      const handling = options.approvals
        .limitIp(ip)
        .then(() => pageRoute({ req, res, clientIp: ip, secure, requestId }))
        .catch((err: unknown) => {
          const error = toGatewayError(err);
          logRefusal(error, requestId, req.method, pathname);
          if (res.headersSent) res.destroy();
          else sendError(res, error, requestId);
        });
      options.track(handling);
      return;
    }
    const endpoint = pathname.startsWith(ADMIN_PREFIX)
      ? { upstream: ADMIN_ENDPOINT, path: ADMIN_PREFIX }
      : resolveEndpoint(pathname, upstreams, options.aggregates);
    if (!endpoint) {
      const hint = ['/mcp', ...options.aggregates.keys(), ...upstreams.map((u) => `/servers/${u}/mcp`)]
        .filter((p, i, all) => all.indexOf(p) === i)
        .join(', ');
      return sendError(
        res,
        new GatewayError('not_found', `no MCP endpoint at ${pathname} — try ${hint}`),
        requestId,
      );
    }
    const ctx: RequestContext = {
      req,
      res,
      requestId,
      endpoint,
      publicUrl: options.publicUrl,
      clientIp: ip,
      secure,
      startedAt: performance.now(),
    };
    const pipeline = endpoint.path === ADMIN_PREFIX ? options.admin : options.mcp;
    const handling = pipeline(ctx).catch((err: unknown) => {
      const error = toGatewayError(err);
      logRefusal(error, requestId, req.method, pathname);
      try {
        if (error.status === 413) res.setHeader('connection', 'close');
        const only = ctx.messages?.length === 1 ? ctx.messages[0] : undefined;
        sendError(res, error, requestId, only && 'id' in only && only.id !== null ? only.id : null);
      } catch (renderError) {
        // A failure to render the refusal must end this request, never the process.
        logger.error({ requestId, err: (renderError as Error).message }, 'could not send the error response');
        res.destroy();
      }
    });
    options.track(handling);
  };
}

/**
 * Answers malformed HTTP (which never reaches a handler) with the headers every response has.
 * Attached when the server is made, so it covers the whole life of the port.
 */
export function answerClientErrors(server: Server, logger: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request';
    const headers = [
      ...SECURITY_HEADERS,
      ['x-request-id', randomUUID()],
      ['connection', 'close'],
      ['content-length', '0'],
    ];
    if (socket.writable)
      socket.end(`HTTP/1.1 ${status}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
    logger.debug({ err: err.message }, 'malformed HTTP request');
  });
}
