/**
 * MCP 2026-07-28 clients through the gateway to 2025 upstreams (server-everything, server-filesystem):
 * the SDK v2 client pinned to 2026-07-28, and raw requests for what no SDK client would send.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ApiKeys } from '../../src/auth/api-keys.js';
import { loadServerSecret } from '../../src/store/server-secret.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { post } from '../helpers/client.js';
import {
  EVERYTHING,
  eventually,
  FILESYSTEM,
  gatewayYaml,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';

const V = '2026-07-28';
const envelope = (capabilities: object = { elicitation: { form: {} }, sampling: {} }) => ({
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientCapabilities': capabilities,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
});
const modernHeaders = (method: string, name?: string): Record<string, string> => ({
  'mcp-protocol-version': V,
  'mcp-method': method,
  ...(name ? { 'mcp-name': name } : {}),
});

async function modernClient(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client(
    { name: 'modern-test', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: { form: {} } }, versionNegotiation: { mode: { pin: V } } },
  );
  client.setRequestHandler('sampling/createMessage', async (request) => ({
    role: 'assistant',
    model: 'bridge-model',
    content: { type: 'text', text: `sampled ${JSON.stringify(request.params.messages[0]?.content)}` },
  }));
  client.setRequestHandler('elicitation/create', async () => ({
    action: 'accept',
    content: { name: 'Ada Lovelace' },
  }));
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

describe('a 2026-07-28 client through the bridge to server-everything (2025)', () => {
  let gw: TestGateway;
  let url: string;

  before(async () => {
    gw = await startTestGateway(gatewayYaml(stdioUpstream('everything', EVERYTHING, ['stdio'])));
    url = `${gw.url}/mcp`;
  });
  after(() => gw.close());

  it('negotiates 2026-07-28 without a session and learns the upstream identity from server/discover', async () => {
    const client = await modernClient(url);
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), V);
      assert.equal(client.getServerVersion()?.name, 'mcp-servers/everything');
      const raw = await post(
        url,
        { jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: envelope() } },
        modernHeaders('server/discover'),
      );
      assert.equal(raw.status, 200);
      assert.equal(raw.headers.get('mcp-session-id'), null, 'no session id is minted for 2026-07-28');
      const result = (raw.json() as { result: Record<string, unknown> }).result;
      assert.deepEqual(result.supportedVersions, [V]);
      assert.equal(result.resultType, 'complete');
      assert.equal(result.cacheScope, 'private');
      assert.ok((result.capabilities as Record<string, unknown>).tools);
      assert.equal(
        (result.capabilities as Record<string, unknown>).tasks,
        undefined,
        '2025 tasks are not advertised',
      );
      assert.equal(
        (
          (result._meta as Record<string, { name: string }>)['io.modelcontextprotocol/serverInfo'] as {
            name: string;
          }
        ).name,
        'mcp-servers/everything',
      );
    } finally {
      await client.close();
    }
  });

  it('relays tools, resources and prompts, stamping resultType and private cache hints', async () => {
    const client = await modernClient(url);
    try {
      assert.deepEqual(
        (await client.callTool({ name: 'echo', arguments: { message: 'stateless' } })).content,
        [{ type: 'text', text: 'Echo: stateless' }],
      );
      const { resources } = await client.listResources();
      assert.ok(resources.length > 0);
      const read = await client.readResource({ uri: resources[0]?.uri as string });
      assert.equal(read.contents[0]?.uri, resources[0]?.uri);
      const prompt = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Porto' } });
      assert.match(JSON.stringify(prompt.messages), /Porto/);
      const raw = await post(
        url,
        { jsonrpc: '2.0', id: 7, method: 'tools/list', params: { _meta: envelope() } },
        modernHeaders('tools/list'),
      );
      const list = (
        raw.json() as { result: { resultType: string; cacheScope: string; ttlMs: number; tools: object[] } }
      ).result;
      assert.equal(list.resultType, 'complete');
      assert.equal(list.cacheScope, 'private', 'a per-principal list is never shared-cacheable');
      assert.equal(list.ttlMs, 0);
      assert.ok(
        list.tools.every((t) => !('execution' in t)),
        'no 2025 task fields leak into 2026 tool definitions',
      );
    } finally {
      await client.close();
    }
  });

  it('turns the upstream sampling and elicitation requests into input_required rounds', async () => {
    const client = await modernClient(url);
    try {
      const sampled = await client.callTool({
        name: 'trigger-sampling-request',
        arguments: { prompt: 'round-trip-7' },
      });
      assert.match(JSON.stringify(sampled.content), /sampled .*round-trip-7/);
      assert.match(JSON.stringify(sampled.content), /bridge-model/);
      const elicited = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
      assert.match(JSON.stringify(elicited.content), /Ada Lovelace/);
    } finally {
      await client.close();
    }
  });

  it("streams progress notifications on the request's own response", async () => {
    const client = await modernClient(url);
    try {
      const progress: number[] = [];
      await client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
        { onprogress: (p) => progress.push(p.progress) },
      );
      assert.deepEqual(progress, [1, 2, 3]);
    } finally {
      await client.close();
    }
  });

  it('delivers resource updates on a subscriptions/listen stream, tagged with the subscription id', async () => {
    const client = await modernClient(url);
    try {
      const uri = 'demo://resource/dynamic/text/3';
      const updates: { uri: string; meta: unknown }[] = [];
      client.setNotificationHandler('notifications/resources/updated', (n) => {
        updates.push({ uri: n.params.uri, meta: n.params._meta });
      });
      const subscription = await client.listen({ resourceSubscriptions: [uri], toolsListChanged: true });
      assert.deepEqual(subscription.honoredFilter.resourceSubscriptions, [uri]);
      await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      assert.ok(
        await eventually(() => updates.some((u) => u.uri === uri), 8000),
        'an update arrived on the listen stream',
      );
      const tagged = updates.find((u) => u.uri === uri)?.meta as Record<string, unknown>;
      assert.ok(tagged['io.modelcontextprotocol/subscriptionId'] !== undefined);
      await client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
      await subscription.close();
    } finally {
      await client.close();
    }
  });
});

describe('list-changed subscriptions of a 2026-07-28 client through the bridge', () => {
  it('fans resources/list_changed out to a listen stream that asked for it, and only to it', async () => {
    const gw = await startTestGateway(gatewayYaml(stdioUpstream('everything', EVERYTHING, ['stdio'])));
    try {
      const client = await modernClient(`${gw.url}/mcp`);
      const changed: unknown[] = [];
      const toolsChanged: unknown[] = [];
      client.setNotificationHandler(
        'notifications/resources/list_changed',
        (n) => void changed.push(n.params?._meta),
      );
      client.setNotificationHandler(
        'notifications/tools/list_changed',
        (n) => void toolsChanged.push(n.params?._meta),
      );
      const subscription = await client.listen({ resourcesListChanged: true });
      assert.equal(subscription.honoredFilter.resourcesListChanged, true);
      const data = `data:text/plain;base64,${Buffer.from('hello').toString('base64')}`;
      await client.callTool({
        name: 'gzip-file-as-resource',
        arguments: { name: 'hello.txt.gz', data, outputType: 'resourceLink' },
      });
      assert.ok(
        await eventually(() => changed.length > 0, 5000),
        'resources/list_changed arrived on the listen stream',
      );
      assert.ok(
        (changed[0] as Record<string, unknown>)['io.modelcontextprotocol/subscriptionId'] !== undefined,
      );
      assert.equal(toolsChanged.length, 0, 'a type the listen did not ask for is not delivered');
      await subscription.close();
      await client.close();
    } finally {
      await gw.close();
    }
  });
});

describe('2026-07-28 header checks', () => {
  let gw: TestGateway;
  let url: string;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-modern-'));
    gw = await startTestGateway(
      gatewayYaml(stdioUpstream('everything', EVERYTHING, ['stdio'])).replace(
        'auth: { none: true }',
        `auth: { apiKeys: {} }\nstore: { sqlite: ${join(dir, 'p.db')} }`,
      ),
    );
    url = `${gw.url}/mcp`;
  });
  after(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (id = 1) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'echo', arguments: { message: 'x' }, _meta: envelope() },
  });

  it('refuses a header/body mismatch with 400 HeaderMismatch before authentication runs', async () => {
    for (const [headers, fragment] of [
      [modernHeaders('tools/list', 'echo'), /Mcp-Method is tools\/list but the body names tools\/call/],
      [modernHeaders('tools/call', 'other-tool'), /Mcp-Name is other-tool but the body names echo/],
      [modernHeaders('tools/call'), /Mcp-Name is \(missing\)/],
      [{ 'mcp-method': 'tools/call', 'mcp-name': 'echo' }, /MCP-Protocol-Version header is missing/],
      [
        { ...modernHeaders('tools/call', 'echo'), 'mcp-protocol-version': '2025-11-25' },
        /MCP-Protocol-Version is 2025-11-25 but the body claims 2026-07-28/,
      ],
    ] as const) {
      const res = await post(url, call(), headers);
      assert.equal(res.status, 400, res.text);
      const body = res.json() as {
        id: unknown;
        error: { code: number; message: string; data: { error: string } };
      };
      assert.equal(body.error.code, -32020);
      assert.equal(body.error.data.error, 'header_mismatch');
      assert.match(body.error.message, fragment);
      assert.equal(body.id, 1, 'the error carries the request id');
    }
  });

  it('decodes a base64-sentinel Mcp-Name before comparing it', async () => {
    const name = 'échø';
    const encoded = `=?base64?${Buffer.from(name).toString('base64')}?=`;
    const res = await post(
      url,
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: {}, _meta: envelope() } },
      modernHeaders('tools/call', encoded),
    );
    assert.equal(res.status, 401, 'the headers agree, so the request reaches authentication');
  });

  it('refuses an unsupported version with -32022 listing the supported ones, and a bad envelope with -32602', async () => {
    const future = {
      ...call(),
      params: {
        ...call().params,
        _meta: { ...envelope(), 'io.modelcontextprotocol/protocolVersion': '2027-01-01' },
      },
    };
    const res = await post(url, future, {
      ...modernHeaders('tools/call', 'echo'),
      'mcp-protocol-version': '2027-01-01',
    });
    assert.equal(res.status, 400);
    const body = res.json() as { error: { code: number; data: { supported: string[]; requested: string } } };
    assert.equal(body.error.code, -32022);
    assert.deepEqual(body.error.data.supported, [V]);
    assert.equal(body.error.data.requested, '2027-01-01');
    const noCaps = {
      ...call(),
      params: { ...call().params, _meta: { 'io.modelcontextprotocol/protocolVersion': V } },
    };
    const res2 = await post(url, noCaps, modernHeaders('tools/call', 'echo'));
    assert.equal(res2.status, 400);
    assert.equal((res2.json() as { error: { code: number } }).error.code, -32602);
  });

  it('refuses a 2026 version header on a request without the envelope', async () => {
    const res = await post(url, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, modernHeaders('tools/list'));
    assert.equal(res.status, 400);
    assert.equal((res.json() as { error: { code: number } }).error.code, -32602);
  });

  it('authenticates well-formed 2026 requests like any other (401 with the metadata URL)', async () => {
    const res = await post(url, call(), modernHeaders('tools/call', 'echo'));
    assert.equal(res.status, 401);
    assert.match(
      res.headers.get('www-authenticate') ?? '',
      /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/,
    );
  });

  it('answers methods 2026-07-28 removed with 404 -32601', async () => {
    const store = openSqliteStore(join(dir, 'p.db'));
    const keys = new ApiKeys(store.apiKeys, loadServerSecret(undefined, join(dir, 'p.db')));
    const { key } = await keys.create({ name: 't', scopes: ['*'], expiresAt: null });
    await keys.close();
    await store.close();
    for (const method of ['ping', 'logging/setLevel', 'initialize']) {
      const res = await post(
        url,
        { jsonrpc: '2.0', id: 4, method, params: { _meta: envelope() } },
        {
          ...modernHeaders(method),
          authorization: `Bearer ${key}`,
        },
      );
      assert.equal(res.status, 404, `${method}: ${res.text}`);
      assert.equal((res.json() as { error: { code: number } }).error.code, -32601);
    }
  });
});

describe('requestState integrity', () => {
  let gw: TestGateway;
  let url: string;
  let dir: string;
  let keyA: string;
  let keyB: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-state-'));
    const db = join(dir, 'p.db');
    const store = openSqliteStore(db);
    const keys = new ApiKeys(store.apiKeys, loadServerSecret(undefined, db));
    keyA = (await keys.create({ name: 'alice', scopes: ['*'], expiresAt: null })).key;
    keyB = (await keys.create({ name: 'bob', scopes: ['*'], expiresAt: null })).key;
    await keys.close();
    await store.close();
    gw = await startTestGateway(
      gatewayYaml(stdioUpstream('everything', EVERYTHING, ['stdio'])).replace(
        'auth: { none: true }',
        `auth: { apiKeys: {} }\nstore: { sqlite: ${db} }`,
      ),
    );
    url = `${gw.url}/mcp`;
  });
  after(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the elicitation tool as `key`; returns the input_required result. */
  async function startElicitation(key: string, id: number) {
    const res = await post(
      url,
      {
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'trigger-elicitation-request', arguments: {}, _meta: envelope() },
      },
      { ...modernHeaders('tools/call', 'trigger-elicitation-request'), authorization: `Bearer ${key}` },
    );
    assert.equal(res.status, 200, res.text);
    const result = (
      res.json() as {
        result: {
          resultType: string;
          requestState: string;
          inputRequests: Record<string, { method: string }>;
        };
      }
    ).result;
    assert.equal(result.resultType, 'input_required');
    assert.equal(Object.values(result.inputRequests)[0]?.method, 'elicitation/create');
    return result;
  }

  function retry(key: string, id: number, requestState: string, inputKey: string) {
    return post(
      url,
      {
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: {
          name: 'trigger-elicitation-request',
          arguments: {},
          requestState,
          inputResponses: { [inputKey]: { action: 'accept', content: { name: 'Grace Hopper' } } },
          _meta: envelope(),
        },
      },
      { ...modernHeaders('tools/call', 'trigger-elicitation-request'), authorization: `Bearer ${key}` },
    );
  }

  it('completes with the genuine state, then refuses the same state replayed', async () => {
    const first = await startElicitation(keyA, 1);
    const inputKey = Object.keys(first.inputRequests)[0] as string;
    const done = await retry(keyA, 2, first.requestState, inputKey);
    assert.equal(done.status, 200);
    assert.match(done.text, /Grace Hopper/);
    const replay = await retry(keyA, 3, first.requestState, inputKey);
    assert.equal(replay.status, 400);
    const body = replay.json() as { error: { code: number; data: { error: string }; message: string } };
    assert.equal(body.error.data.error, 'invalid_request_state');
    assert.match(body.error.message, /already used/);
  });

  it('refuses a tampered state and another principal’s state', async () => {
    const first = await startElicitation(keyA, 10);
    const inputKey = Object.keys(first.inputRequests)[0] as string;
    const [h, p, s] = first.requestState.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'api-key:someone-else' })).toString('base64url')}.${s}`;
    const tampered = await retry(keyA, 11, forged, inputKey);
    assert.equal(tampered.status, 400);
    assert.match(tampered.text, /altered, has expired, or was not issued by this gateway/);
    const stolen = await retry(keyB, 12, first.requestState, inputKey);
    assert.equal(stolen.status, 400);
    assert.match(stolen.text, /issued to another caller/);
    const genuine = await retry(keyA, 13, first.requestState, inputKey);
    assert.equal(genuine.status, 200, 'the refused attempts did not consume the parked call');
    assert.match(genuine.text, /Grace Hopper/);
  });
});

describe('a 2026-07-28 client through the bridge to server-filesystem (2025)', () => {
  it('lists and reads files', async () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'pcl-modern-fs-')));
    writeFileSync(join(root, 'note.txt'), 'stateless hello');
    const gw = await startTestGateway(gatewayYaml(stdioUpstream('files', FILESYSTEM, [root])));
    try {
      const client = await modernClient(`${gw.url}/mcp`);
      const read = await client.callTool({
        name: 'read_text_file',
        arguments: { path: join(root, 'note.txt') },
      });
      assert.equal((read.content as { text: string }[])[0]?.text, 'stateless hello');
      await client.close();
    } finally {
      await gw.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
