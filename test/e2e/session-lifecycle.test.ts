/**
 * The session lifecycle real clients need: clients that never send DELETE (the Inspector CLI, a
 * killed mcp-remote, test suites) are all served, because at the per-principal cap the least
 * recently used idle session is evicted (and audited); a busy session (a call in flight, an open
 * GET stream) is never evicted; 2026-07-28 clients' upstream sessions count under the same caps;
 * operators see and end sessions through the admin API and `portcullis sessions`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLI } from '../helpers/auth.js';
import { INITIALIZE } from '../helpers/client.js';
import {
  EVERYTHING,
  isAlive,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';
import { call, type KeyStore, keyedGatewayYaml, keyStore, sessionHeaders, sleep } from '../helpers/limits.js';

const run = promisify(execFile);

interface Listed {
  ref: string;
  kind: string;
  principal: { name: string };
  upstream: string;
  revision?: string;
  inFlight: number;
  openStreams: number;
  pid?: number;
  rssBytes?: number;
}

describe('session lifecycle (default caps: 16 sessions per principal)', () => {
  let gw: TestGateway;
  let keys: KeyStore;
  let url: string;
  /** Every 2025 session the tests opened for the key `app`, oldest first. */
  const opened: string[] = [];

  before(async () => {
    keys = await keyStore(['app', 'ops', 'viewer']);
    gw = await startTestGateway(
      keyedGatewayYaml(
        keys.db,
        stdioUpstream('everything', EVERYTHING, ['stdio']),
        'audit: { store: true }\nlimits: { sessionIdleTimeout: 10m }',
      ),
    );
    url = `${gw.url}/mcp`;
  });
  after(async () => {
    await gw?.close();
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  const initialize = async (name: string): Promise<string> => {
    const r = await call(url, INITIALIZE, keys.auth(name));
    assert.equal(r.status, 200, r.text);
    const session = r.headers.get('mcp-session-id');
    assert.ok(session);
    return session;
  };
  const adminList = async (name = 'ops'): Promise<Listed[]> => {
    const res = await fetch(`${gw.url}/admin/sessions`, { headers: keys.auth(name) });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { sessions: Listed[] }).sessions;
  };
  const cli = (...args: string[]) =>
    run(process.execPath, [CLI, 'sessions', ...args, '--url', gw.url], {
      env: { ...process.env, PORTCULLIS_ADMIN_KEY: keys.keys.ops as string },
    });
  const evictions = () =>
    gw.logs.filter((l) => l.includes('"type":"session.closed"') && l.includes('"reason":"evicted"')).length;

  it('serves 40 sessions opened with one key and never closed, never holding more than 16 children', async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const session = await initialize('app');
      opened.push(session);
      // The session is usable: a call on it is answered.
      const r = await call(
        url,
        { jsonrpc: '2.0', id: i, method: 'tools/list' },
        sessionHeaders(session, keys.auth('app')),
      );
      assert.equal(r.status, 200, r.text);
      const live = (await adminList()).filter((s) => s.principal.name === 'app');
      assert.ok(live.length <= 16, `at most 16 sessions for the key, saw ${live.length}`);
      for (const s of live) if (s.pid !== undefined) pids.add(s.pid);
    }
    const live = (await adminList()).filter((s) => s.principal.name === 'app');
    assert.equal(live.length, 16);
    assert.equal([...pids].filter(isAlive).length, 16, 'the evicted sessions’ children have exited');
    assert.equal(evictions(), 24, 'every eviction is in the audit trail');
    // The oldest sessions went first: the first one is gone, the newest still answers.
    const first = await call(
      url,
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      sessionHeaders(opened[0] as string, keys.auth('app')),
    );
    assert.equal(first.status, 404, first.text);
    assert.equal(first.error?.data?.error, 'session_not_found');
    const last = await call(
      url,
      { jsonrpc: '2.0', id: 2, method: 'ping' },
      sessionHeaders(opened[39] as string, keys.auth('app')),
    );
    assert.equal(last.status, 200, last.text);
  });

  it('never evicts a busy session (an open GET stream)', async () => {
    // The least recently used live session (the last one was used since): busy, it must survive.
    const oldest = opened[24] as string;
    const stream = new AbortController();
    const get = await fetch(url, {
      headers: { accept: 'text/event-stream', ...sessionHeaders(oldest, keys.auth('app')) },
      signal: stream.signal,
    });
    assert.equal(get.status, 200);
    try {
      for (let i = 0; i < 4; i++) opened.push(await initialize('app'));
      const stillThere = await call(
        url,
        { jsonrpc: '2.0', id: 3, method: 'ping' },
        sessionHeaders(oldest, keys.auth('app')),
      );
      assert.equal(stillThere.status, 200, 'the session with an open stream was not evicted');
    } finally {
      stream.abort();
    }
  });

  it('refuses an admin request without the admin scope, and without credentials', async () => {
    const none = await fetch(`${gw.url}/admin/sessions`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /);
    const wrong = await fetch(`${gw.url}/admin/sessions`, {
      headers: { authorization: 'Bearer pcl_not-a-key' },
    });
    assert.equal(wrong.status, 401);
  });

  it('lists sessions with their child’s PID and memory, and closes one, through the CLI', async () => {
    const { stdout } = await cli('list');
    const header = stdout.split('\n')[0] ?? '';
    assert.match(
      header,
      /^REF\s+KIND\s+PRINCIPAL\s+UPSTREAM\s+REVISION\s+AGE\s+IDLE\s+CALLS\s+STREAMS\s+PID\s+RSS$/,
    );
    const listed = await adminList();
    const target = listed[0] as Listed;
    assert.equal(target.kind, 'session');
    assert.equal(target.revision, '2025-11-25');
    assert.ok(target.pid && isAlive(target.pid));
    assert.ok((target.rssBytes ?? 0) > 1024 * 1024, 'the child’s resident memory is reported');
    assert.ok(stdout.includes(target.ref));
    const closed = await cli('close', target.ref);
    assert.equal(closed.stdout, `closed ${target.ref}\n`);
    assert.ok(!(await adminList()).some((s) => s.ref === target.ref));
    for (let i = 0; i < 50 && isAlive(target.pid as number); i++) await sleep(100);
    assert.equal(isAlive(target.pid as number), false, 'its child ended');
    assert.ok(
      gw.logs.some(
        (l) =>
          l.includes('"type":"session.closed","reason":"admin"') && l.includes('"actor":{"id":"api-key:'),
      ),
      'the operator’s close is audited with who did it',
    );
    await assert.rejects(cli('close', target.ref), /no session/);
  });
});
