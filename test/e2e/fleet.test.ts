/**
 * A fleet end to end (issue 18): three gateway processes started through the CLI on one PostgreSQL
 * store (a database of the test's own) and one secret, rate limits in a Redis of the test's own, and Debian's HAProxy in front with
 * the configuration the README shows (test/helpers/fleet.ts). Clients reach the balancer, or an
 * instance directly where the test needs a step to land on a chosen one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { hashPassword } from '../../src/auth/passwords.js';
import { cli } from '../helpers/auth.js';
import { launchTestBrowser, type TestBrowser } from '../helpers/browser.js';
import { captureSecrets } from '../helpers/capture.js';
import { post } from '../helpers/client.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { EVERYTHING, eventually, isAlive, NODE } from '../helpers/gateway.js';
import {
  authorizeInBrowser,
  type CallbackServer,
  callbackServer,
  FormBrowser,
  MemoryProvider,
  obtainCode,
  PASSWORD,
  pkce,
  registerPublicClient,
  remember,
  tokenRequest,
} from '../helpers/oauth-flow.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { freePort } from '../helpers/processes.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const V = '2026-07-28';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const envelope = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
  'io.modelcontextprotocol/clientInfo': { name: 'fleet-test', version: '1' },
};

/** One 2026-07-28 stateless tools/call. */
function statelessCall(origin: string, key: string, name: string, args: object, extra: object = {}) {
  return post(
    `${origin}/mcp`,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name, arguments: args, ...extra, _meta: envelope },
    },
    {
      'mcp-protocol-version': V,
      'mcp-method': 'tools/call',
      'mcp-name': name,
      authorization: `Bearer ${key}`,
    },
  );
}

/** A 2026-07-28 tools/list with a bearer token. */
function listTools(origin: string, token: string) {
  return post(
    `${origin}/mcp`,
    { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope } },
    { 'mcp-protocol-version': V, 'mcp-method': 'tools/list', authorization: `Bearer ${token}` },
  );
}

/** How many audit lines an instance wrote for tools/call decisions on `tool`. */
function decisions(fleet: Fleet, instance: number, tool: string): number {
  return fleet.instances[instance]?.cli
    .stdout()
    .split('\n')
    .filter((l) => l.includes('"policy.decision"') && l.includes(`"${tool}"`)).length as number;
}

/** The pids of the upstream children an instance started, from its log. */
function upstreamPids(fleet: Fleet, instance: number): number[] {
  return (fleet.instances[instance]?.cli.stdout() ?? '')
    .split('\n')
    .filter((l) => l.includes('upstream process started'))
    .map((l) => (JSON.parse(l) as { pid: number }).pid);
}

