/**
 * A small MCP server that speaks 2026-07-28 (stateless, SDK v2 createMcpHandler) on a loopback
 * port: the upstream for tests of the gateway in front of a 2026 server.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  acceptedContent,
  createMcpHandler,
  fromJsonSchema,
  inputRequired,
  McpServer,
} from '@modelcontextprotocol/server';
import { z } from 'zod';

export interface ModernUpstream {
  readonly url: string;
  /** Authorization headers the server received, in order. */
  readonly authorizations: (string | undefined)[];
  close(): Promise<void>;
}

const REGION_SCHEMA = {
  type: 'object',
  properties: { region: { type: 'string', 'x-mcp-header': 'Region' } },
  required: ['region'],
};

function build(): McpServer {
  const server = new McpServer(
    { name: 'modern-upstream', version: '1.0.0' },
    { capabilities: { tools: {} } },
  );
  server.registerTool(
    'echo',
    { description: 'Echoes a message', inputSchema: z.object({ message: z.string() }) },
    async ({ message }) => ({
      content: [{ type: 'text', text: `Echo: ${message}` }],
    }),
  );
  server.registerTool(
    'confirm',
    { description: 'Asks the user to confirm, then answers', inputSchema: z.object({ action: z.string() }) },
    async ({ action }, ctx) => {
      const schema = z.object({ ok: z.boolean() });
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', schema);
      if (answer === undefined) {
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({ message: `Really ${action}?`, requestedSchema: schema }),
          },
          requestState: `asked:${action}`,
        });
      }
      return { content: [{ type: 'text', text: `${action}: ${answer.ok ? 'confirmed' : 'declined'}` }] };
    },
  );
  server.registerTool(
    'in-region',
    {
      description: 'Runs in a region the client mirrors in the Mcp-Param-Region header',
      // x-mcp-header is a 2026-07-28 schema extension the JSON Schema type does not know.
      inputSchema: fromJsonSchema<{ region: string }>(REGION_SCHEMA as Parameters<typeof fromJsonSchema>[0]),
    },
    async ({ region }) => ({ content: [{ type: 'text', text: `ran in ${region}` }] }),
  );
  return server;
}

export async function startModernUpstream(): Promise<ModernUpstream> {
  const authorizations: (string | undefined)[] = [];
  const handler = toNodeHandler(createMcpHandler(() => build(), { legacy: 'reject' }));
  const server: Server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    void handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    authorizations,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
