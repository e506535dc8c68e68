/**
 * The port answers from the instant it opens: a health check or wait-for-port script that connects
 * while the gateway is still setting up (hashing the bootstrap admin's password, creating the first
 * key, building the OAuth server) gets its answer once the gateway is ready, never a hang.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI } from '../helpers/auth.js';
import { EVERYTHING } from '../helpers/gateway.js';
import { freePort, startNode } from '../helpers/processes.js';

/** Connects to `port` as soon as it accepts, trying every millisecond; resolves with the socket. */
async function firstConnection(port: number, deadline: number): Promise<{ socket: Socket; at: number }> {
  while (Date.now() < deadline) {
    const attempt = await new Promise<Socket | undefined>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(socket));
      socket.once('error', () => resolve(undefined));
    });
    if (attempt) return { socket: attempt, at: Date.now() };
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`port ${port} never opened`);
}

/** Sends a bare HTTP request on `socket` and resolves with the status line of the answer. */
function statusLine(socket: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const timer = setTimeout(() => reject(new Error(`no answer to ${path} within 20 s`)), 20_000);
    socket.on('data', (chunk) => {
      data += chunk.toString();
      const end = data.indexOf('\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(data.slice(0, end));
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

describe('start-up', () => {
  it('answers a request that connects at the instant the port opens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcl-startup-'));
    const port = await freePort();
    const config = join(dir, 'portcullis.yaml');
    writeFileSync(
      config,
      [
        `listen: { host: 127.0.0.1, port: ${port} }`,
        `store: { sqlite: ${JSON.stringify(join(dir, 'p.db'))} }`,
        'upstreams:',
        `  everything: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }`,
        // The slow parts of a first start: a password to hash, a key to create, an OAuth server.
        'auth: { apiKeys: { bootstrapAdmin: true }, basic: { bootstrapAdmin: true }, oauth: { registration: open } }',
      ].join('\n'),
    );
    // Connect and send the request the moment the port accepts, before the gateway says it is ready.
    const answered = firstConnection(port, Date.now() + 30_000).then(async ({ socket, at }) => ({
      status: await statusLine(socket, '/healthz'),
      at,
    }));
    const gateway = await startNode(
      [CLI, 'start', '--config', config],
      /listening on|portcullis started/,
      {},
      30_000,
    );
    try {
      const { status, at } = await answered;
      assert.equal(status, 'HTTP/1.1 200 OK');
      // The premise: the connection was made before the gateway had finished starting.
      const startedLine = gateway.output
        .join('')
        .split('\n')
        .find((l) => l.includes('"msg":"portcullis started"'));
      assert.ok(startedLine, gateway.output.join(''));
      const readyAt = Date.parse((JSON.parse(startedLine) as { time: string }).time);
      assert.ok(at < readyAt, `connected ${readyAt - at} ms before the gateway was ready`);
    } finally {
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
