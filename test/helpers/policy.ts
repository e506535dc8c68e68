/**
 * Helpers for the authorization-policy tests: a gateway with API keys of chosen scopes (store in a
 * temp dir), JSON-RPC failures decoded from the real SDK clients, list paging, raw sessions, and a
 * tiny stdio MCP server that pages its tools, resources and prompts (server-everything does not).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ApiKeys } from '../../src/auth/api-keys.js';
import { loadServerSecret } from '../../src/store/server-secret.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { INITIALIZE, post } from './client.js';
import { startTestGateway, type TestGateway } from './gateway.js';

export const MODERN = '2026-07-28';

export interface PolicyGateway {
  readonly gw: TestGateway;
  /** The temp dir holding the store (and anything else the test puts there). */
  readonly dir: string;
  /** Key by name, each made with the scopes (and roles) asked for. */
  readonly keys: Readonly<Record<string, string>>;
  /** The MCP endpoint of `upstream` (or /mcp). */
  url(upstream?: string): string;
  /** Authorization header for the key named `name`. */
  auth(name: string): Record<string, string>;
  close(): Promise<void>;
}

export type KeySpec =
  | readonly string[]
  | { readonly scopes?: readonly string[]; readonly roles: readonly string[] };

export interface PolicyGatewayOptions {
  /** YAML for the upstreams (stdioUpstream lines), or a function of the temp dir that writes fixtures there. */
  readonly upstreams: string | ((dir: string) => string);
  /** The `policy:` section, as an object (written as YAML flow). */
  readonly policy?: unknown;
  /** Key name → its scopes, or its scopes and roles. */
  readonly keys: Readonly<Record<string, KeySpec>>;
  /** More lines under `auth:` (two-space indented), beside `apiKeys: {}`. */
  readonly auth?: string;
  /** More top-level YAML (limits:, aggregate:, …). */
  readonly extra?: string;
}

