/**
 * A stdio upstream's framing, with real children (tiny Node scripts writing chosen bytes): one
 * message per line whatever the chunks, CRLF line ends, blank and non-JSON lines skipped, a large
 * message across many chunks, and a child that writes a line over 16 MiB ended.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { UpstreamConfig } from '../../src/config/schema.js';
import type { JsonRpcMessage } from '../../src/core/jsonrpc.js';
import { createLogger } from '../../src/log/logger.js';
import type { UpstreamConnection } from '../../src/upstream/connection.js';
import { startStdio } from '../../src/upstream/stdio.js';
import { eventually } from '../helpers/gateway.js';

const logger = createLogger({ level: 'silent', secrets: [], destination: { write: () => {} } });

const opened: UpstreamConnection[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

/**
 * A child that writes the chunks `makeChunks` (JavaScript, run in the child: large chunks would not
 * fit in its command line) evaluates to, one by one and 20 ms apart, then waits.
 */
async function child(makeChunks: string): Promise<{
  connection: UpstreamConnection;
  messages: JsonRpcMessage[];
  closed: Error[];
}> {
  const script = `const answer = ${answerSource};
const chunks = ${makeChunks};
let i = 0;
const next = () => { if (i < chunks.length) process.stdout.write(chunks[i++], () => setTimeout(next, 20)); };
next();
process.stdin.resume();`;
  const config = { command: process.execPath, args: ['-e', script], env: {} } as unknown as UpstreamConfig & {
    command: string;
  };
  const connection = await startStdio({ name: 'fixture', config, baseDir: process.cwd(), logger });
  opened.push(connection);
  const messages: JsonRpcMessage[] = [];
  const closed: Error[] = [];
  connection.onmessage = (m) => messages.push(m);
  connection.onclose = (reason) => closed.push(reason);
  return { connection, messages, closed };
}

const answerSource = "(id, text = 'ok') => JSON.stringify({ jsonrpc: '2.0', id, result: { text } })";

describe('stdio upstream framing', () => {
  it('reads one message per line however the chunks fall, with LF or CRLF, skipping blank and non-JSON lines', async () => {
    const { messages } = await child(`(() => {
      const stream = answer(1) + '\\n\\r\\n' + answer(2) + '\\r\\n   \\nnot json\\n' + answer(3) + '\\n';
      return [stream.slice(0, 5), stream.slice(5, 40), stream.slice(40, 41), stream.slice(41)];
    })()`);
    assert.ok(await eventually(() => messages.length === 3));
    assert.deepEqual(
      messages.map((m) => ('id' in m ? m.id : undefined)),
      [1, 2, 3],
    );
  });

  it('reads a message of a few MiB written in many chunks', async () => {
    const { messages } = await child(`(() => {
      const big = answer(7, 'x'.repeat(3 * 1024 * 1024));
      const size = Math.ceil(big.length / 48);
      return [...Array.from({ length: 48 }, (_, i) => big.slice(i * size, (i + 1) * size)), '\\n'];
    })()`);
    assert.ok(await eventually(() => messages.length === 1, 15_000));
    const result = (messages[0] as unknown as { result: { text: string } }).result;
    assert.equal(result.text.length, 3 * 1024 * 1024);
  });

  it('ends a child that writes a line longer than 16 MiB', async () => {
    const { closed, messages } = await child(
      "[...Array.from({ length: 17 }, () => 'x'.repeat(1024 * 1024)), '\\n']",
    );
    assert.ok(await eventually(() => closed.length === 1, 15_000));
    assert.match((closed[0] as Error).message, /SIGKILL/);
    assert.equal(messages.length, 0);
  });
});
