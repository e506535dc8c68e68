/**
 * Rate limits shared through Redis by a fleet, end to end: two real gateways on one store and one
 * Redis (a redis-server this test starts on a free loopback port and ends by PID; the machine's own
 * Redis is never touched):
 * - requests spread over both instances draw on one per-IP and one per-principal budget;
 * - /readyz and the log say where the limits are held (redis, redis-unavailable);
 * - when Redis goes away the gateways keep serving and enforce the same budgets per instance, say
 *   so in the log and /readyz, and share them again once Redis is back;
 * - a gateway started while its Redis is down starts, serves with local limits, says so, and joins
 *   Redis when it comes up.
 * Client IPs are simulated with listen.trustedProxies: [127.0.0.1] and X-Forwarded-For; every
 * phase uses fresh addresses, so no phase waits for a window to pass.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { hashPassword } from '../../src/auth/passwords.js';
import {
  EVERYTHING,
  eventually,
  gatewayYaml,
  isAlive,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';
import {
  assertPassedLimits,
  assertRateLimited,
  assertResult,
  call,
  endSession,
  ipBudget,
  type KeyStore,
  keyedGatewayYaml,
  keyStore,
  logLines,
  principalBudget,
  readyz,
  sessionHeaders,
  TOOLS_LIST,
  toolCall,
} from '../helpers/limits.js';
import { openRawSession } from '../helpers/policy.js';
import { freePort } from '../helpers/processes.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const UPSTREAM = stdioUpstream('everything', EVERYTHING, ['stdio']);
const PER_IP = 6;
const PER_PRINCIPAL = 8;
const IP = ipBudget(PER_IP, 60);
const PRINCIPAL = principalBudget(PER_PRINCIPAL, 60);
const SHARED = 'rate limits are shared through Redis';
const FELL_BACK = 'Redis is unreachable: rate limits fall back to this instance alone';

/** The count Redis on `port` holds under `key` (a fresh connection, so it is Redis's answer now). */
async function countIn(port: number, key: string): Promise<number> {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    return Number(await client.get(key));
  } finally {
    client.disconnect();
  }
}

async function limitsStateBecomes(gw: TestGateway, state: string, timeoutMs: number): Promise<void> {
  const reached = await eventually(async () => (await readyz(gw)).limits === state, timeoutMs);
  assert.ok(reached, `/readyz says limits: ${state} (it says ${(await readyz(gw)).limits})`);
}

function gatewayConfig(db: string, redisPort: number): string {
  return keyedGatewayYaml(
    db,
    UPSTREAM,
    `limits: { perIp: ${PER_IP}/min, perPrincipal: ${PER_PRINCIPAL}/min }`,
    {
      listen: ', trustedProxies: [127.0.0.1]',
      store: `, redis: "redis://127.0.0.1:${redisPort}"`,
    },
  );
}

/** The `policy.limits` the start line reported. */
function startedWith(gw: TestGateway): unknown {
  const [started] = logLines(gw.logs, 'portcullis started');
  return (started?.policy as { limits?: unknown } | undefined)?.limits;
}