/** Makes the keys in a fresh store under a temp dir, then starts a gateway on that store. */
export async function startPolicyGateway(options: PolicyGatewayOptions): Promise<PolicyGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-policy-'));
  try {
    const upstreams = typeof options.upstreams === 'function' ? options.upstreams(dir) : options.upstreams;
    const db = join(dir, 'p.db');
    const store = openSqliteStore(db);
    const apiKeys = new ApiKeys(store.apiKeys, loadServerSecret(undefined, db));
    const keys: Record<string, string> = {};
    for (const [name, spec] of Object.entries(options.keys)) {
      const grant = Array.isArray(spec)
        ? { scopes: spec as readonly string[] }
        : {
            scopes: (spec as { scopes?: readonly string[] }).scopes ?? [],
            roles: (spec as { roles: readonly string[] }).roles,
          };
      keys[name] = (await apiKeys.create({ name, ...grant, expiresAt: null })).key;
    }
    await apiKeys.close();
    await store.close();
    const yaml = [
      'listen: { host: 127.0.0.1, port: 0 }',
      `store: { sqlite: ${JSON.stringify(db)} }`,
      'auth:',
      '  apiKeys: {}',
      ...(options.auth ? [options.auth] : []),
      'upstreams:',
      upstreams,
      ...(options.policy === undefined ? [] : [`policy: ${JSON.stringify(options.policy)}`]),
      ...(options.extra ? [options.extra] : []),
    ].join('\n');
    const gw = await startTestGateway(yaml);
    return {
      gw,
      dir,
      keys,
      url: (upstream) => (upstream ? `${gw.url}/servers/${upstream}/mcp` : `${gw.url}/mcp`),
      auth(name) {
        const key = keys[name];
        assert.ok(key, `no key named ${name}`);
        return { authorization: `Bearer ${key}` };
      },
      async close() {
        await gw.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** An SDK v2 client through the gateway: 2025 (the SDK's default) or pinned to 2026-07-28. */
export async function policyClient(
  url: string,
  headers: Record<string, string>,
  modern = false,
): Promise<{ client: Client; close(): Promise<void> }> {
  const client = new Client(
    { name: modern ? 'policy-modern' : 'policy-test', version: '1.0.0' },
    {
      capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } },
      ...(modern ? { versionNegotiation: { mode: { pin: MODERN } } } : {}),
    },
  );
  // It declares roots, so it must answer them: server-everything asks right after initialize, and
  // through the bridge that request can reach the client as an input request of its first call.
  client.setRequestHandler('roots/list', async () => ({ roots: [] }));
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  if (modern) assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
  return {
    client,
    async close() {
      if (!modern) await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

export interface RpcFailure {
  readonly code: number;
  readonly message: string;
  readonly data: Record<string, unknown>;
}

/** The JSON-RPC error a client call failed with; fails the test if the call succeeded. */
export async function rpcFailure(call: Promise<unknown>): Promise<RpcFailure> {
  let result: unknown;
  try {
    result = await call;
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; data?: unknown };
    assert.equal(typeof e.code, 'number', `not a JSON-RPC error: ${String(err)}`);
    return {
      code: e.code as number,
      message: String(e.message),
      data: (e.data ?? {}) as Record<string, unknown>,
    };
  }
  return assert.fail(`expected a JSON-RPC error, got ${JSON.stringify(result).slice(0, 300)}`);
}

/** Asserts the refusal of a request for missing scopes: code, exact message, required/missing scopes. */
export function assertScopeRefusal(
  failure: RpcFailure,
  expected: {
    code: number;
    message: string;
    required: readonly string[];
    missing: readonly (readonly string[])[];
  },
): void {
  assert.equal(failure.code, expected.code, failure.message);
  // The SDK may prefix the server's message; the server's own text must be there exactly.
  assert.ok(
    failure.message === expected.message || failure.message.endsWith(`: ${expected.message}`),
    `${JSON.stringify(failure.message)} is not ${JSON.stringify(expected.message)}`,
  );
  assert.equal(failure.data.error, 'insufficient_scope');
  assert.deepEqual(failure.data.requiredScopes, expected.required);
  assert.deepEqual(failure.data.missingScopes, expected.missing);
}

/** Asserts a refusal that no scope would lift (read-only mode). */
export function assertForbidden(failure: RpcFailure, code: number, message: string): void {
  assert.equal(failure.code, code, failure.message);
  assert.ok(
    failure.message === message || failure.message.endsWith(`: ${message}`),
    `${JSON.stringify(failure.message)} is not ${JSON.stringify(message)}`,
  );
  assert.equal(failure.data.error, 'forbidden');
  assert.equal(failure.data.requiredScopes, undefined);
}

type ListKind = 'tools' | 'resources' | 'resourceTemplates' | 'prompts';

const LIST_METHOD = {
  tools: { method: 'tools/list', key: 'name' },
  resources: { method: 'resources/list', key: 'uri' },
  resourceTemplates: { method: 'resources/templates/list', key: 'uriTemplate' },
  prompts: { method: 'prompts/list', key: 'name' },
} as const;

/**
 * Every page of a list as the server sends it, following nextCursor to the end (at most 50 pages).
 * Raw requests, one per page: the SDK's listTools() & co. walk and merge the pages themselves.
 */
export async function listPages(client: Client, kind: ListKind): Promise<string[][]> {
  const { method, key } = LIST_METHOD[kind];
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const result = (await client.request({ method, params: cursor ? { cursor } : {} })) as unknown as Record<
      string,
      unknown
    >;
    const items = result[kind] as Record<string, unknown>[];
    assert.ok(Array.isArray(items), `${method} answered without ${kind}`);
    pages.push(items.map((item) => String(item[key])));
    const next = result.nextCursor;
    if (typeof next !== 'string' || next === '') return pages;
    cursor = next;
  }
  return assert.fail(`${kind} did not end within 50 pages`);
}

/** All names of a list, in order, across its pages. */
export async function listAll(client: Client, kind: ListKind): Promise<string[]> {
  return (await listPages(client, kind)).flat();
}

export interface RpcMessage {
  readonly jsonrpc: '2.0';
  readonly id?: string | number | null;
  readonly method?: string;
  readonly result?: Record<string, unknown>;
  readonly error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** The JSON-RPC messages of a POST answer: an SSE stream or a JSON body. */
export function messagesOf(res: { headers: Headers; text: string }): RpcMessage[] {
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    return res.text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => JSON.parse(line.slice('data:'.length)) as RpcMessage);
  }
  const body = JSON.parse(res.text) as RpcMessage | RpcMessage[];
  return Array.isArray(body) ? body : [body];
}

/** The responses (not notifications) in a POST answer. */
export function responsesOf(res: { headers: Headers; text: string }): RpcMessage[] {
  return messagesOf(res).filter((m) => m.id !== undefined);
}

/** A raw 2025 session: initialize and notifications/initialized; returns the session id. */
export async function openRawSession(
  url: string,
  headers: Record<string, string>,
  protocolVersion = '2025-11-25',
): Promise<string> {
  const init = await post(url, { ...INITIALIZE, params: { ...INITIALIZE.params, protocolVersion } }, headers);
  assert.equal(init.status, 200, init.text);
  const id = init.headers.get('mcp-session-id');
  assert.ok(id, 'initialize answers with a session id');
  const [answer] = responsesOf(init);
  assert.equal(answer?.result?.protocolVersion, protocolVersion, init.text);
  const note = await post(
    url,
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': protocolVersion },
  );
  assert.equal(note.status, 202, note.text);
  return id;
}

/** The `_meta` envelope of a raw 2026-07-28 request. */
export function modernEnvelope(): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  };
}

