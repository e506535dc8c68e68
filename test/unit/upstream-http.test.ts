/**
 * The HTTP upstream connections of one upstream share their keep-alive sockets: a socket one
 * session's POST left free carries the next session's, ending one session aborts its own requests
 * and no other session's, and no socket outlives the last session. Against a real loopback server
 * speaking the Streamable HTTP session protocol (initialize, initialized, GET stream, DELETE).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import type { UpstreamConfig } from '../../src/config/schema.js';
import type { JsonRpcMessage } from '../../src/core/jsonrpc.js';
import { createLogger } from '../../src/log/logger.js';
import type { UpstreamConnection } from '../../src/upstream/connection.js';
import { startHttp } from '../../src/upstream/http.js';
import { eventually } from '../helpers/gateway.js';

const logger = createLogger({ level: 'silent', secrets: [], destination: { write: () => {} } });

interface Upstream {
  readonly server: Server;
  readonly config: UpstreamConfig & { url: string };
  /** Every TCP connection the server accepted, and those still open. */
  readonly accepted: Socket[];
  readonly open: Set<Socket>;
  /** Requests (`tools/call` with `{ hold: true }`) the server has not answered, by session. */
  readonly held: Map<string, IncomingMessage>;
  readonly deleted: string[];
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  }
});

async function upstream(): Promise<Upstream> {
  const accepted: Socket[] = [];
  const open = new Set<Socket>();
  const held = new Map<string, IncomingMessage>();
  const deleted: string[] = [];
  let sessions = 0;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const session = req.headers['mcp-session-id'] as string | undefined;
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
      return;
    }
    if (req.method === 'DELETE') {
      deleted.push(String(session));
      res.writeHead(200).end();
      return;
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    const message = JSON.parse(body) as { id?: number; method: string; params?: { hold?: boolean } };
    if (message.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    if (message.params?.hold) {
      held.set(String(session), req);
      res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
      return;
    }
    const id = message.method === 'initialize' ? `s${++sessions}` : session;
    res.writeHead(200, { 'content-type': 'application/json', ...(id ? { 'mcp-session-id': id } : {}) });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: '2025-11-25' } }));
  });
  server.on('connection', (socket: Socket) => {
    accepted.push(socket);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  const { port } = server.address() as { port: number };
  const config = {
    url: `http://127.0.0.1:${port}/mcp`,
    timeout: 10_000,
    headers: {},
  } as unknown as Upstream['config'];
  return { server, config, accepted, open, held, deleted };
}

interface Opened {
  readonly connection: UpstreamConnection;
  readonly messages: JsonRpcMessage[];
}

/** initialize and notifications/initialized, as a session does; the connection then holds a GET stream. */
async function session(up: Upstream): Promise<Opened> {
  const connection = await startHttp({ name: 'fixture', config: up.config, logger });
  const messages: JsonRpcMessage[] = [];
  connection.onmessage = (m) => messages.push(m);
  await call({ connection, messages }, 'initialize', 1);
  await connection.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  // The 202's socket is free once its (empty) body is read, a moment after send() resolved.
  await new Promise((r) => setTimeout(r, 20));
  return { connection, messages };
}

/** One request answered; resolves once its answer arrived and its socket is free again. */
async function call(s: Opened, method: string, id: number): Promise<void> {
  await s.connection.send({ jsonrpc: '2.0', id, method });
  assert.ok(await eventually(() => s.messages.some((m) => 'id' in m && m.id === id)));
  await new Promise((r) => setImmediate(r));
}

describe('HTTP upstream connections', () => {
  it('share their keep-alive sockets: two sessions take one socket for their POSTs beside their GET streams', async () => {
    const up = await upstream();
    const a = await session(up);
    await call(a, 'ping', 2);
    const b = await session(up);
    await call(b, 'ping', 2);
    await call(a, 'ping', 3);
    // Two GET streams and the POST socket they took turns on; an agent per session needs a fourth.
    assert.ok(await eventually(() => up.open.size === 3), `${up.open.size} sockets open`);
    assert.equal(up.open.size, 3);
    assert.equal(up.accepted.length, 3);
    await a.connection.close();
    await b.connection.close();
  });

  it('ending one session aborts its own request in flight and no other session’s, and the last leaves no socket', async () => {
    const up = await upstream();
    const a = await session(up);
    const b = await session(up);
    await a.connection.send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { hold: true } });
    await b.connection.send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { hold: true } });
    assert.ok(await eventually(() => up.held.size === 2));
    const heldA = up.held.get('s1') as IncomingMessage;
    const heldB = up.held.get('s2') as IncomingMessage;
    await a.connection.close();
    assert.ok(await eventually(() => heldA.socket.destroyed));
    assert.equal(heldB.socket.destroyed, false);
    assert.deepEqual(up.deleted, ['s1']);
    // b carries on over the shared pool.
    await call(b, 'ping', 6);
    await b.connection.close();
    assert.deepEqual(up.deleted, ['s1', 's2']);
    assert.ok(await eventually(() => up.open.size === 0));
  });
});
