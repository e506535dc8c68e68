/**
 * The per-principal session cap under a flood: one API key sends 1,000 initialize requests, 50 in
 * flight at a time, to a gateway in front of server-everything over stdio (a child process per
 * session) with limits.sessions.perPrincipal 20. Exactly 20 sessions open, each with its one child;
 * the other 980 get 429 too_many_sessions and start nothing; the gateway stays healthy; and ending
 * one session (DELETE) makes room for exactly one more.
 * The rate and concurrency limits are lifted so that only the session cap can refuse.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { INITIALIZE } from '../helpers/client.js';
import {
  childPids,
  EVERYTHING,
  isAlive,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';
import {
  call,
  endSession,
  type KeyStore,
  keyedGatewayYaml,
  keyStore,
  PROTOCOL,
  ping,
  type Reply,
  readyz,
  sessionHeaders,
} from '../helpers/limits.js';

const UPSTREAM = stdioUpstream('everything', EVERYTHING, ['stdio']);
const PER_PRINCIPAL = 20;
const ATTEMPTS = 1000;
const IN_FLIGHT = 50;

/** Runs `work` for 0…count-1 with at most `limit` running at once; results in index order. */
async function bounded<T>(count: number, limit: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await work(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}

function assertTooManySessions(r: Reply): void {
  assert.equal(r.status, 429, r.text);
  assert.equal(r.error?.data?.error, 'too_many_sessions', r.text);
  // An invalid request (-32600), not a rate limit's -32004: waiting does not help, DELETE does.
  assert.equal(r.error?.code, -32600, r.text);
  assert.equal(
    r.error?.message,
    `this caller already has ${PER_PRINCIPAL} open sessions — end one (DELETE) before opening another`,
  );
  assert.equal(r.headers.get('mcp-session-id'), null, 'no session id for a refused initialize');
}

describe(`${ATTEMPTS} initialize requests from one principal (sessions.perPrincipal ${PER_PRINCIPAL})`, () => {
  let gw: TestGateway;
  let keys: KeyStore;
  let url: string;
  const opened: string[] = [];

  const end = (session: string) => endSession(url, sessionHeaders(session, keys.auth('flood')));
  const readySessions = async () => (await readyz(gw)).sessions;

  before(async () => {
    keys = await keyStore(['flood', 'other'], 'pcl-sessions-');
    gw = await startTestGateway(
      keyedGatewayYaml(
        keys.db,
        UPSTREAM,
        [
          'limits:',
          '  perIp: 100000/min',
          '  perPrincipal: 100000/min',
          '  concurrency: { perPrincipal: 1000, perUpstream: 1000, queueTimeout: 30s }',
          `  sessions: { perPrincipal: ${PER_PRINCIPAL}, total: 2000 }`,
        ].join('\n'),
      ),
    );
    url = `${gw.url}/mcp`;
  });
  after(async () => {
    for (const session of opened.splice(0)) await end(session).catch(() => {});
    const pids = gw ? childPids(gw.logs) : [];
    await gw?.close();
    for (const pid of pids) assert.ok(!isAlive(pid), `child ${pid} ended with the gateway`);
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  it(`opens exactly ${PER_PRINCIPAL}, refuses the rest without starting a process, and frees a place on DELETE`, async () => {
    const started = performance.now();
    const replies = await bounded(ATTEMPTS, IN_FLIGHT, () => call(url, INITIALIZE, keys.auth('flood')));
    const seconds = (performance.now() - started) / 1000;

    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status !== 200);
    for (const r of ok) {
      const session = r.headers.get('mcp-session-id');
      assert.ok(session, 'an opened session has an id');
      opened.push(session);
      assert.equal(r.responses[0]?.result?.protocolVersion, PROTOCOL, r.text);
    }
    assert.equal(ok.length, PER_PRINCIPAL, `sessions opened (statuses: ${summary(replies)})`);
    assert.equal(new Set(opened).size, PER_PRINCIPAL, 'every session id is distinct');
    assert.equal(refused.length, ATTEMPTS - PER_PRINCIPAL);
    for (const r of refused) assertTooManySessions(r);

    const pids = childPids(gw.logs);
    assert.equal(pids.length, PER_PRINCIPAL, 'one upstream process per opened session, none for a refusal');
    for (const pid of pids) assert.ok(isAlive(pid), `child ${pid} is running`);
    assert.equal(await readySessions(), PER_PRINCIPAL);
    assert.ok(seconds < 60, `the flood was answered in ${seconds.toFixed(1)} s`);

    // The cap is per principal: another key opens a session at once.
    const other = await call(url, INITIALIZE, keys.auth('other'));
    assert.equal(other.status, 200, other.text);
    const otherSession = other.headers.get('mcp-session-id') as string;
    const inOther = sessionHeaders(otherSession, keys.auth('other'));
    const pong = await call(url, ping(2), inOther);
    assert.equal(pong.status, 200, pong.text);
    await endSession(url, inOther);

    // Still full for the flooding key…
    assertTooManySessions(await call(url, INITIALIZE, keys.auth('flood')));
    // … until it ends one: then exactly one more opens.
    await end(opened.shift() as string);
    const pidsBefore = childPids(gw.logs).length;
    const again = await Promise.all([1, 2, 3].map(() => call(url, INITIALIZE, keys.auth('flood'))));
    const reopened = again.filter((r) => r.status === 200);
    assert.equal(reopened.length, 1, `one place was free (statuses: ${summary(again)})`);
    opened.push(reopened[0]?.headers.get('mcp-session-id') as string);
    for (const r of again.filter((x) => x.status !== 200)) assertTooManySessions(r);
    assert.equal(childPids(gw.logs).length - pidsBefore, 1, 'one more process, for the one more session');
    assert.equal(await readySessions(), PER_PRINCIPAL);
  });
});

function summary(replies: readonly Reply[]): string {
  const counts = new Map<number, number>();
  for (const r of replies) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${status}×${n}`).join(', ');
}
