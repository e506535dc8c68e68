/**
 * The MCP server the conformance suite is run against, directly or behind the gateway.
 *
 *   node --import tsx test/conformance/server.ts stdio
 *   node --import tsx test/conformance/server.ts http --port N          (N = 0 picks a free port)
 *   node --import tsx test/conformance/server.ts http-modern --port N
 *
 * http serves Streamable HTTP at http://127.0.0.1:N/mcp with stateful sessions, SSE resumability
 * (SEP-1699) and Host/Origin checks against DNS rebinding: protocol 2025-11-25 and earlier.
 *
 * http-modern serves both eras on the same endpoint (a dual-era server): a request that carries the
 * 2026-07-28 per-request `_meta` envelope (or names 2026-07-28 in MCP-Protocol-Version) is served
 * statelessly by the SDK's createMcpHandler, with a fresh McpServer per request built from the 2026
 * fixtures (fixtures-2026.ts); everything else (initialize, session requests, GET/DELETE) goes to
 * the same sessionful 2025 serving as `http`. The routing predicate is the SDK's own
 * isLegacyRequest, so both legs agree on which era a request belongs to. The Host/Origin checks
 * run in front of both legs.
 *
 * Both HTTP modes print one line `listening on http://127.0.0.1:PORT/mcp` to stdout once ready; all
 * other output goes to stderr (stdout is the protocol channel in stdio mode).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  localhostHostValidation,
  localhostOriginValidation,
  NodeStreamableHTTPServerTransport,
  toNodeHandler,
  toWebRequest,
} from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  type EventId,
  type EventStore,
  isInitializeRequest,
  isLegacyRequest,
  type JSONRPCMessage,
  type McpServer,
  type StreamId,
} from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { createConformanceServer } from './fixtures.js';
import { createModernConformanceServer, createModernFixtureState } from './fixtures-2026.js';

const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** SSE `retry` hint (ms) sent in priming events; the suite only checks that one is sent. */
const SSE_RETRY_MS = 1000;
/** Events kept per session for replay; the suite's streams are short, this only bounds memory. */
const MAX_STORED_EVENTS = 1000;

const log = (message: string) => process.stderr.write(`[conformance-server] ${message}\n`);

/**
 * In-memory event store of one session, so a client that lost an SSE stream can resume it with
 * Last-Event-ID. Event ids are `<streamId>::<sequence>`, so the stream is recoverable from an id.
 */
class MemoryEventStore implements EventStore {
  private seq = 0;
  private readonly events = new Map<EventId, { streamId: StreamId; seq: number; message: JSONRPCMessage }>();

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const seq = ++this.seq;
    const eventId = `${streamId}::${seq}`;
    this.events.set(eventId, { streamId, seq, message });
    if (this.events.size > MAX_STORED_EVENTS) {
      const oldest = this.events.keys().next().value;
      if (oldest !== undefined) this.events.delete(oldest);
    }
    return eventId;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.get(eventId)?.streamId ?? streamOf(eventId);
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const streamId = this.events.get(lastEventId)?.streamId ?? streamOf(lastEventId);
    const after = this.events.get(lastEventId)?.seq ?? Number(lastEventId.split('::').pop());
    // Map iteration follows insertion order, which is sequence order.
    for (const [eventId, event] of this.events) {
      if (event.streamId === streamId && event.seq > after) await send(eventId, event.message);
    }
    return streamId;
  }
}

function streamOf(eventId: EventId): StreamId {
  const cut = eventId.lastIndexOf('::');
  return cut < 0 ? eventId : eventId.slice(0, cut);
}

// ---------------------------------------------------------------------------------------------
// stdio

async function serveStdio(): Promise<void> {
  // No SSE stream to close on stdio, so test_reconnection simply answers.
  const server = createConformanceServer({ closeRequestStream: () => {} });
  const transport = new StdioServerTransport();
  transport.onclose = () => process.exit(0);
  await server.connect(transport);
  log('serving on stdio');
}

// ---------------------------------------------------------------------------------------------
// Streamable HTTP

interface Session {
  readonly server: McpServer;
  readonly transport: NodeStreamableHTTPServerTransport;
}

function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return void res.end();
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
}

/** Reads a request body up to MAX_BODY_BYTES; undefined when it is larger. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One era's HTTP serving: answers a request whose body (POST) is already read and parsed. */
interface EraHandler {
  handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>;
  close(): Promise<void>;
}

