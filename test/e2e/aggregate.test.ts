/**
 * The aggregated /mcp: server-everything over stdio and over HTTP, server-filesystem, and a fourth
 * upstream that is down when the client connects, all behind one endpoint, with the real SDK client.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { EXPOSED_NAME } from '../../src/relay/aggregate/names.js';
import { INITIALIZE, post } from '../helpers/client.js';
import { EVERYTHING, eventually, FILESYSTEM, stdioUpstream } from '../helpers/gateway.js';
import {
  messagesOf,
  type PolicyGateway,
  policyClient,
  rpcFailure,
  startPolicyGateway,
} from '../helpers/policy.js';
import { freePort, type RunningProcess, startNode } from '../helpers/processes.js';

const ALL_SCOPES = ['tools:read', 'tools:write', 'resources:read', 'prompts:read'];
const text = (result: { content?: unknown }) =>
  (result.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');

interface AuditLine {
  type?: string;
  upstream?: string;
  target?: { kind: string; name: string };
  outcome?: string;
}

describe('the aggregated /mcp with several upstreams', () => {
  let web: RunningProcess;
  let late: RunningProcess | undefined;
  let latePort: number;
  let root: string;
  let g: PolicyGateway;
  const connect = () => policyClient(g.url(), g.auth('user'));
  /**
   * The SDK client pinned to 2026-07-28, declaring no roots: server-everything asks for roots at
   * times of its own, and through the bridge that would park whichever call is running.
   */
  const modernClient = async (url = g.url(), key = 'user') => {
    const client = new Client(
      { name: 'aggregate-2026', version: '1.0.0' },
      { capabilities: { sampling: {} }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    client.setRequestHandler('sampling/createMessage', async () => ({
      role: 'assistant',
      model: 'agg-2026',
      content: { type: 'text', text: 'sampled statelessly' },
    }));
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: g.auth(key) },
    });
    await client.connect(transport);
    return { client, close: () => client.close() };
  };

  before(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'pcl-agg-')));
    writeFileSync(join(root, 'notes.txt'), 'aggregated notes\n');
    const webPort = await freePort();
    latePort = await freePort();
    web = await startNode([EVERYTHING, 'streamableHttp'], /listening on port/, { PORT: String(webPort) });
    const restart = '    restart: { initialDelay: 100ms, maxDelay: 400ms }\n';
    g = await startPolicyGateway({
      upstreams: [
        stdioUpstream('everything', EVERYTHING, ['stdio']),
        `  web:\n    url: "http://127.0.0.1:${webPort}/mcp"\n`,
        stdioUpstream('files', FILESYSTEM, [root], '    prefix: fs\n'),
        `  late:\n    url: "http://127.0.0.1:${latePort}/mcp"\n${restart}`,
      ].join(''),
      keys: { user: ALL_SCOPES, stranger: ['tools:read'] },
      policy: { rules: [{ tools: ['web.get-env'], require: ['env:read'] }] },
      extra: [
        'aggregate: { deadline: 3s }',
        'limits: { tools: { everything.get-sum: 2/min } }',
        'endpoints:',
        '  support:',
        "    include: ['web.echo', 'web.get-*', 'everything.*']",
        "    policy: { rules: [{ tools: ['everything.get-env'], require: ['env:read'] }] }",
      ].join('\n'),
    });
  });

  after(async () => {
    await g?.close();
    await web?.stop();
    await late?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('lists the tools of every reachable upstream under <prefix>__<name>, each a valid tool name', async () => {
    const c = await connect();
    try {
      const { tools } = await c.client.listTools();
      const names = tools.map((t) => t.name);
      for (const name of names) assert.match(name, EXPOSED_NAME);
      assert.ok(names.includes('everything__echo'));
      assert.ok(names.includes('web__echo'));
      assert.ok(names.includes('fs__read_text_file'), 'a configured prefix replaces the upstream name');
      assert.ok(!names.some((n) => n.startsWith('late__')), 'the upstream that is down is left out');
      assert.ok(!names.includes('web__get-env'), 'the policy of web hides its get-env, for want of env:read');
      assert.ok(names.includes('everything__get-env'), "everything's get-env is under no rule");
      assert.match(c.client.getInstructions() ?? '', /everything.*\n.*web.*\n.*files \(prefix fs__\)/s);
      assert.match(c.client.getInstructions() ?? '', /late.*not reachable now/);
      const ready = await fetch(`${g.gw.url}/readyz`);
      const body = (await ready.json()) as {
        endpoints: Record<string, { members: number; unreachable: number }>;
      };
      assert.deepEqual(
        body.endpoints['/mcp'],
        { members: 4, unreachable: 1 },
        '/readyz counts the member that is down',
      );
      assert.deepEqual(body.endpoints['/support/mcp'], { members: 2, unreachable: 0 });
    } finally {
      await c.close();
    }
  });

  it('calls each upstream by its exposed names, and refuses a name no upstream has', async () => {
    const c = await connect();
    try {
      assert.equal(
        text(await c.client.callTool({ name: 'everything__echo', arguments: { message: 'a' } })),
        'Echo: a',
      );
      assert.equal(
        text(await c.client.callTool({ name: 'web__echo', arguments: { message: 'b' } })),
        'Echo: b',
      );
      const listing = await c.client.callTool({ name: 'fs__list_directory', arguments: { path: root } });
      assert.match(text(listing), /notes\.txt/);
      const unknown = await rpcFailure(c.client.callTool({ name: 'nobody__echo', arguments: {} }));
      assert.equal(unknown.code, -32602);
      assert.match(unknown.message, /unknown tool nobody__echo/);
    } finally {
      await c.close();
    }
  });

  it('applies each upstream’s policy and per-tool limits under the exposed names, and audits the upstream and the original name', async () => {
    const c = await connect();
    try {
      const refused = await rpcFailure(c.client.callTool({ name: 'web__get-env', arguments: {} }));
      assert.equal(refused.code, -32003, 'web.get-env needs env:read');
      assert.ok(text(await c.client.callTool({ name: 'everything__get-env', arguments: {} })).length > 0);
      const sum = { name: 'everything__get-sum', arguments: { a: 1, b: 2 } };
      await c.client.callTool(sum);
      await c.client.callTool(sum);
      await assert.rejects(c.client.callTool(sum), /too many requests to everything\.get-sum/);
      assert.match(text(await c.client.callTool({ name: 'web__get-sum', arguments: { a: 1, b: 2 } })), /3/);
      const decisions = () =>
        g.gw.logs
          .flatMap((line) => (JSON.parse(line) as { audit?: AuditLine }).audit ?? [])
          .filter((e) => e.type === 'policy.decision' && e.target?.name === 'get-env');
      assert.ok(
        await eventually(() => decisions().some((e) => e.upstream === 'web' && e.outcome === 'denied')),
        'the refusal is audited as web’s get-env',
      );
      assert.ok(decisions().some((e) => e.upstream === 'everything' && e.outcome === 'allowed'));
    } finally {
      await c.close();
    }
  });

  it('namespaces the resource URIs of the two upstreams that share a scheme, and reads and subscribes through them', async () => {
    const c = await connect();
    try {
      const updates: string[] = [];
      c.client.setNotificationHandler(
        'notifications/resources/updated',
        (n) => void updates.push(n.params.uri),
      );
      const { resources } = await c.client.listResources();
      const uris = resources.map((r) => r.uri);
      const fromWeb = uris.find((u) => u.startsWith('portcullis://web/demo://')) as string;
      assert.ok(fromWeb, `web's demo:// resources are namespaced: ${uris.slice(0, 3).join(', ')}`);
      assert.ok(uris.some((u) => u.startsWith('portcullis://everything/demo://')));
      const read = await c.client.readResource({ uri: fromWeb });
      assert.equal(read.contents[0]?.uri, fromWeb, 'the read answers under the URI the client asked for');
      const { resourceTemplates } = await c.client.listResourceTemplates();
      assert.ok(resourceTemplates.some((t) => t.uriTemplate.startsWith('portcullis://web/demo://')));
      const subscribed = 'portcullis://web/demo://resource/dynamic/text/1';
      await c.client.subscribeResource({ uri: subscribed });
      await c.client.callTool({ name: 'web__toggle-subscriber-updates', arguments: {} });
      assert.ok(
        await eventually(() => updates.includes(subscribed), 15_000),
        'the update names the namespaced URI',
      );
      await c.client.callTool({ name: 'web__toggle-subscriber-updates', arguments: {} });
      await c.client.unsubscribeResource({ uri: subscribed });
      const missing = await rpcFailure(c.client.readResource({ uri: 'portcullis://nobody/x://y' }));
      assert.equal(missing.code, -32002);
    } finally {
      await c.close();
    }
  });

  it('serves prompts, sampling, elicitation and progress for tools of each upstream', async () => {
    const c = await connect();
    try {
      c.client.setRequestHandler('sampling/createMessage', async () => ({
        role: 'assistant',
        model: 'agg-model',
        content: { type: 'text', text: 'sampled through the aggregate' },
      }));
      c.client.setRequestHandler('elicitation/create', async () => ({
        action: 'accept',
        content: { name: 'Ada' },
      }));
      const { prompts } = await c.client.listPrompts();
      assert.ok(prompts.some((p) => p.name === 'web__simple-prompt'));
      const prompt = await c.client.getPrompt({ name: 'web__simple-prompt' });
      assert.ok(prompt.messages.length > 0);
      for (const upstream of ['everything', 'web']) {
        const sampled = await c.client.callTool({
          name: `${upstream}__trigger-sampling-request`,
          arguments: { prompt: 'hi' },
        });
        assert.match(text(sampled), /sampled through the aggregate/, `sampling from ${upstream}`);
        const elicited = await c.client.callTool({
          name: `${upstream}__trigger-elicitation-request`,
          arguments: {},
        });
        assert.match(text(elicited), /Ada/, `elicitation from ${upstream}`);
        const progress: number[] = [];
        await c.client.callTool(
          { name: `${upstream}__trigger-long-running-operation`, arguments: { duration: 0.3, steps: 3 } },
          { onprogress: (p) => progress.push(p.progress) },
        );
        assert.deepEqual(progress, [1, 2, 3], `progress from ${upstream}`);
      }
    } finally {
      await c.close();
    }
  });

  it('keeps two upstreams’ concurrent server requests apart, and relays a cancellation to the upstream that runs the call', async () => {
    const c = await connect();
    try {
      let asked = 0;
      c.client.setRequestHandler('sampling/createMessage', async (request) => {
        asked++;
        // Answer the second request first: each answer must still reach the upstream that asked.
        await new Promise((r) => setTimeout(r, asked === 1 ? 300 : 0));
        return {
          role: 'assistant',
          model: 'agg',
          content: { type: 'text', text: `answer to ${JSON.stringify(request.params.messages[0]?.content)}` },
        };
      });
      const [fromEverything, fromWeb] = await Promise.all(
        ['everything', 'web'].map((upstream) =>
          c.client.callTool({
            name: `${upstream}__trigger-sampling-request`,
            arguments: { prompt: `from-${upstream}` },
          }),
        ),
      );
      assert.match(text(fromEverything as { content?: unknown }), /from-everything/);
      assert.match(text(fromWeb as { content?: unknown }), /from-web/);
      const abort = new AbortController();
      const call = c.client.callTool(
        { name: 'web__trigger-long-running-operation', arguments: { duration: 10, steps: 10 } },
        { signal: abort.signal, onprogress: () => abort.abort('gave up') },
      );
      await assert.rejects(call, /gave up|abort/i);
      assert.equal(
        text(await c.client.callTool({ name: 'web__echo', arguments: { message: 'after' } })),
        'Echo: after',
      );
    } finally {
      await c.close();
    }
  });

  it('answers initialize with the merged capabilities, and refuses a list cursor it never gave', async () => {
    const session = await post(g.url(), INITIALIZE, { ...g.auth('user') });
    assert.equal(session.status, 200);
    const result = messagesOf(session)[0]?.result as { capabilities: Record<string, unknown> };
    assert.deepEqual(result.capabilities.tools, { listChanged: true });
    const id = session.headers.get('mcp-session-id') as string;
    const prompts = await post(
      g.url(),
      { jsonrpc: '2.0', id: 2, method: 'prompts/list', params: { cursor: 'x' } },
      { ...g.auth('user'), 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
    );
    assert.match(prompts.text, /lists everything in one page/);
  });

  it('lets an upstream that was down at connect join the session later, and tells the client', async () => {
    const c = await connect();
    try {
      let changed = 0;
      c.client.setNotificationHandler('notifications/tools/list_changed', () => void changed++);
      late = await startNode([EVERYTHING, 'streamableHttp'], /listening on port/, { PORT: String(latePort) });
      const before = changed;
      const joined = async () => (await c.client.listTools()).tools.some((t) => t.name === 'late__echo');
      assert.ok(await eventually(joined, 15_000), 'the upstream that came back is listed');
      assert.ok(changed > before, 'the client was told the list changed');
      assert.equal(
        text(await c.client.callTool({ name: 'late__echo', arguments: { message: 'back' } })),
        'Echo: back',
      );
    } finally {
      await c.close();
    }
  });
  it('serves a 2026-07-28 client: discovery, the same names, calls, input rounds and progress on each upstream', async () => {
    const c = await modernClient();
    try {
      assert.match(c.client.getInstructions() ?? '', /combines 4 MCP servers/);
      const { tools } = await c.client.listTools();
      const names = tools.map((t) => t.name);
      for (const name of names) assert.match(name, EXPOSED_NAME);
      for (const name of ['everything__echo', 'web__echo', 'fs__read_text_file', 'late__echo'])
        assert.ok(names.includes(name), name);
      assert.ok(!names.includes('web__get-env'), "web's policy holds for 2026 clients too");
      assert.equal(
        text(await c.client.callTool({ name: 'web__echo', arguments: { message: 'c' } })),
        'Echo: c',
      );
      const read = await c.client.callTool({
        name: 'fs__read_text_file',
        arguments: { path: join(root, 'notes.txt') },
      });
      assert.match(text(read), /aggregated notes/);
      const sampled = await c.client.callTool({
        name: 'web__trigger-sampling-request',
        arguments: { prompt: 'x' },
      });
      assert.match(text(sampled), /sampled statelessly/, 'the input round went back to web');
      const progress: number[] = [];
      await c.client.callTool(
        { name: 'everything__trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
        { onprogress: (p) => progress.push(p.progress) },
      );
      assert.deepEqual(progress, [1, 2, 3]);
    } finally {
      await c.close();
    }
  });

  it('gives a 2026-07-28 listen one acknowledgement and the updates of a namespaced resource', async () => {
    const c = await modernClient();
    try {
      const updates: string[] = [];
      c.client.setNotificationHandler(
        'notifications/resources/updated',
        (n) => void updates.push(n.params.uri),
      );
      await c.client.listResources();
      const uri = 'portcullis://web/demo://resource/dynamic/text/3';
      const subscription = await c.client.listen({ resourceSubscriptions: [uri], toolsListChanged: true });
      assert.deepEqual(subscription.honoredFilter.resourceSubscriptions, [uri]);
      assert.equal(subscription.honoredFilter.toolsListChanged, true);
      await c.client.callTool({ name: 'web__toggle-subscriber-updates', arguments: {} });
      assert.ok(await eventually(() => updates.includes(uri), 15_000), 'the update names the namespaced URI');
      await c.client.callTool({ name: 'web__toggle-subscriber-updates', arguments: {} });
      await subscription.close();
    } finally {
      await c.close();
    }
  });
  it('tells a 2026-07-28 listener when an upstream that could not listen joins', async () => {
    await late?.stop();
    // Another principal: its backends are opened now, so late's cannot be.
    const c = await modernClient(g.url(), 'stranger');
    try {
      let changed = 0;
      c.client.setNotificationHandler('notifications/tools/list_changed', () => void changed++);
      const subscription = await c.client.listen({ toolsListChanged: true });
      assert.equal(subscription.honoredFilter.toolsListChanged, true);
      // server-everything announces list changes of its own as its new sessions start: let them pass.
      let seen = -1;
      const quiet = await eventually(async () => {
        const before = changed;
        await new Promise((r) => setTimeout(r, 1500));
        seen = changed;
        return changed === before;
      }, 15_000);
      assert.ok(quiet, 'the listen stream went quiet while late was down');
      late = await startNode([EVERYTHING, 'streamableHttp'], /listening on port/, { PORT: String(latePort) });
      assert.ok(await eventually(() => changed > seen, 20_000), 'list_changed once late listens too');
      await subscription.close();
    } finally {
      await c.close();
    }
  });

  describe('a virtual server (endpoints.support)', () => {
    const support = () => g.url().replace(/\/mcp$/, '/support/mcp');

    it('lists and calls only its subset, with its overlay narrowing the base policy', async () => {
      const c = await policyClient(support(), g.auth('user'));
      try {
        const names = (await c.client.listTools()).tools.map((t) => t.name);
        assert.ok(names.includes('web__echo') && names.includes('web__get-sum'));
        assert.ok(names.includes('everything__echo'), 'everything is included whole');
        assert.ok(!names.includes('everything__get-env'), 'the overlay hides everything.get-env');
        assert.ok(!names.includes('web__get-env'), 'the base policy still holds');
        assert.ok(
          !names.some((n) => n.startsWith('fs__') || n.startsWith('late__')),
          'other upstreams are not served',
        );
        assert.ok(!names.includes('web__toggle-subscriber-updates'), 'web is included in part only');
        assert.equal(
          text(await c.client.callTool({ name: 'web__echo', arguments: { message: 'v' } })),
          'Echo: v',
        );
        for (const name of ['fs__list_directory', 'web__toggle-subscriber-updates']) {
          const refused = await rpcFailure(c.client.callTool({ name, arguments: {} }));
          assert.match(refused.message, new RegExp(`unknown tool ${name}`));
        }
        const overlay = await rpcFailure(c.client.callTool({ name: 'everything__get-env', arguments: {} }));
        assert.equal(overlay.code, -32003, 'the overlay refuses what /mcp allows');
        const { resources } = await c.client.listResources();
        assert.ok(resources.length > 0);
        assert.ok(
          resources.every((r) => r.uri.startsWith('demo://')),
          'only everything serves resources here, so its URIs need no namespace',
        );
        const read = await c.client.readResource({ uri: resources[0]?.uri as string });
        assert.equal(read.contents[0]?.uri, resources[0]?.uri);
      } finally {
        await c.close();
      }
    });

    it('is a protected resource of its own, and serves 2026-07-28 clients', async () => {
      const metadata = await fetch(`${g.gw.url}/.well-known/oauth-protected-resource/support/mcp`);
      assert.equal(metadata.status, 200);
      assert.equal(((await metadata.json()) as { resource: string }).resource, support());
      const c = await modernClient(support());
      try {
        const names = (await c.client.listTools()).tools.map((t) => t.name);
        assert.ok(names.includes('web__echo') && !names.includes('everything__get-env'));
        assert.ok(!names.some((n) => n.startsWith('fs__')));
      } finally {
        await c.close();
      }
    });
  });
});
