/** /readyz's probes: a TCP connect for HTTP upstreams, the command for stdio ones, cached; the store. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { UpstreamConfig } from '../../src/config/schema.js';
import { Readiness } from '../../src/observability/readiness.js';

const http = (url: string) =>
  ({ url, headers: {}, protocol: '2025-11-25', timeout: 60_000 }) as unknown as UpstreamConfig;
const stdio = (command: string) =>
  ({ command, args: [], env: {}, protocol: '2025-11-25', timeout: 60_000 }) as unknown as UpstreamConfig;

describe('Readiness', () => {
  let server: Server;
  let port: number;
  let connections = 0;

  before(async () => {
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
  });

  const readiness = (upstreams: Record<string, UpstreamConfig>, storeOk = () => true, ttlMs = 60_000) =>
    new Readiness({
      upstreams,
      baseDir: '/',
      storeOk,
      limits: () => 'memory',
      sessions: () => 3,
      readOnly: false,
      ttlMs,
      timeoutMs: 500,
    });

  it('is ready when every upstream answers and the store does', async () => {
    const r = await readiness({
      web: http(`http://127.0.0.1:${port}/mcp?key=secret`),
      node: stdio('node'),
    }).report();
    assert.equal(r.ready, true);
    assert.deepEqual(r.body, {
      status: 'ready',
      readOnly: false,
      store: 'ok',
      limits: 'memory',
      sessions: 3,
      upstreams: {
        web: { transport: 'http', state: 'reachable' },
        node: { transport: 'stdio', state: 'reachable' },
      },
    });
    assert.ok(!JSON.stringify(r.body).includes('secret'));
  });

  it('is not ready when an HTTP upstream refuses connections, a command is missing, or the store fails', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const down = await readiness({ web: http(`http://127.0.0.1:${closedPort}/mcp`) }).report();
    assert.equal(down.ready, false);
    assert.equal((down.body as { status: string }).status, 'not_ready');
    const missing = await readiness({ tool: stdio('/nonexistent/portcullis-probe') }).report();
    assert.equal(missing.ready, false);
    const store = await readiness({}, () => false).report();
    assert.equal(store.ready, false);
    assert.equal((store.body as { store: string }).store, 'failing');
  });

  it('probes each upstream at most once per ttl, however often it is asked', async () => {
    const r = readiness({ web: http(`http://127.0.0.1:${port}/mcp`) });
    const before = connections;
    await Promise.all(Array.from({ length: 20 }, () => r.report()));
    await r.report();
    await new Promise((ok) => setTimeout(ok, 50));
    assert.equal(connections - before, 1);
  });
});
