// A stdio MCP server (2025-11-25) whose tools are read from a JSON file on every tools/list, and
// which sends notifications/tools/list_changed when the file changes: an upstream whose tool
// definitions drift while the gateway runs. tools/call answers "<tool> ran with <arguments>".
// Usage: node drifting-server.mjs <tools.json>
import { readFileSync, watchFile } from 'node:fs';
import { createInterface } from 'node:readline';

const file = process.argv[2];
const tools = () => JSON.parse(readFileSync(file, 'utf8'));
const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);

watchFile(file, { interval: 50 }, () => send({ method: 'notifications/tools/list_changed' }));

createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) return;
  switch (message.method) {
    case 'initialize':
      return send({
        id: message.id,
        result: {
          protocolVersion: message.params.protocolVersion,
          capabilities: { tools: { listChanged: true } },
          serverInfo: { name: 'drifting', version: '1.0.0' },
        },
      });
    case 'tools/list':
      return send({ id: message.id, result: { tools: tools() } });
    case 'tools/call':
      return send({
        id: message.id,
        result: {
          content: [
            {
              type: 'text',
              text: `${message.params.name} ran with ${JSON.stringify(message.params.arguments ?? {})}`,
            },
          ],
        },
      });
    case 'ping':
      return send({ id: message.id, result: {} });
    default:
      return send({ id: message.id, error: { code: -32601, message: `no method ${message.method}` } });
  }
});
