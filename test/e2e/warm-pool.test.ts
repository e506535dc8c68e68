/**
 * The warm pool end to end, with server-everything over stdio and the real SDK clients: children are
 * started ahead and shown (with their memory) in /readyz, the admin API and `portcullis sessions
 * list`; each goes to exactly one session — never two, even when sessions open at once — and is
 * replaced; a child killed while warm is replaced; 2025 and 2026-07-28 clients both work on warm
 * children; warm children are not sessions (the caps count sessions only); and once the gateway
 * stops, no child of any kind is left alive.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { CLI } from '../helpers/auth.js';
import { INITIALIZE } from '../helpers/client.js';
import {
  childPids,
  EVERYTHING,
  eventually,
  isAlive,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';
import { call, type KeyStore, keyedGatewayYaml, keyStore } from '../helpers/limits.js';

const run = promisify(execFile);

interface Pool {
  upstream: string;
  size: number;
  ready: number;
  starting: number;
  handedOut: number;
  missed: number;
  pids: number[];
  rssBytes: number;
}

interface Listed {
  kind: string;
  principal: { name: string };
  pid?: number;
}

describe('warm pool (server-everything over stdio, warm: 2)', () => {
  let gw: TestGateway;
  let keys: KeyStore;
  let url: string;
  /** Every PID a session was seen with. */
  const sessionPids = new Set<number>();
  const clients: Client[] = [];

  before(async () => {
    keys = await keyStore(['app', 'ops']);
    gw = await startTestGateway(
      keyedGatewayYaml(
        keys.db,
        stdioUpstream('everything', EVERYTHING, ['stdio'], '    warm: 2\n'),
        'limits: { sessions: { perPrincipal: 32, total: 32 } }',
      ),
    );
    url = `${gw.url}/mcp`;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await gw?.close();
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  const admin = async (): Promise<{ sessions: Listed[]; warmPools: Pool[] }> => {
    const res = await fetch(`${gw.url}/admin/sessions`, { headers: keys.auth('ops') });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as { sessions: Listed[]; warmPools: Pool[] };
  };
  const pool = async (): Promise<Pool> => {
    const [only] = (await admin()).warmPools;
    assert.ok(only);
    return only;
  };
  const full = () => eventually(async () => (await pool()).ready === 2, 20_000);
  const livePids = async (): Promise<number[]> => {
    const pids = (await admin()).sessions.flatMap((s) => (s.pid === undefined ? [] : [s.pid]));
    for (const pid of pids) sessionPids.add(pid);
    return pids;
  };
  /** A session of the SDK client (2025-11-25 unless `pinned`), with one echo answered on it. */
  const session = async (pinned?: string): Promise<Client> => {
    const client = new Client(
      { name: 'warm-test', version: '1.0.0' },
      pinned ? { capabilities: {}, versionNegotiation: { mode: { pin: pinned } } } : { capabilities: {} },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: keys.auth('app') } }),
    );
    clients.push(client);
    const result = await client.callTool({ name: 'echo', arguments: { message: 'warm' } });
    assert.deepEqual(result.content, [{ type: 'text', text: 'Echo: warm' }]);
    return client;
  };

  it('starts two children ahead and shows them with their memory in /readyz, the admin API and the CLI', async () => {
    assert.ok(await full(), JSON.stringify(await pool()));
    const readyz = (await (await fetch(`${gw.url}/readyz`)).json()) as {
      sessions: number;
      upstreams: {
        everything: { warm: { size: number; ready: number; starting: number; rssBytes: number } };
      };
    };
    const { warm } = readyz.upstreams.everything;
    assert.deepEqual(
      { ...warm, rssBytes: warm.rssBytes > 10 * 2 ** 20 },
      {
        size: 2,
        ready: 2,
        starting: 0,
        rssBytes: true,
      },
    );
    assert.equal(readyz.sessions, 0, 'warm children are not sessions');
    const listed = await pool();
    assert.equal(new Set(listed.pids).size, 2);
    assert.ok(listed.pids.every(isAlive));
    const { stdout } = await run(process.execPath, [CLI, 'sessions', 'list', '--url', gw.url], {
      env: { ...process.env, PORTCULLIS_ADMIN_KEY: keys.keys.ops as string },
    });
    assert.match(
      stdout,
      /^warm pool everything: 2 of 2 ready, 0 starting, \d+ MiB resident \(PIDs \d+ \d+\); 0 handed to sessions, 0 found it empty$/m,
    );
  });

  it('hands distinct children to three sessions, each one out of the pool for good, and refills it', async () => {
    assert.ok(await full());
    const warmBefore = (await pool()).pids;
    for (let i = 0; i < 3; i++) await session();
    const pids = await livePids();
    assert.equal(pids.length, 3);
    assert.equal(new Set(pids).size, 3, `three sessions, three children: ${pids}`);
    for (const pid of warmBefore) assert.ok(pids.includes(pid), `warm child ${pid} went to a session`);
    assert.ok(await full(), JSON.stringify(await pool()));
    const refilled = await pool();
    assert.ok(
      refilled.pids.every((pid) => !sessionPids.has(pid)),
      'a child that served a session never waits in the pool again',
    );
    assert.equal(refilled.handedOut + refilled.missed, 3);
    assert.ok(refilled.handedOut >= 2);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /^portcullis_warm_children\{upstream="everything",state="ready"\} 2$/m);
    assert.match(
      metrics,
      new RegExp(
        `^portcullis_warm_pool_takes_total\\{upstream="everything",child="warm"\\} ${refilled.handedOut}$`,
        'm',
      ),
    );
  });

  it('replaces a child that is killed while it waits', async () => {
    assert.ok(await full());
    const [victim, survivor] = (await pool()).pids;
    assert.ok(victim && survivor);
    process.kill(victim, 'SIGKILL');
    assert.ok(
      await eventually(async () => {
        const p = await pool();
        return p.ready === 2 && !p.pids.includes(victim) && p.pids.includes(survivor);
      }, 20_000),
      JSON.stringify(await pool()),
    );
  });

  it('never gives one child to two sessions, even when ten sessions open at once', async () => {
    assert.ok(await full());
    const before = (await admin()).sessions.length;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => call(url, INITIALIZE, keys.auth('app'))),
    );
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    const { sessions } = await admin();
    assert.equal(sessions.length, before + 10, 'every session counts once, and only sessions count');
    const pids = await livePids();
    assert.equal(new Set(pids).size, pids.length, `no PID twice: ${pids}`);
    const waiting = (await pool()).pids;
    assert.ok(
      waiting.every((pid) => !pids.includes(pid)),
      'no child is both in the pool and serving a session',
    );
    const readyz = (await (await fetch(`${gw.url}/readyz`)).json()) as { sessions: number };
    assert.equal(readyz.sessions, sessions.length);
  });

  it('serves a 2026-07-28 client on a warm child too', async () => {
    assert.ok(await full());
    const { handedOut } = await pool();
    await session('2026-07-28');
    assert.equal((await pool()).handedOut, handedOut + 1, 'the bridge took a warm child');
    const stateless = (await admin()).sessions.filter((s) => s.kind === 'stateless');
    assert.equal(stateless.length, 1);
    await livePids();
  });

  it('leaves no child alive — warm, serving a session or started cold — once the gateway stops', async () => {
    const warm = (await pool()).pids;
    await livePids();
    const all = new Set([...warm, ...sessionPids, ...childPids(gw.logs)]);
    // 14 sessions (3, then 10, then the bridge) each on a child of its own, and 2 waiting in the pool.
    assert.ok(all.size >= 16, `children seen: ${all.size}`);
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
    await gw.close();
    const alive = [...all].filter(isAlive);
    assert.deepEqual(alive, [], 'every child the gateway started has exited');
  });
});