/** Headers of a raw 2026-07-28 request. */
export function modernHeaders(method: string, name?: string): Record<string, string> {
  return {
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    ...(name ? { 'mcp-name': name } : {}),
  };
}

export interface PagedFixture {
  /** The script to run with node (stdio MCP server). */
  readonly script: string;
  readonly resources: readonly string[];
  readonly tools: readonly { name: string; annotations: Record<string, unknown> }[];
  readonly prompts: readonly string[];
  readonly pageSize: number;
}

/**
 * Writes a dependency-free stdio MCP server into `dir` that serves `resources`, `tools` and `prompts`
 * in pages of `pageSize`, with opaque cursors, and answers reads, calls and prompts/get.
 */
export function writePagedServer(
  dir: string,
  data: Omit<PagedFixture, 'script'>,
  file = 'paged-server.mjs',
): PagedFixture {
  const script = join(dir, file);
  const source = `import { createInterface } from 'node:readline';
const DATA = ${JSON.stringify(data)};
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
const page = (list, cursor, field, map) => {
  let start = 0;
  if (cursor !== undefined) {
    const prefix = 'opaque-' + field + '-';
    if (typeof cursor !== 'string' || !cursor.startsWith(prefix)) return undefined;
    start = Number(cursor.slice(prefix.length));
    if (!Number.isInteger(start) || start <= 0 || start >= list.length) return undefined;
  }
  const next = start + DATA.pageSize < list.length ? 'opaque-' + field + '-' + (start + DATA.pageSize) : undefined;
  return { [field]: list.slice(start, start + DATA.pageSize).map(map), ...(next ? { nextCursor: next } : {}) };
};
createInterface({ input: process.stdin }).on('line', (line) => {
  let msg;
  try { msg = JSON.parse(line); } catch { return; }
  if (msg.method === undefined || msg.id === undefined) return;
  const p = msg.params ?? {};
  let result;
  switch (msg.method) {
    case 'initialize':
      result = { protocolVersion: p.protocolVersion, capabilities: { tools: {}, resources: {}, prompts: {} }, serverInfo: { name: 'paged', version: '1.0.0' } };
      break;
    case 'ping': result = {}; break;
    case 'tools/list':
      result = page(DATA.tools, p.cursor, 'tools', (t) => ({ name: t.name, inputSchema: { type: 'object' }, annotations: t.annotations }));
      break;
    case 'resources/list':
      result = page(DATA.resources, p.cursor, 'resources', (uri) => ({ uri, name: uri.split('/').pop() }));
      break;
    case 'resources/templates/list': result = { resourceTemplates: [] }; break;
    case 'prompts/list':
      result = page(DATA.prompts, p.cursor, 'prompts', (name) => ({ name }));
      break;
    case 'tools/call': result = { content: [{ type: 'text', text: 'ran ' + p.name }] }; break;
    case 'resources/read': result = { contents: [{ uri: p.uri, mimeType: 'text/plain', text: 'content of ' + p.uri }] }; break;
    case 'prompts/get': result = { messages: [{ role: 'user', content: { type: 'text', text: 'prompt ' + p.name } }] }; break;
    default:
      send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'no method ' + msg.method } });
      return;
  }
  if (result === undefined) send({ jsonrpc: '2.0', id: msg.id, error: { code: -32602, message: 'bad cursor' } });
  else send({ jsonrpc: '2.0', id: msg.id, result });
});
`;
  writeFileSync(script, source);
  return { script, ...data };
}