/** 2025-11-25 serving: one McpServer and transport per session, opened by initialize. */
function sessionfulHandler(): EraHandler {
  const sessions = new Map<string, Session>();

  async function openSession(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new MemoryEventStore(),
      retryInterval: SSE_RETRY_MS,
      onsessioninitialized: (sessionId) => {
        sessions.set(sessionId, { server, transport });
      },
    });
    const server = createConformanceServer({ closeRequestStream: (ctx) => ctx.http?.closeSSE?.() });
    // Fires on DELETE and on shutdown: forget the session so its id answers 404 from then on.
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  return {
    async handle(req, res, body) {
      const sessionId = req.headers['mcp-session-id'];
      if (typeof sessionId === 'string') {
        const session = sessions.get(sessionId);
        // Unknown or terminated sessions answer 404, which tells a client to initialize anew.
        if (!session) return sendJsonRpcError(res, 404, -32001, 'Session not found');
        return session.transport.handleRequest(req, res, body);
      }
      if (req.method === 'POST' && isInitializeRequest(body)) return openSession(req, res, body);
      return sendJsonRpcError(res, 400, -32000, 'Bad Request: no valid Mcp-Session-Id header');
    },
    async close() {
      for (const { transport, server } of [...sessions.values()]) {
        await transport.close().catch(() => {});
        await server.close().catch(() => {});
      }
    },
  };
}

/**
 * 2026-07-28 serving (stateless): createMcpHandler with a per-request McpServer factory. It does the
 * envelope and header validation (-32602, -32020, -32022), server/discover, the input_required
 * encoding, removed methods (404 -32601) and subscriptions/listen; `legacy: 'reject'` because the
 * 2025 leg is the sessionful one above.
 */
function modernHandler(): EraHandler {
  const state = createModernFixtureState();
  const onerror = (err: Error) => log(`2026-07-28 leg: ${err.message}`);
  const handler = createMcpHandler(() => createModernConformanceServer(state), { legacy: 'reject', onerror });
  // Fixtures publish list changes and resource updates to the open listen streams through this.
  state.notify = handler.notify;
  const node = toNodeHandler(handler, { onerror, maxRequestBodySize: MAX_BODY_BYTES });
  return {
    handle: (req, res, body) => node(req, res, body),
    close: () => handler.close(),
  };
}

/** Serves /mcp on 127.0.0.1 with `route` choosing the era handler of each request. */
async function serveHttp(
  port: number,
  handlers: readonly EraHandler[],
  route: (req: IncomingMessage, body: unknown) => Promise<EraHandler>,
): Promise<void> {
  // DNS-rebinding protection (dns-rebinding-protection scenario): only loopback names in Host and,
  // when a browser sends one, in Origin. Both guards answer 403 themselves when they refuse.
  const hostAllowed = localhostHostValidation();
  const originAllowed = localhostOriginValidation();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (pathname !== '/mcp') return sendJsonRpcError(res, 404, -32600, `Not found: ${pathname}`);
    if (!hostAllowed(req, res) || !originAllowed(req, res)) return;

    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req);
      if (raw === undefined) return sendJsonRpcError(res, 413, -32600, 'Request body too large');
      try {
        body = JSON.parse(raw);
      } catch {
        return sendJsonRpcError(res, 400, -32700, 'Parse error: body is not JSON');
      }
    }
    const handler = await route(req, body);
    return handler.handle(req, res, body);
  }

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`error handling ${req.method} ${req.url}: ${err instanceof Error ? err.stack : String(err)}`);
      sendJsonRpcError(res, 500, -32603, 'Internal server error');
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    // Loopback only: this server has no authentication.
    httpServer.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: actualPort } = httpServer.address() as AddressInfo;
  process.stdout.write(`listening on http://127.0.0.1:${actualPort}/mcp\n`);

  const shutdown = async () => {
    for (const handler of handlers) await handler.close().catch(() => {});
    httpServer.closeAllConnections();
    httpServer.close(() => process.exit(0));
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

/** `http`: 2025-11-25 and earlier only. */
async function serveLegacyHttp(port: number): Promise<void> {
  const legacy = sessionfulHandler();
  await serveHttp(port, [legacy], async () => legacy);
}

/** `http-modern`: 2026-07-28 per request and 2025-11-25 sessions on the same endpoint. */
async function serveDualEraHttp(port: number): Promise<void> {
  const legacy = sessionfulHandler();
  const modern = modernHandler();
  await serveHttp(port, [legacy, modern], async (req, body) => {
    // GET and DELETE are 2025 session operations (2026-07-28 has neither).
    if (req.method !== 'POST') return legacy;
    // The SDK's own routing decision, classified from the parsed body (nothing more is read from
    // req). Everything that claims 2026-07-28 or names it in MCP-Protocol-Version goes to the
    // modern leg, including its malformed requests, which that leg answers with the spec's errors.
    const probe = await toWebRequest(req, body);
    return (await isLegacyRequest(probe, body)) ? legacy : modern;
  });
}

// ---------------------------------------------------------------------------------------------

function usage(): never {
  process.stderr.write('usage: server.ts stdio | server.ts http --port N | server.ts http-modern --port N\n');
  process.exit(2);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'stdio') {
  await serveStdio();
} else if (mode === 'http' || mode === 'http-modern') {
  const portAt = rest.indexOf('--port');
  const port = Number(portAt >= 0 ? rest[portAt + 1] : Number.NaN);
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage();
  await (mode === 'http' ? serveLegacyHttp(port) : serveDualEraHttp(port));
} else {
  usage();
}
