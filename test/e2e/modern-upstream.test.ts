/**
 * An upstream that speaks 2026-07-28 behind the gateway: 2026 clients pass through (envelope,
 * inputResponses and the upstream's requestState intact), and 2025 clients — the v1 SDK client —
 * are bridged: initialize from server/discover, input_required as real elicitation requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { post } from '../helpers/client.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type ModernUpstream, startModernUpstream } from '../helpers/modern-upstream.js';

const V = '2026-07-28';
const meta = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
};
const headers = (method: string, name?: string) => ({
  'mcp-protocol-version': V,
  'mcp-method': method,
  ...(name ? { 'mcp-name': name } : {}),
});

describe('a 2026-07-28 upstream behind the gateway', () => {
  let upstream: ModernUpstream;
  let gw: TestGateway;
  let url: string;

  before(async () => {
    upstream = await startModernUpstream();
    gw = await startTestGateway(
      gatewayYaml(`  modern:\n    url: ${upstream.url}\n    protocol: 2026-07-28\n`),
    );
    url = `${gw.url}/mcp`;
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('passes a 2026 client through, including a multi-round-trip call', async () => {
    const client = new Client(
      { name: 'modern', version: '1' },
      { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: V } } },
    );
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { ok: true } }));
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    try {
      assert.equal(client.getServerVersion()?.name, 'modern-upstream');
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), [
        'confirm',
        'echo',
        'in-region',
      ]);
      assert.deepEqual(
        (await client.callTool({ name: 'in-region', arguments: { region: 'eu-west-1' } })).content,
        [{ type: 'text', text: 'ran in eu-west-1' }],
      );
      assert.deepEqual((await client.callTool({ name: 'echo', arguments: { message: 'pass' } })).content, [
        { type: 'text', text: 'Echo: pass' },
      ]);
      assert.deepEqual((await client.callTool({ name: 'confirm', arguments: { action: 'ship' } })).content, [
        { type: 'text', text: 'ship: confirmed' },
      ]);
    } finally {
      await client.close();
    }
  });

  it("leaves the upstream's requestState and inputRequests untouched, and makes lists private", async () => {
    const first = await post(
      url,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'confirm', arguments: { action: 'x' }, _meta: meta },
      },
      headers('tools/call', 'confirm'),
    );
    const result = (
      first.json() as {
        result: {
          resultType: string;
          requestState: string;
          inputRequests: Record<string, { method: string }>;
        };
      }
    ).result;
    assert.equal(result.resultType, 'input_required');
    assert.equal(result.requestState, 'asked:x');
    assert.equal(result.inputRequests.confirm?.method, 'elicitation/create');
    const retry = await post(
      url,
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: {
          name: 'confirm',
          arguments: { action: 'x' },
          requestState: result.requestState,
          inputResponses: { confirm: { action: 'accept', content: { ok: false } } },
          _meta: meta,
        },
      },
      headers('tools/call', 'confirm'),
    );
    assert.match(retry.text, /x: declined/);
    const list = await post(
      url,
      { jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: meta } },
      headers('tools/list'),
    );
    const body = list.json() as { result: { cacheScope: string; ttlMs: number } };
    assert.equal(body.result.cacheScope, 'private');
    assert.ok(body.result.ttlMs <= 60_000);
  });

  it('forwards Mcp-Param headers only as the tool schema declares them, and refuses a mirrored value that disagrees', async () => {
    const call = (region: string) => ({
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: { name: 'in-region', arguments: { region }, _meta: meta },
    });
    const ok = await post(url, call('ap-south-1'), {
      ...headers('tools/call', 'in-region'),
      'mcp-param-region': 'ap-south-1',
      'mcp-param-extra': 'ignored',
    });
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /ran in ap-south-1/);
    const lying = await post(url, call('ap-south-1'), {
      ...headers('tools/call', 'in-region'),
      'mcp-param-region': 'us-east-1',
    });
    assert.equal(lying.status, 400);
    const body = lying.json() as { error: { code: number; message: string } };
    assert.equal(body.error.code, -32020);
    assert.match(body.error.message, /mcp-param-region is us-east-1 but the argument region is "ap-south-1"/);
    const missing = await post(url, call('ap-south-1'), headers('tools/call', 'in-region'));
    assert.equal(missing.status, 400, 'a declared parameter present in the body must be mirrored');
  });

  it('answers an unknown method with 404 -32601, as the upstream does', async () => {
    const res = await post(
      url,
      { jsonrpc: '2.0', id: 4, method: 'nonexistent/method', params: { _meta: meta } },
      headers('nonexistent/method'),
    );
    assert.equal(res.status, 404);
    assert.equal((res.json() as { error: { code: number } }).error.code, -32601);
  });

  it('bridges a 2025 client (v1 SDK): initialize, tools, and input_required as a real elicitation request', async () => {
    const client = new V1Client({ name: 'legacy', version: '1' }, { capabilities: { elicitation: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params.message);
      return { action: 'accept', content: { ok: true } };
    });
    const transport = new V1Transport(new URL(url));
    await client.connect(transport);
    try {
      assert.equal(client.getServerVersion()?.name, 'modern-upstream');
      assert.match(
        transport.sessionId ?? '',
        /^[A-Za-z0-9_-]{43}$/,
        'the 2025 client gets a gateway session',
      );
      await client.ping();
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'legacy' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: legacy' }]);
      assert.equal(
        (echo as Record<string, unknown>).resultType,
        undefined,
        '2026-only fields are removed for a 2025 client',
      );
      const confirmed = await client.callTool({ name: 'confirm', arguments: { action: 'merge' } });
      assert.deepEqual(confirmed.content, [{ type: 'text', text: 'merge: confirmed' }]);
      assert.deepEqual(asked, ['Really merge?']);
      const region = await client.callTool({ name: 'in-region', arguments: { region: 'eu-north-1' } });
      assert.deepEqual(
        region.content,
        [{ type: 'text', text: 'ran in eu-north-1' }],
        'the gateway derives the Mcp-Param header a 2025 client cannot send',
      );
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });
});
