/**
 * A fleet's 2026-07-28 retry: a call that asked its client for input is parked in the memory of the
 * instance that started it; the retry, landing on another instance, is forwarded to that one and
 * completes there. Two real gateways share one store and secret, each with its own stdio upstream.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiKeys } from '../../src/auth/api-keys.js';
import { loadServerSecret } from '../../src/store/server-secret.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { post } from '../helpers/client.js';
import { childPids, EVERYTHING, NODE, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/processes.js';

const V = '2026-07-28';
const TOOL = 'trigger-elicitation-request';
const envelope = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
  'io.modelcontextprotocol/clientInfo': { name: 'fleet-test', version: '1' },
};

describe('a fleet forwards a 2026-07-28 retry to the instance holding its call', () => {
  const secret = randomBytes(36).toString('base64url');
  let dir: string;
  let key: string;
  let first: TestGateway;
  let second: TestGateway;

  const yaml = (db: string, port: number) => `listen: { host: 127.0.0.1, port: ${port} }
store: { sqlite: ${db} }
auth: { apiKeys: {}, secret: "\${env:FLEET_SECRET}" }
fleet: { advertiseUrl: "http://127.0.0.1:${port}" }
upstreams:
  everything:
    command: ${JSON.stringify(NODE)}
    args: ${JSON.stringify([EVERYTHING, 'stdio'])}
`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-fleet-'));
    const db = join(dir, 'p.db');
    const store = openSqliteStore(db);
    const keys = new ApiKeys(store.apiKeys, loadServerSecret(secret, db));
    key = (await keys.create({ name: 'alice', scopes: ['*'], expiresAt: null })).key;
    await keys.close();
    await store.close();
    const env = { FLEET_SECRET: secret };
    first = await startTestGateway(yaml(db, await freePort()), env);
    second = await startTestGateway(yaml(db, await freePort()), env);
  });
  after(async () => {
    await first.close();
    await second.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (gw: TestGateway, id: number, retry?: { state: string; input: string }, extra = {}) =>
    post(
      `${gw.url}/mcp`,
      {
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: {
          name: TOOL,
          arguments: {},
          ...(retry
            ? {
                requestState: retry.state,
                inputResponses: { [retry.input]: { action: 'accept', content: { name: 'Grace Hopper' } } },
              }
            : {}),
          _meta: envelope,
        },
      },
      {
        'mcp-protocol-version': V,
        'mcp-method': 'tools/call',
        'mcp-name': TOOL,
        authorization: `Bearer ${key}`,
        ...extra,
      },
    );

  async function startOn(gw: TestGateway, id: number) {
    const res = await call(gw, id);
    assert.equal(res.status, 200, res.text);
    const result = (res.json() as { result: Record<string, unknown> }).result;
    assert.equal(result.resultType, 'input_required');
    const inputRequests = result.inputRequests as Record<string, unknown>;
    return { state: result.requestState as string, input: Object.keys(inputRequests)[0] as string };
  }

  it('completes the call on its owner when the retry reaches another instance, once', async () => {
    const started = await startOn(first, 1);
    const done = await call(second, 2, started);
    assert.equal(done.status, 200, done.text);
    assert.match(done.text, /Grace Hopper/);
    // The second instance relayed it: it never started an upstream of its own for the retry.
    assert.deepEqual(childPids(second.logs), []);
    assert.ok(second.logs.some((l) => l.includes('forwarded a retry to the instance holding its call')));
    const replay = await call(second, 3, started);
    assert.equal(replay.status, 400);
    assert.match(replay.text, /already used or its call has ended/);
  });

  it('keeps the owner’s address out of the state the client holds', async () => {
    const { state } = await startOn(first, 10);
    const payload = Buffer.from(state.split('.')[0] as string, 'base64url').toString();
    assert.doesNotMatch(payload, new RegExp(`127\\.0\\.0\\.1|:${first.port}`));
  });

  it('never forwards a request twice: one already forwarded is served or refused where it lands', async () => {
    const started = await startOn(first, 20);
    const res = await call(second, 21, started, { 'x-portcullis-forwarded': '1' });
    assert.equal(res.status, 400);
    assert.match(res.text, /the gateway instance that holds its call has restarted or cannot be reached/);
    const genuine = await call(second, 22, started);
    assert.equal(genuine.status, 200, 'the refused attempt did not consume the parked call');
  });

  it('refuses an altered state without forwarding it', async () => {
    const { state, input } = await startOn(first, 30);
    const [payload, mac] = state.split('.') as [string, string];
    const altered = `${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`;
    const res = await call(second, 31, { state: altered, input });
    assert.equal(res.status, 400);
    assert.match(res.text, /altered, has expired, or was not issued by this gateway/);
  });

  it('answers 502 peer_unavailable, naming the fix, when the owner is gone', async () => {
    const started = await startOn(first, 40);
    await first.close();
    const res = await call(second, 41, started);
    assert.equal(res.status, 502, res.text);
    const body = res.json() as { error: { message: string; data: { error: string } } };
    assert.equal(body.error.data.error, 'peer_unavailable');
    assert.match(body.error.message, /start the request again without requestState/);
  });
});