async function session(url: string, key: string): Promise<Client> {
  const client = new Client({ name: 'fleet-session', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

describe('a fleet of three gateways behind HAProxy', () => {
  const env = {
    // The forwarding of a retry to the instance holding its call is logged at debug level.
    PORTCULLIS_LOG_LEVEL: 'debug',
    FLEET_SECRET: randomBytes(36).toString('base64url'),
    FLEET_SIGNING: randomBytes(36).toString('base64url'),
  };
  let dir: string;
  let redis: RedisServer;
  let database: TestDatabase;
  let fleet: Fleet;
  let key: string;
  let browser: TestBrowser;
  let callback: CallbackServer;

  before(async () => {
    captureSecrets(env.FLEET_SECRET, env.FLEET_SIGNING);
    remember(PASSWORD);
    dir = mkdtempSync(join(tmpdir(), 'pcl-fleet-'));
    const redisPort = await freePort();
    redis = await startRedis(redisPort);
    database = await createTestDatabase();
    const yaml = `listen: { host: 127.0.0.1, port: {port}, trustedProxies: [127.0.0.1] }
publicUrl: "{publicUrl}"
store: { postgres: "${database.url}", redis: "redis://127.0.0.1:${redisPort}" }
fleet: { advertiseUrl: "http://127.0.0.1:{port}" }
# The kill test's load would pass the default per-IP budget, which the instances share through Redis.
limits: { perIp: 100000/min, perPrincipal: 100000/min }
auth:
  secret: "\${env:FLEET_SECRET}"
  apiKeys: {}
  basic: { users: { alice: { passwordHash: "${await hashPassword(PASSWORD)}", roles: [viewer] } } }
  oauth: { registration: open, signingSecret: "\${env:FLEET_SIGNING}" }
upstreams:
  everything: { command: ${JSON.stringify(NODE)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }
`;
    fleet = await startFleet({ dir, instances: 3, yaml, env });
    const created = cli(
      ['keys', 'create', '--name', 'fleet', '--scopes', '*', '--config', fleet.configFile],
      undefined,
      env,
    );
    assert.equal(created.status, 0, created.stderr);
    key = created.stdout.trim();
    captureSecrets(key);
    browser = await launchTestBrowser();
    callback = await callbackServer();
  });
  after(async () => {
    await browser?.close();
    callback?.server.close();
    await fleet?.stop();
    await redis?.stop();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves 2026-07-28 stateless calls from every instance', async () => {
    const before = [0, 1, 2].map((i) => decisions(fleet, i, 'echo'));
    for (let n = 0; n < 6; n++) {
      const res = await statelessCall(fleet.url, key, 'echo', { message: `n${n}` });
      assert.equal(res.status, 200, res.text);
      assert.match(res.text, new RegExp(`Echo: n${n}`));
    }
    // Log lines reach stdout in batches: wait for the flush.
    const served = () => [0, 1, 2].map((i) => decisions(fleet, i, 'echo') - (before[i] as number));
    assert.ok(
      await eventually(() => served().every((count) => count > 0)),
      `every instance served some: ${served()}`,
    );
  });

  it('keeps a 2025 session on its instance (stickiness on Mcp-Session-Id)', async () => {
    const client = await session(`${fleet.url}/mcp`, key);
    try {
      for (let n = 0; n < 6; n++) {
        const result = await client.callTool({ name: 'echo', arguments: { message: `s${n}` } });
        assert.match(JSON.stringify(result.content), new RegExp(`Echo: s${n}`));
      }
    } finally {
      await client.close();
    }
  });

  it('completes an input_required retry on whichever instance it lands', async () => {
    const forwardedBefore = fleet.instances.reduce(
      (n, i) => n + i.cli.stdout().split('forwarded a retry').length - 1,
      0,
    );
    for (let n = 0; n < 3; n++) {
      const started = await statelessCall(fleet.url, key, 'trigger-elicitation-request', {});
      assert.equal(started.status, 200, started.text);
      const result = (started.json() as { result: { requestState: string; inputRequests: object } }).result;
      const input = Object.keys(result.inputRequests)[0] as string;
      const done = await statelessCall(
        fleet.url,
        key,
        'trigger-elicitation-request',
        {},
        {
          requestState: result.requestState,
          inputResponses: { [input]: { action: 'accept', content: { name: 'Ada Lovelace' } } },
        },
      );
      assert.equal(done.status, 200, done.text);
      assert.match(done.text, /Ada Lovelace/);
    }
    const forwarded = () =>
      fleet.instances.reduce((n, i) => n + i.cli.stdout().split('forwarded a retry').length - 1, 0);
    assert.ok(
      await eventually(() => forwarded() > forwardedBefore),
      'round robin sent some retries to another instance, which forwarded them',
    );
  });

  it('signs in through Chromium with register, authorize and token on three different instances', async () => {
    const [first, second, third] = fleet.instances as [
      (typeof fleet.instances)[0],
      (typeof fleet.instances)[0],
      (typeof fleet.instances)[0],
    ];
    const provider = new MemoryProvider(callback.url);
    const onInstance = (url: URL, origin: string) => new URL(url.pathname + url.search, origin);
    const landed: Record<string, string> = {};
    const fetchVia = async (input: string | URL, init?: RequestInit) => {
      const url = new URL(String(input));
      const origin =
        url.pathname === '/oauth/register'
          ? first.url
          : url.pathname === '/oauth/token'
            ? third.url
            : fleet.url;
      landed[url.pathname] = origin;
      return fetch(onInstance(url, origin), init);
    };
    await authorizeInBrowser(
      {
        issuer: fleet.url,
        mcp: `${fleet.url}/mcp`,
        browser,
        callback,
        fetch: fetchVia,
        visit: (url) => onInstance(url, second.url),
      },
      provider,
      async () => {},
    );
    assert.equal(landed['/oauth/register'], first.url);
    assert.equal(landed['/oauth/token'], third.url);
    const token = provider.saved?.access_token as string;
    const origins = [fleet.url, ...fleet.instances.map((i) => i.url)];
    for (const origin of origins) {
      const res = await listTools(origin, token);
      assert.equal(res.status, 200, `${origin}: ${res.text}`);
    }
    // RFC 7009 revocation at one instance holds at every other.
    const revoked = await fetch(`${first.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: provider.info?.client_id as string }),
    });
    assert.equal(revoked.status, 200);
    for (const origin of origins) {
      const res = await listTools(origin, token);
      assert.equal(res.status, 401, `${origin} refuses a token revoked at ${first.url}`);
    }
  });

  it('lets exactly one of two instances redeem a code sent to both at once, and revokes the grant', async () => {
    const [first, second, third] = fleet.instances.map((i) => i.url) as [string, string, string];
    const clientId = await registerPublicClient(first, callback.url);
    const { verifier, challenge } = pkce();
    const { code } = await obtainCode(
      second,
      { clientId, redirectUri: callback.url, resource: `${fleet.url}/mcp`, challenge },
      new FormBrowser(second),
    );
    const fields = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: callback.url,
    };
    const answers = await Promise.all([tokenRequest(first, fields), tokenRequest(third, fields)]);
    const won = answers.filter((a) => a.res.status === 200);
    assert.equal(won.length, 1, answers.map((a) => `${a.res.status} ${JSON.stringify(a.body)}`).join('; '));
    const lost = answers.find((a) => a.res.status !== 200);
    assert.equal(lost?.body.error, 'invalid_grant');
    const refresh = won[0]?.body.refresh_token as string;
    const access = won[0]?.body.access_token as string;
    for (const origin of [first, second, third]) {
      const res = await listTools(origin, access);
      assert.equal(res.status, 401, `${origin} refuses an access token of the revoked grant`);
      const again = await tokenRequest(origin, {
        grant_type: 'refresh_token',
        refresh_token: refresh,
        client_id: clientId,
      });
      assert.equal(again.res.status, 400, `${origin} refuses the replayed grant's refresh token`);
    }
  });

  it('accepts a key created with the CLI on every instance and, once revoked, refuses it everywhere within 1 s', async () => {
    const created = cli(
      ['keys', 'create', '--name', 'short', '--scopes', '*', '--config', fleet.configFile],
      undefined,
      env,
    );
    assert.equal(created.status, 0, created.stderr);
    const shortKey = created.stdout.trim();
    captureSecrets(shortKey);
    const id = /Created (key_[0-9a-f]+)/.exec(created.stderr)?.[1] as string;
    for (const instance of fleet.instances) {
      const res = await statelessCall(instance.url, shortKey, 'echo', { message: 'hi' });
      assert.equal(res.status, 200, `${instance.url}: ${res.text}`);
    }
    const revoked = cli(['keys', 'revoke', id, '--config', fleet.configFile], undefined, env);
    assert.equal(revoked.status, 0, revoked.stderr);
    await sleep(1000);
    for (const instance of fleet.instances) {
      const res = await statelessCall(instance.url, shortKey, 'echo', { message: 'hi' });
      assert.equal(res.status, 401, `${instance.url} still accepts a key revoked 1 s ago`);
    }
  });

  it('keeps serving 2026 calls when an instance is killed, and its 2025 sessions re-initialize elsewhere', async (t) => {
    // One session per instance (round robin), opened before the kill.
    const sessions = await Promise.all([0, 1, 2].map(() => session(`${fleet.url}/mcp`, key)));
    const victim = fleet.instances[1];
    assert.ok(victim);
    const victimChildren = upstreamPids(fleet, 1);
    const outcomes: { at: number; ok: boolean; why: string }[] = [];
    let killedAt = Number.POSITIVE_INFINITY;
    let running = true;
    const worker = async () => {
      while (running) {
        const res = await statelessCall(fleet.url, key, 'echo', { message: 'load' }).catch(
          (err: unknown) => ({ status: 0, text: String(err) }),
        );
        outcomes.push({
          at: Date.now(),
          ok: res.status === 200,
          why: `${res.status} ${res.text.slice(0, 300)}`,
        });
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    await sleep(1500);
    killedAt = Date.now();
    victim.cli.child.kill('SIGKILL');
    // The health check (every 500 ms, down after 2 failures) marks it down within about a second.
    await sleep(6000);
    running = false;
    await Promise.all(workers);
    const markedDown = killedAt + 2500;
    const afterDown = outcomes.filter((o) => o.at > markedDown);
    const failedBefore = outcomes.filter((o) => o.at > killedAt && o.at <= markedDown && !o.ok).length;
    t.diagnostic(
      `${outcomes.length} calls; ${failedBefore} failed between the kill and the health check; ${afterDown.filter((o) => !o.ok).length} of ${afterDown.length} after`,
    );
    assert.ok(afterDown.length > 0);
    t.diagnostic(afterDown.find((o) => !o.ok)?.why ?? 'none failed');
    assert.equal(afterDown.filter((o) => !o.ok).length, 0, 'no call fails once the instance is marked down');

    let reinitialized = 0;
    for (const [n, client] of sessions.entries()) {
      try {
        await client.callTool({ name: 'echo', arguments: { message: `after ${n}` } });
      } catch (err) {
        assert.match(String(err), /404|not found/i, 'a session of the dead instance is unknown elsewhere');
        const fresh = await session(`${fleet.url}/mcp`, key);
        const result = await fresh.callTool({ name: 'echo', arguments: { message: `again ${n}` } });
        assert.match(JSON.stringify(result.content), /Echo: again/);
        await fresh.close();
        reinitialized++;
      }
      await client.close().catch(() => {});
    }
    assert.equal(reinitialized, 1, 'exactly the session on the killed instance had to start again');
    // The killed instance's upstream children see their stdin close and exit.
    assert.ok(await eventually(() => victimChildren.every((pid) => !isAlive(pid)), 10_000));
  });

  it('verifies the audit trail the whole fleet wrote', () => {
    const verified = cli(['audit', 'verify', '--config', fleet.configFile], undefined, env);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  });
});
