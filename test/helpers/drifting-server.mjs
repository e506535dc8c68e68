// A stdio MCP server (2025-11-25) whose tools and prompts are read from a JSON file
// ({ "tools": [...], "prompts": [...] }) on every list, and which sends list_changed when the file
// changes: an upstream whose definitions drift while the gateway runs. tools/call answers
// "<tool> ran with <arguments>", prompts/get one user message naming the prompt.
// Usage: node drifting-server.mjs <definitions.json>
import { readFileSync, watchFile } from 'node:fs';
import { createInterface } from 'node:readline';

const file = process.argv[2];
const definitions = () => JSON.parse(readFileSync(file, 'utf8'));
const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);

watchFile(file, { interval: 50 }, () => {
  send({ method: 'notifications/tools/list_changed' });
  send({ method: 'notifications/prompts/list_changed' });
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) return;
  switch (message.method) {
    case 'initialize':
      return send({
        id: message.id,
        result: {
          protocolVersion: message.params.protocolVersion,
          capabilities: { tools: { listChanged: true }, prompts: { listChanged: true } },
          serverInfo: { name: 'drifting', version: '1.0.0' },
        },
      });
    case 'tools/list':
      return send({ id: message.id, result: { tools: definitions().tools } });
    case 'prompts/list':
      return send({ id: message.id, result: { prompts: definitions().prompts ?? [] } });
    case 'prompts/get':
      return send({
        id: message.id,
        result: {
          messages: [{ role: 'user', content: { type: 'text', text: `prompt ${message.params.name}` } }],
        },
      });
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