describe('two gateways sharing one Redis (perIp 6/min, perPrincipal 8/min)', () => {
  let redisPort: number;
  let redis: RedisServer | undefined;
  let keys: KeyStore;
  let a: TestGateway;
  let b: TestGateway;
  const mcp = (gw: TestGateway) => `${gw.url}/mcp`;
  const from = (ip: string, name?: string) => keys.from(ip, name);

  before(async () => {
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    keys = await keyStore(['ip', 'p', 'local', 'again'], 'pcl-redis-');
    a = await startTestGateway(gatewayConfig(keys.db, redisPort));
    b = await startTestGateway(gatewayConfig(keys.db, redisPort));
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
    if (redis) assert.ok(!isAlive(redis.pid), 'our redis-server is gone');
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  it('both instances report the limits as shared through Redis, from the start', async () => {
    for (const gw of [a, b]) {
      assert.equal((await readyz(gw)).limits, 'redis');
      assert.equal(startedWith(gw), 'redis', 'the start line reports the state after connecting');
      assert.equal(logLines(gw.logs, SHARED).length, 1, 'the shared state is logged once');
      assert.equal(logLines(gw.logs, FELL_BACK).length, 0, 'no fallback while Redis is up');
    }
  });

  it('per IP: requests spread over both instances draw on one budget', async () => {
    const ip = '10.40.0.1';
    for (let i = 0; i < PER_IP / 2; i++) {
      assertPassedLimits(await call(mcp(a), TOOLS_LIST, from(ip, 'ip')));
      assertPassedLimits(await call(mcp(b), TOOLS_LIST, from(ip, 'ip')));
    }
    // The seventh request of that address is refused by whichever instance gets it.
    assertRateLimited(await call(mcp(a), TOOLS_LIST, from(ip, 'ip')), IP);
    assertRateLimited(await call(mcp(b), TOOLS_LIST, from(ip, 'ip')), IP);
    // Before authentication too: no credential, still 429 rather than 401.
    assertRateLimited(await call(mcp(b), TOOLS_LIST, from(ip)), IP);
    // Another address has its own budget, on both instances.
    assertPassedLimits(await call(mcp(a), TOOLS_LIST, from('10.40.0.2', 'ip')));
    assertPassedLimits(await call(mcp(b), TOOLS_LIST, from('10.40.0.2', 'ip')));
    // The count lives in this test's Redis, under the per-IP budget's key.
    const held = await countIn(redisPort, `portcullis:ip:${ip}`);
    assert.ok(held >= PER_IP, `Redis holds the shared count for ${ip} (${held})`);
  });

  it('per principal: one API key is limited across both instances and every address', async () => {
    for (let i = 1; i <= PER_PRINCIPAL; i++) {
      const gw = i % 2 === 0 ? a : b;
      assertPassedLimits(await call(mcp(gw), TOOLS_LIST, from(`10.41.0.${i}`, 'p')));
    }
    assertRateLimited(await call(mcp(a), TOOLS_LIST, from('10.41.1.1', 'p')), PRINCIPAL);
    assertRateLimited(await call(mcp(b), TOOLS_LIST, from('10.41.1.2', 'p')), PRINCIPAL);
    // Another key from the same addresses is served.
    assertPassedLimits(await call(mcp(a), TOOLS_LIST, from('10.41.1.1', 'local')));
  });

  it('when Redis goes away: both keep serving, fall back to per-instance limits, and say so', async () => {
    await redis?.stop();
    for (const gw of [a, b]) await limitsStateBecomes(gw, 'redis-unavailable', 5000);
    for (const gw of [a, b]) {
      const warnings = logLines(gw.logs, FELL_BACK);
      assert.equal(warnings.length, 1, 'the fallback is logged once, not per retry or request');
      assert.equal(warnings[0]?.level, 40, 'as a warning');
    }

    // Each instance enforces the per-IP budget on its own: six each, then 429.
    const ip = '10.42.0.1';
    for (const gw of [a, b]) {
      for (let i = 0; i < PER_IP; i++) assertPassedLimits(await call(mcp(gw), TOOLS_LIST, from(ip, 'local')));
      assertRateLimited(await call(mcp(gw), TOOLS_LIST, from(ip, 'local')), IP);
    }
    // And the per-principal budget: key "local" has made six requests on each; two more each, then 429.
    for (const gw of [a, b]) {
      assertPassedLimits(await call(mcp(gw), TOOLS_LIST, from('10.42.0.2', 'local')));
      assertPassedLimits(await call(mcp(gw), TOOLS_LIST, from('10.42.0.3', 'local')));
      assertRateLimited(await call(mcp(gw), TOOLS_LIST, from('10.42.0.4', 'local')), PRINCIPAL);
    }

    // Real MCP traffic still flows through both.
    for (const [i, gw] of [a, b].entries()) {
      const headers = from(`10.42.1.${i + 1}`, 'again');
      const session = await openRawSession(mcp(gw), headers);
      const inSession = sessionHeaders(session, headers);
      const echo = await call(mcp(gw), toolCall(9, 'echo', { message: 'up' }), inSession);
      assert.deepEqual(assertResult(echo, 9).content, [{ type: 'text', text: 'Echo: up' }]);
      await endSession(mcp(gw), inSession);
    }
  });

  it('when Redis is back: both reconnect by themselves and share one budget again', async () => {
    redis = await startRedis(redisPort);
    // ioredis retries with a growing delay (at most 5 s between attempts).
    for (const gw of [a, b]) await limitsStateBecomes(gw, 'redis', 15_000);
    for (const gw of [a, b]) {
      assert.equal(logLines(gw.logs, SHARED).length, 2, 'the return to Redis is logged');
      assert.equal(logLines(gw.logs, FELL_BACK).length, 1);
    }
    const ip = '10.43.0.1';
    for (let i = 0; i < PER_IP / 2; i++) {
      assertPassedLimits(await call(mcp(b), TOOLS_LIST, from(ip, 'again')));
      assertPassedLimits(await call(mcp(a), TOOLS_LIST, from(ip, 'again')));
    }
    assertRateLimited(await call(mcp(a), TOOLS_LIST, from(ip, 'again')), IP);
    assertRateLimited(await call(mcp(b), TOOLS_LIST, from(ip, 'again')), IP);
    assert.ok((await countIn(redisPort, `portcullis:ip:${ip}`)) >= PER_IP, 'counted in the new Redis');
  });
});

describe('a gateway whose Redis is down when it starts (perIp 6/min)', () => {
  let redisPort: number;
  let redis: RedisServer | undefined;
  let keys: KeyStore;
  let gw: TestGateway;
  const from = (ip: string) => keys.from(ip, 'k');

  before(async () => {
    // A free port with nothing listening on it: every connection attempt is refused.
    redisPort = await freePort();
    keys = await keyStore(['k'], 'pcl-redis-');
    gw = await startTestGateway(gatewayConfig(keys.db, redisPort));
  });
  after(async () => {
    await gw?.close();
    await redis?.stop();
    if (keys) rmSync(keys.dir, { recursive: true, force: true });
  });

  it('starts, serves with local limits, and says so in the log and /readyz', async () => {
    assert.equal(startedWith(gw), 'redis-unavailable');
    assert.equal((await readyz(gw)).limits, 'redis-unavailable');
    const warnings = logLines(gw.logs, FELL_BACK);
    assert.equal(warnings.length, 1, 'the fallback is logged once at start, not per retry');
    assert.equal(warnings[0]?.level, 40);
    assert.match(String(warnings[0]?.err), /ECONNREFUSED/);
    assert.equal(logLines(gw.logs, SHARED).length, 0);

    const ip = '10.44.0.1';
    for (let i = 0; i < PER_IP; i++) assertPassedLimits(await call(`${gw.url}/mcp`, TOOLS_LIST, from(ip)));
    assertRateLimited(await call(`${gw.url}/mcp`, TOOLS_LIST, from(ip)), IP);
    assertPassedLimits(await call(`${gw.url}/mcp`, TOOLS_LIST, from('10.44.0.2')));
  });

  it('joins Redis once it comes up, without a restart', async () => {
    redis = await startRedis(redisPort);
    await limitsStateBecomes(gw, 'redis', 15_000);
    assert.equal(logLines(gw.logs, SHARED).length, 1);
    const ip = '10.44.1.1';
    for (let i = 0; i < PER_IP; i++) assertPassedLimits(await call(`${gw.url}/mcp`, TOOLS_LIST, from(ip)));
    assertRateLimited(await call(`${gw.url}/mcp`, TOOLS_LIST, from(ip)), IP);
    assert.ok((await countIn(redisPort, `portcullis:ip:${ip}`)) >= PER_IP, 'counted in Redis now');
  });
});

describe('two gateways sharing one Redis count failed Basic sign-ins together', () => {
  let redis: RedisServer | undefined;
  let a: TestGateway;
  let b: TestGateway;
  const password = 'the right password for alice';
  const basic = (user: string, pass: string, ip: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`,
    // From other machines, Basic is accepted only over TLS: here that of the trusted proxy.
    'x-forwarded-for': ip,
    'x-forwarded-proto': 'https',
  });

  before(async () => {
    const port = await freePort();
    redis = await startRedis(port);
    const yaml = gatewayYaml(
      UPSTREAM,
      `store: { redis: "redis://127.0.0.1:${port}" }\nlisten: { host: 127.0.0.1, port: 0, trustedProxies: [127.0.0.1] }`,
    )
      .replace('listen: { host: 127.0.0.1, port: 0 }\n', '')
      .replace(
        'auth: { none: true }',
        `auth:\n  basic:\n    users: { alice: { passwordHash: "${await hashPassword(password)}", roles: [viewer] } }\n    failedAttempts: { perIp: 100, perUser: 3, window: 15m }`,
      );
    a = await startTestGateway(yaml);
    b = await startTestGateway(yaml);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('locks a user out after the failures on both instances add up, on either instance', async () => {
    // Three wrong passwords from three addresses, spread over both instances.
    for (const [gw, ip] of [
      [a, '10.50.0.1'],
      [b, '10.50.0.2'],
      [a, '10.50.0.3'],
    ] as const) {
      const r = await call(`${gw.url}/mcp`, TOOLS_LIST, basic('alice', 'guess', ip));
      assert.equal(r.status, 401);
    }
    // Now even the right password is refused, by each instance: the count is the fleet's.
    for (const gw of [a, b]) {
      const r = await call(`${gw.url}/mcp`, TOOLS_LIST, basic('alice', password, '10.50.0.9'));
      assert.equal(r.status, 429, `${gw.url}: ${r.text}`);
    }
  });
});
