/**
 * server-everything in its own Streamable HTTP mode, behind the gateway, with credentials the
 * gateway injects. A recording proxy in between shows what the upstream received.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, post } from '../helpers/client.js';
import { EVERYTHING, gatewayYaml, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openRawSession } from '../helpers/policy.js';
import { freePort, type RunningProcess, startNode } from '../helpers/processes.js';
import { recordingProxy } from '../helpers/recording-proxy.js';

const TOKEN = 'upstream-bearer-9c1d5e77aa';
const QUERY_KEY = 'query-key-51fe0b2c';

describe('server-everything over Streamable HTTP through the gateway', () => {
  let upstream: RunningProcess;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let gw: TestGateway;
  let url: string;

  before(async () => {
    const port = await freePort();
    upstream = await startNode([EVERYTHING, 'streamableHttp'], /listening on port/, { PORT: String(port) });
    proxy = await recordingProxy(port);
    const yaml = gatewayYaml(
      `  everything:\n    url: "http://127.0.0.1:${proxy.port}/mcp?api_key=\${env:QUERY_KEY}"\n    headers: { Authorization: "Bearer \${env:UPSTREAM_TOKEN}" }\n`,
    );
    gw = await startTestGateway(yaml, { UPSTREAM_TOKEN: TOKEN, QUERY_KEY });
    url = `${gw.url}/servers/everything/mcp`;
  });

  after(async () => {
    await gw?.close();
    proxy?.server.close();
    await upstream?.stop();
  });

  it('passes tools, resources and prompts through', async () => {
    const c = await connect(url);
    try {
      assert.equal(c.client.getServerVersion()?.name, 'mcp-servers/everything');
      assert.deepEqual(
        (await c.client.callTool({ name: 'echo', arguments: { message: 'over http' } })).content,
        [{ type: 'text', text: 'Echo: over http' }],
      );
      const { resources } = await c.client.listResources();
      const read = await c.client.readResource({ uri: resources[0]?.uri as string });
      assert.equal(read.contents[0]?.uri, resources[0]?.uri);
      const prompt = await c.client.getPrompt({ name: 'simple-prompt' });
      assert.ok(prompt.messages.length > 0);
    } finally {
      await c.close();
    }
  });

  it('relays sampling and elicitation over the upstream HTTP streams', async () => {
    const c = await connect(url);
    try {
      c.client.setRequestHandler('sampling/createMessage', async () => ({
        role: 'assistant',
        model: 'http-model',
        content: { type: 'text', text: 'sampled over http' },
      }));
      c.client.setRequestHandler('elicitation/create', async () => ({
        action: 'accept',
        content: { name: 'Grace' },
      }));
      const sampled = await c.client.callTool({
        name: 'trigger-sampling-request',
        arguments: { prompt: 'hi' },
      });
      assert.match(JSON.stringify(sampled.content), /sampled over http/);
      const elicited = await c.client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
      assert.match(JSON.stringify(elicited.content), /Grace/);
    } finally {
      await c.close();
    }
  });

  it('injects the configured credentials upstream, and never shows or logs them', async () => {
    const c = await connect(url);
    const listed = JSON.stringify(await c.client.listTools());
    await c.close();
    const posts = proxy.seen.filter((s) => s.method === 'POST');
    assert.ok(posts.length > 0);
    for (const s of posts) {
      assert.equal(s.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(new URL(s.url, 'http://x').searchParams.get('api_key'), QUERY_KEY);
    }
    assert.ok(!listed.includes(TOKEN));
    const log = gw.logs.join('');
    assert.ok(gw.logs.length > 0);
    assert.ok(!log.includes(TOKEN), 'the bearer token never appears in a log line');
    assert.ok(!log.includes(QUERY_KEY), 'the query-string key never appears in a log line');
  });

  it('sends each call upstream with the X-Request-Id its client saw and its audit event carries', async () => {
    const session = await openRawSession(url, {});
    const before = proxy.seen.length;
    const res = await post(
      url,
      { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } },
      { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
    );
    assert.equal(res.status, 200, res.text);
    const requestId = res.headers.get('x-request-id');
    assert.ok(requestId);
    // The gateway's own tools/list (to learn the tool's class) goes first, without a client's id.
    const ids = proxy.seen
      .slice(before)
      .filter((s) => s.method === 'POST')
      .map((s) => s.headers['x-request-id']);
    assert.deepEqual(ids.filter(Boolean), [requestId], 'the call carried the id, and only the call');
    const decision = gw.logs
      .map((l) => JSON.parse(l) as { audit?: { type: string; requestId?: string; upstreamStatus?: string } })
      .find((l) => l.audit?.type === 'policy.decision' && l.audit.requestId === requestId);
    assert.equal(decision?.audit?.upstreamStatus, 'ok');
  });

  it('answers with a clear error, and logs no credential, when the upstream is down', async () => {
    const c = await connect(url);
    try {
      proxy.server.closeAllConnections();
      proxy.server.close();
      await assert.rejects(
        c.client.callTool({ name: 'echo', arguments: { message: 'x' } }),
        /upstream 'everything'/,
      );
    } finally {
      await c.client.close();
    }
    const log = gw.logs.join('');
    assert.ok(!log.includes(TOKEN));
    assert.ok(!log.includes(QUERY_KEY));
  });
});
