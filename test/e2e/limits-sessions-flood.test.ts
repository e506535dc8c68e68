/**
 * The per-principal session cap under a flood: one API key sends 300 initialize requests, 50 in
 * flight at a time, to a gateway in front of server-everything over stdio (a child process per
 * session) with limits.sessions.perPrincipal 20. At no moment do more than 20 children run: a new
 * session takes the place of the least recently used idle one, and while all 20 are busy (still
 * opening) the others get 429 too_many_sessions with Retry-After and start nothing. The gateway
 * stays healthy, and 20 sessions remain open at the end.
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
const ATTEMPTS = 300;
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
  assert.equal(r.error?.code, -32004, r.text);
  assert.equal(r.headers.get('retry-after'), '5');
  assert.match(
    r.error?.message ?? '',
    new RegExp(`^this caller already has ${PER_PRINCIPAL} sessions and every one is busy`),
  );
  assert.equal(r.headers.get('mcp-session-id'), null, 'no session id for a refused initialize');
}

describe(`${ATTEMPTS} initialize requests from one principal (sessions.perPrincipal ${PER_PRINCIPAL})`, () => {
  let gw: TestGateway;
  let keys: KeyStore;
  let url: string;
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
    const pids = gw ? childPids(gw.logs) : [];
    await gw?.close();
    for (const pid of pids) assert.ok(!isAlive(pid), `child ${pid} ended with the gateway`);
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  it(`never runs more than ${PER_PRINCIPAL} children, refusing only while all are busy`, async () => {
    const started = performance.now();
    let mostAlive = 0;
    const sampler = setInterval(() => {
      mostAlive = Math.max(mostAlive, childPids(gw.logs).filter(isAlive).length);
    }, 20);
    const replies = await bounded(ATTEMPTS, IN_FLIGHT, () => call(url, INITIALIZE, keys.auth('flood')));
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;

    const ok = replies.filter((r) => r.status === 200);
    for (const r of ok) {
      assert.ok(r.headers.get('mcp-session-id'), 'an opened session has an id');
      assert.equal(r.responses[0]?.result?.protocolVersion, PROTOCOL, r.text);
    }
    assert.ok(ok.length >= PER_PRINCIPAL, `sessions opened (statuses: ${summary(replies)})`);
    for (const r of replies.filter((x) => x.status !== 200)) assertTooManySessions(r);
    assert.ok(mostAlive <= PER_PRINCIPAL, `at most ${PER_PRINCIPAL} children at once, saw ${mostAlive}`);
    assert.equal(
      childPids(gw.logs).length,
      ok.length,
      'one upstream process per opened session, none for a refusal',
    );
    assert.equal(await readySessions(), PER_PRINCIPAL);
    assert.ok(seconds < 120, `the flood was answered in ${seconds.toFixed(1)} s`);

    // The cap is per principal: another key opens a session at once, evicting none of the flood's.
    const other = await call(url, INITIALIZE, keys.auth('other'));
    assert.equal(other.status, 200, other.text);
    const inOther = sessionHeaders(other.headers.get('mcp-session-id') as string, keys.auth('other'));
    const pong = await call(url, ping(2), inOther);
    assert.equal(pong.status, 200, pong.text);
    await endSession(url, inOther);
    assert.equal(await readySessions(), PER_PRINCIPAL);
  });
});

function summary(replies: readonly Reply[]): string {
  const counts = new Map<number, number>();
  for (const r of replies) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${status}×${n}`).join(', ');
}
