/**
 * The MCP "everything" server over stdio, behind the gateway, driven by the real SDK client:
 * every kind of message must pass through as if the client were connected directly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from '../helpers/client.js';
import {
  childPids,
  EVERYTHING,
  eventually,
  gatewayYaml,
  isAlive,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';

const GATEWAY_SECRET = 'gateway-only-secret-value-7f3a';

describe('server-everything over stdio through the gateway', () => {
  let gw: TestGateway;
  let url: string;

  before(async () => {
    process.env.PORTCULLIS_TEST_GATEWAY_SECRET = GATEWAY_SECRET;
    gw = await startTestGateway(
      gatewayYaml(
        stdioUpstream(
          'everything',
          EVERYTHING,
          ['stdio'],
          '    env: { LOG_LEVEL: info }\n    restart: { initialDelay: 50ms }\n',
        ),
      ),
    );
    url = `${gw.url}/mcp`;
  });
  after(async () => {
    delete process.env.PORTCULLIS_TEST_GATEWAY_SECRET;
    await gw.close();
  });

  it('initializes with the upstream identity and a 2025-11-25 session', async () => {
    const c = await connect(url);
    try {
      assert.equal(c.client.getServerVersion()?.name, 'mcp-servers/everything');
      assert.match(c.transport.sessionId ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.ok(c.client.getServerCapabilities()?.tools, 'tools capability passes through');
      assert.ok(
        c.client.getServerCapabilities()?.resources?.subscribe,
        'resource subscription capability passes through',
      );
    } finally {
      await c.close();
    }
  });

  it('lists and calls tools', async () => {
    const c = await connect(url);
    try {
      const { tools } = await c.client.listTools();
      const names = tools.map((t) => t.name);
      for (const expected of ['echo', 'get-sum', 'get-structured-content', 'trigger-sampling-request']) {
        assert.ok(names.includes(expected), `${expected} is listed`);
      }
      assert.deepEqual(
        await c.client.callTool({ name: 'echo', arguments: { message: 'through the gate' } }),
        {
          content: [{ type: 'text', text: 'Echo: through the gate' }],
        },
      );
      const sum = await c.client.callTool({ name: 'get-sum', arguments: { a: 19, b: 23 } });
      assert.match(JSON.stringify(sum.content), /42/);
      const structured = await c.client.callTool({
        name: 'get-structured-content',
        arguments: { location: 'New York' },
      });
      assert.ok(structured.structuredContent, 'structured content passes through');
      // Arguments that break the tool's inputSchema are refused by the gateway, before the upstream.
      await assert.rejects(
        c.client.callTool({ name: 'get-sum', arguments: { a: 'x' } }),
        (err: Error & { code?: number }) => {
          assert.equal(err.code, -32602);
          assert.match(err.message, /tool 'get-sum': arguments do not match its input schema/);
          return true;
        },
      );
    } finally {
      await c.close();
    }
  });

  it('pages through resources, reads them, and lists and reads templates', async () => {
    const c = await connect(url);
    try {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await c.client.listResources(cursor ? { cursor } : {});
        seen.push(...page.resources.map((r) => r.uri));
        cursor = page.nextCursor;
      } while (cursor);
      assert.ok(seen.length > 0);
      assert.equal(new Set(seen).size, seen.length, 'no resource appears twice');
      const read = await c.client.readResource({ uri: seen[0] as string });
      assert.equal(read.contents[0]?.uri, seen[0]);
      const { resourceTemplates } = await c.client.listResourceTemplates();
      const text = resourceTemplates.find((t) => t.uriTemplate.includes('/text/'));
      assert.ok(text, 'the dynamic text template is listed');
      const dynamic = await c.client.readResource({ uri: 'demo://resource/dynamic/text/7' });
      assert.match(JSON.stringify(dynamic.contents), /7/);
    } finally {
      await c.close();
    }
  });

  it('lists and gets prompts, and completes prompt arguments', async () => {
    const c = await connect(url);
    try {
      const { prompts } = await c.client.listPrompts();
      assert.ok(prompts.some((p) => p.name === 'args-prompt'));
      const got = await c.client.getPrompt({
        name: 'args-prompt',
        arguments: { city: 'Lisbon', state: 'PT' },
      });
      assert.match(JSON.stringify(got.messages), /Lisbon/);
      const completion = await c.client.complete({
        ref: { type: 'ref/prompt', name: 'completable-prompt' },
        argument: { name: 'department', value: 'Eng' },
      });
      assert.ok(completion.completion.values.includes('Engineering'), JSON.stringify(completion));
    } finally {
      await c.close();
    }
  });

  it('relays sampling and elicitation requests from the upstream to the client and back', async () => {
    const c = await connect(url);
    try {
      c.client.setRequestHandler('sampling/createMessage', async (request) => ({
        role: 'assistant',
        model: 'test-model',
        content: { type: 'text', text: `sampled: ${JSON.stringify(request.params.messages[0]?.content)}` },
      }));
      c.client.setRequestHandler('elicitation/create', async () => ({
        action: 'accept',
        content: { name: 'Ada Lovelace', check: true },
      }));
      const sampled = await c.client.callTool({
        name: 'trigger-sampling-request',
        arguments: { prompt: 'ping-42' },
      });
      assert.match(JSON.stringify(sampled.content), /sampled: .*ping-42/);
      assert.match(JSON.stringify(sampled.content), /test-model/);
      const elicited = await c.client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
      assert.match(JSON.stringify(elicited.content), /Ada Lovelace/);
    } finally {
      await c.close();
    }
  });

  it('delivers progress notifications to the caller', async () => {
    const c = await connect(url);
    try {
      const progress: number[] = [];
      const result = await c.client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 0.6, steps: 3 } },
        { onprogress: (p) => progress.push(p.progress) },
      );
      assert.deepEqual(progress, [1, 2, 3]);
      assert.match(JSON.stringify(result.content), /completed/i);
    } finally {
      await c.close();
    }
  });

  it('relays a client cancellation and keeps the session usable', async () => {
    const c = await connect(url);
    try {
      const abort = new AbortController();
      const call = c.client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 10, steps: 10 } },
        { signal: abort.signal, onprogress: () => abort.abort('user gave up') },
      );
      await assert.rejects(call, /user gave up|abort/i);
      const started = Date.now();
      const echo = await c.client.callTool({ name: 'echo', arguments: { message: 'still here' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: still here' }]);
      assert.ok(Date.now() - started < 5000, 'the next call is not stuck behind the cancelled one');
    } finally {
      await c.close();
    }
  });

  it('relays log messages after logging/setLevel, and resource update notifications after subscribe', async () => {
    const c = await connect(url);
    try {
      const logs: unknown[] = [];
      const updates: string[] = [];
      c.client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params));
      c.client.setNotificationHandler(
        'notifications/resources/updated',
        (n) => void updates.push(n.params.uri),
      );
      await c.client.setLoggingLevel('debug');
      const uri = 'demo://resource/dynamic/text/1';
      await c.client.subscribeResource({ uri });
      await c.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      assert.ok(await eventually(() => updates.includes(uri)), 'resource update notification arrived');
      assert.ok(await eventually(() => logs.length > 0), 'a log message arrived');
      await c.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      await c.client.unsubscribeResource({ uri });
    } finally {
      await c.close();
    }
  });

  it('gives each session its own child process with only the configured environment', async () => {
    const a = await connect(url);
    const b = await connect(url);
    try {
      const envOf = async (c: typeof a) => {
        const result = await c.client.callTool({ name: 'get-env', arguments: {} });
        const text = (result.content as { text: string }[])[0]?.text ?? '{}';
        return JSON.parse(text) as Record<string, string>;
      };
      const env = await envOf(a);
      assert.deepEqual(Object.keys(env).sort(), ['LOG_LEVEL', 'PATH']);
      assert.equal(env.LOG_LEVEL, 'info');
      assert.ok(!JSON.stringify(env).includes(GATEWAY_SECRET), "the gateway's own environment does not leak");
      await envOf(b);
      const pids = childPids(gw.logs);
      assert.equal(new Set(pids).size, pids.length, 'every session spawned its own process');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('ends the child process when the client ends the session, and forgets the session id', async () => {
    const before = childPids(gw.logs).length;
    const c = await connect(url);
    const pid = childPids(gw.logs)[before];
    assert.ok(pid && isAlive(pid));
    const sessionId = c.transport.sessionId as string;
    await c.close();
    assert.ok(await eventually(() => !isAlive(pid)), 'child ended after DELETE');
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    assert.equal(res.status, 404);
  });

  it('answers a request in flight with a clear error when the upstream crashes, then restarts it', async () => {
    const before = childPids(gw.logs).length;
    const c = await connect(url);
    try {
      const pid = childPids(gw.logs)[before] as number;
      const call = c.client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 10, steps: 10 } },
        { onprogress: () => process.kill(pid, 'SIGKILL') },
      );
      await assert.rejects(call, /upstream 'everything' stopped before answering .*retry the request/);
      let echoed: unknown;
      assert.ok(
        await eventually(async () => {
          try {
            echoed = await c.client.callTool({ name: 'echo', arguments: { message: 'after restart' } });
            return true;
          } catch {
            return false;
          }
        }, 10_000),
        'the session works again after the restart',
      );
      assert.deepEqual((echoed as { content: unknown }).content, [
        { type: 'text', text: 'Echo: after restart' },
      ]);
      const restarted = childPids(gw.logs).slice(before);
      assert.equal(restarted.length, 2, 'exactly one replacement process');
      assert.ok(isAlive(restarted[1] as number));
    } finally {
      await c.close();
    }
  });
});

describe('a client that disconnects', () => {
  it('does not disturb the gateway, and its idle session and child are reaped', async () => {
    const gw = await startTestGateway(
      gatewayYaml(
        stdioUpstream('everything', EVERYTHING, ['stdio']),
        'limits: { sessionIdleTimeout: 500ms }\n',
      ),
    );
    try {
      const url = `${gw.url}/mcp`;
      const c = await connect(url);
      const pid = childPids(gw.logs)[0] as number;
      const abort = new AbortController();
      const res = await fetch(url, {
        method: 'POST',
        signal: abort.signal,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': c.transport.sessionId as string,
          'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 'gone',
          method: 'tools/call',
          params: { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 1 } },
        }),
      });
      assert.equal(res.status, 200);
      abort.abort();
      // Walk away without DELETE, as a crashed client would.
      await c.client.close();
      const other = await connect(url);
      assert.deepEqual(
        (await other.client.callTool({ name: 'echo', arguments: { message: 'ok' } })).content,
        [{ type: 'text', text: 'Echo: ok' }],
      );
      await other.close();
      assert.ok(
        await eventually(() => !isAlive(pid), 8000),
        'the abandoned session was reaped and its child ended',
      );
      assert.ok(gw.logs.some((l) => l.includes('"type":"session.closed","reason":"idle"')));
    } finally {
      await gw.close();
    }
  });
});
