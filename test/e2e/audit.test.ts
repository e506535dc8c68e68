/**
 * The audit trail and the metrics end to end: a scripted session through a real gateway in front of
 * server-everything (API keys, a scope rule, a per-tool limit, argument logging for echo) must
 * leave exactly the events the README promises, with the request ids clients saw, in stdout and in
 * the stored hash chain alike; `portcullis audit verify|query` read that chain, and find the first
 * altered record; /metrics counts what happened; `portcullis start` on SIGTERM under load loses no
 * event.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditEvent } from '../../src/audit/events.js';
import { ApiKeys } from '../../src/auth/api-keys.js';
import { loadServerSecret } from '../../src/store/server-secret.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { post } from '../helpers/client.js';
import { EVERYTHING, NODE, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openRawSession, responsesOf } from '../helpers/policy.js';

const CLI = resolve('dist/cli/main.js');
const PROTOCOL = '2025-11-25';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

interface Setup {
  readonly dir: string;
  readonly db: string;
  readonly config: string;
  readonly keys: Record<string, { key: string; id: string }>;
}

/** A temp dir with a store holding one key per name, and a config file for the CLI and the gateway. */
async function setup(names: Record<string, readonly string[]>, yaml: (db: string) => string): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-audit-e2e-'));
  const db = join(dir, 'p.db');
  const store = openSqliteStore(db);
  const apiKeys = new ApiKeys(store.apiKeys, loadServerSecret(undefined, db));
  const keys: Record<string, { key: string; id: string }> = {};
  for (const [name, scopes] of Object.entries(names)) {
    const { key, record } = await apiKeys.create({ name, scopes, expiresAt: null });
    keys[name] = { key, id: record.id };
  }
  await apiKeys.close();
  await store.close();
  const config = join(dir, 'portcullis.yaml');
  writeFileSync(config, yaml(db));
  return { dir, db, config, keys };
}

function cli(args: readonly string[]) {
  return spawnSync(NODE, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
}

/** The audit events among a gateway's log lines. */
function loggedEvents(lines: readonly string[]): AuditEvent[] {
  return lines
    .map((line) => JSON.parse(line) as { audit?: AuditEvent })
    .flatMap((entry) => (entry.audit ? [entry.audit] : []));
}

function storedEvents(db: string): AuditEvent[] {
  const sqlite = new Database(db, { readonly: true });
  try {
    return (sqlite.prepare('SELECT json FROM audit_events ORDER BY seq').all() as { json: string }[]).map(
      (row) => JSON.parse(row.json) as AuditEvent,
    );
  } finally {
    sqlite.close();
  }
}

const call = (id: number, name: string, args: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

describe('audit trail and metrics of a scripted session', () => {
  let s: Setup;
  let gw: TestGateway;
  let url: string;
  const seen: Record<string, string> = {};

  before(async () => {
    s = await setup({ ci: ['*'], viewer: ['tools:read'] }, (db) =>
      [
        'listen: { host: 127.0.0.1, port: 0 }',
        `store: { sqlite: ${JSON.stringify(db)} }`,
        'auth: { apiKeys: {} }',
        'upstreams:',
        `  everything: { command: ${JSON.stringify(NODE)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }`,
        "policy: { rules: [{ tools: ['everything.get-sum'], require: ['math:use'] }] }",
        "limits: { tools: { 'everything.get-tiny-image': 1/min } }",
        "audit: { logArguments: ['everything.echo'] }",
        `metrics: { token: ${METRICS_TOKEN} }`,
      ].join('\n'),
    );
    gw = await startTestGateway(readFileSync(s.config, 'utf8'));
    url = `${gw.url}/mcp`;

    const ci = { authorization: `Bearer ${s.keys.ci?.key}` };
    const noKey = await post(url, call(1, 'echo', {}));
    assert.equal(noKey.status, 401);
    seen.missing = noKey.headers.get('x-request-id') as string;
    const badKey = await post(url, call(1, 'echo', {}), { authorization: 'Bearer pcl_forged-key' });
    assert.equal(badKey.status, 401);
    seen.forged = badKey.headers.get('x-request-id') as string;

    const session = await openRawSession(url, ci);
    const h = { ...ci, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL };
    const echo = await post(
      url,
      call(2, 'echo', { message: 'write to jane.doe@example.com with token sk-live-abcdefghijklmnop' }),
      h,
    );
    assert.equal(echo.status, 200, echo.text);
    seen.echo = echo.headers.get('x-request-id') as string;
    const viewer = { authorization: `Bearer ${s.keys.viewer?.key}` };
    const viewerSession = await openRawSession(url, viewer);
    const sum = await post(url, call(3, 'get-sum', { a: 1, b: 2 }), {
      ...viewer,
      'mcp-session-id': viewerSession,
      'mcp-protocol-version': PROTOCOL,
    });
    assert.equal(responsesOf(sum)[0]?.error?.data?.error, 'insufficient_scope', sum.text);
    seen.sum = sum.headers.get('x-request-id') as string;
    const tiny = await post(url, call(4, 'get-tiny-image', {}), h);
    assert.equal(tiny.status, 200, tiny.text);
    const limited = await post(url, call(5, 'get-tiny-image', {}), h);
    assert.equal(limited.status, 429, limited.text);
    seen.limited = limited.headers.get('x-request-id') as string;
  });
  after(async () => {
    await gw?.close();
    if (s) rmSync(s.dir, { recursive: true, force: true });
  });

  it('records each authentication failure with its method and reason, and no credential', () => {
    const events = loggedEvents(gw.logs);
    const missing = events.find((e) => e.requestId === seen.missing);
    assert.equal(missing?.type, 'auth.failure');
    assert.equal(missing.method, 'missing');
    assert.equal(missing.reason, 'unauthorized');
    assert.equal(missing.status, 401);
    assert.equal(missing.clientIp, '127.0.0.1');
    assert.equal(missing.upstream, 'everything');
    const forged = events.find((e) => e.requestId === seen.forged);
    assert.equal(forged?.type, 'auth.failure');
    assert.equal(forged.method, 'api-key');
    assert.equal(forged.reason, 'invalid_token');
    assert.ok(!JSON.stringify(events).includes('pcl_forged-key'), 'the presented key is not recorded');
  });

  it('records an allowed call once answered, with latency, status and only opted-in arguments, redacted', () => {
    const events = loggedEvents(gw.logs).filter((e) => e.requestId === seen.echo);
    const types = events.map((e) => e.type);
    assert.deepEqual(types, ['auth.success', 'policy.decision'], 'one event per decision');
    const [auth, decision] = events;
    assert.equal(auth?.type, 'auth.success');
    assert.equal(auth.method, 'api-key');
    assert.equal(auth.principal.id, `api-key:${s.keys.ci?.id}`);
    assert.equal(auth.principal.name, 'ci');
    assert.equal(decision?.type, 'policy.decision');
    assert.equal(decision.outcome, 'allowed');
    assert.deepEqual(decision.target, { kind: 'tool', name: 'echo' });
    assert.equal(decision.upstreamStatus, 'ok');
    assert.equal(decision.protocolVersion, PROTOCOL);
    assert.ok(typeof decision.latencyMs === 'number' && decision.latencyMs >= 0);
    const args = JSON.stringify(decision.arguments);
    assert.match(args, /write to \[REDACTED\] with token/, 'the email is masked');
    assert.ok(!args.includes('jane.doe'), args);
    assert.ok(decision.result !== undefined, 'the result of an opted-in tool is recorded');
    assert.ok(!JSON.stringify(decision.result).includes('jane.doe@example.com'), 'and redacted');
  });

  it('records a denial with its rule, code and missing scopes, and no arguments of a tool not opted in', () => {
    const decision = loggedEvents(gw.logs).find(
      (e) => e.requestId === seen.sum && e.type === 'policy.decision',
    );
    assert.equal(decision?.type, 'policy.decision');
    assert.equal(decision.outcome, 'denied');
    assert.equal(decision.code, 'insufficient_scope');
    assert.match(decision.rule, /rule/);
    assert.deepEqual(decision.missingScopes, [['math:use']]);
    assert.equal(decision.arguments, undefined);
    assert.equal(decision.latencyMs, undefined, 'a denial never reached the upstream');
  });

  it('records a limit refusal with its budget, tool and Retry-After', () => {
    const refusal = loggedEvents(gw.logs).find(
      (e) => e.requestId === seen.limited && e.type !== 'auth.success',
    );
    assert.equal(refusal?.type, 'rate_limit.refused');
    assert.equal(refusal.budget, 'tool');
    assert.equal(refusal.tool, 'everything.get-tiny-image');
    assert.equal(refusal.code, 'rate_limited');
    assert.equal(refusal.principal?.name, 'ci');
    assert.ok((refusal.retryAfter ?? 0) >= 1);
  });

  it('records gateway.start with the security posture', () => {
    const start = loggedEvents(gw.logs).find((e) => e.type === 'gateway.start');
    assert.equal(start?.type, 'gateway.start');
    assert.deepEqual(start.posture.auth, ['api-key']);
    assert.equal(start.posture.tls, 'none');
    assert.equal(start.posture.loopbackOnly, true);
    assert.equal(start.posture.policy.rules, 1);
    assert.deepEqual(start.posture.audit.logArguments, ['everything.echo']);
    assert.deepEqual(start.posture.metrics, { enabled: true, tokenProtected: true });
    assert.deepEqual(start.posture.upstreams.everything, { transport: 'stdio', protocol: '2025-11-25' });
  });

  it('serves /metrics only with its token, counting what the session did', async () => {
    const anonymous = await fetch(`${gw.url}/metrics`);
    assert.equal(anonymous.status, 401);
    assert.doesNotMatch(await anonymous.text(), /portcullis_/);
    const wrong = await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer not-the-token' } });
    assert.equal(wrong.status, 401);
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    const value = (series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      assert.ok(line, `${series} in /metrics`);
      return Number(line.slice(series.length + 1));
    };
    assert.equal(
      value('portcullis_policy_decisions_total{upstream="everything",kind="tool",outcome="allowed"}'),
      2,
    );
    assert.equal(
      value('portcullis_policy_decisions_total{upstream="everything",kind="tool",outcome="denied"}'),
      1,
    );
    assert.equal(value('portcullis_auth_failures_total{method="missing",reason="unauthorized"}'), 1);
    assert.equal(value('portcullis_auth_failures_total{method="api-key",reason="invalid_token"}'), 1);
    assert.equal(value('portcullis_rate_limit_refusals_total{budget="tool"}'), 1);
    assert.equal(value('portcullis_sessions{kind="session"}'), 2);
    assert.ok(value('portcullis_child_processes') >= 1);
    assert.equal(
      value(
        'portcullis_upstream_request_duration_seconds_count{upstream="everything",method="tools/call",status="ok"}',
      ),
      2,
    );
    assert.ok(
      value('portcullis_requests_total{upstream="everything",method="POST",status="429"}') >= 1,
      'HTTP requests by status',
    );
    assert.ok(!text.includes(s.keys.ci?.key as string), 'no credential in the metrics');
  });

  it('stores every event in the chain; audit verify passes, audit query finds the denial', async () => {
    await gw.close();
    const stored = storedEvents(s.db);
    const logged = loggedEvents(gw.logs);
    assert.deepEqual(
      stored.map((e) => `${e.type} ${e.requestId ?? ''}`),
      logged.map((e) => `${e.type} ${e.requestId ?? ''}`),
      'the store holds what stdout showed, in order',
    );
    assert.equal(stored.at(-1)?.type, 'gateway.stop');

    const verify = cli(['audit', 'verify', '--config', s.config]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, new RegExp(`^audit chain intact: ${stored.length} record\\(s\\)`));

    const query = (...args: string[]) => {
      const r = cli(['audit', 'query', '--config', s.config, '--json', ...args]);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { audit: AuditEvent }).audit)
        .map((e) => `${e.type} ${e.requestId ?? ''}`);
    };
    assert.deepEqual(query('--principal', 'ci', '--outcome', 'denied'), [
      `rate_limit.refused ${seen.limited}`,
    ]);
    assert.deepEqual(query('--principal', 'viewer', '--outcome', 'denied', '--since', '1h'), [
      `policy.decision ${seen.sum}`,
    ]);
    const echo = cli(['audit', 'query', '--config', s.config, '--tool', 'everything.echo', '--json']);
    assert.equal(echo.stdout.trim().split('\n').length, 1, echo.stdout);
  });

  it('names the first altered record when one stored event is changed', () => {
    const sqlite = new Database(s.db);
    const victim = sqlite
      .prepare("SELECT seq, json FROM audit_events WHERE type = 'policy.decision' ORDER BY seq LIMIT 1")
      .get() as { seq: number; json: string };
    sqlite
      .prepare('UPDATE audit_events SET json = ? WHERE seq = ?')
      .run(victim.json.replace('"allowed"', '"denied"'), victim.seq);
    sqlite.close();
    const verify = cli(['audit', 'verify', '--config', s.config]);
    assert.equal(verify.status, 1);
    assert.match(verify.stderr, new RegExp(`^audit chain BROKEN at record #${victim.seq}:`));
    assert.match(verify.stderr, new RegExp(`${victim.seq - 1} record\\(s\\) before it are intact`));
  });

  it('records keys created and revoked with the CLI', () => {
    const created = cli([
      'keys',
      'create',
      '--name',
      'deploy-bot',
      '--scopes',
      'tools:read',
      '--config',
      s.config,
    ]);
    assert.equal(created.status, 0, created.stderr);
    const key = created.stdout.trim();
    const id = /Created (key_\S+)/.exec(created.stderr)?.[1] as string;
    assert.equal(cli(['keys', 'revoke', id, '--config', s.config]).status, 0);
    const events = storedEvents(s.db).filter((e) => e.type.startsWith('admin.'));
    assert.deepEqual(
      events.map((e) => [e.type, 'keyId' in e ? e.keyId : '']),
      [
        ['admin.key_created', id],
        ['admin.key_revoked', id],
      ],
    );
    const first = events[0];
    assert.equal(first?.type, 'admin.key_created');
    assert.equal(first.actor.via, 'cli');
    assert.deepEqual(first.scopes, ['tools:read']);
    assert.ok(!JSON.stringify(events).includes(key), 'the key itself is never recorded');
  });
});

describe('portcullis start: SIGTERM under load', () => {
  let s: Setup;
  let child: ChildProcess | undefined;

  before(async () => {
    s = await setup({ load: ['*'] }, (db) =>
      [
        'listen: { host: 127.0.0.1, port: 0 }',
        `store: { sqlite: ${JSON.stringify(db)} }`,
        'auth: { apiKeys: {} }',
        'upstreams:',
        `  everything: { command: ${JSON.stringify(NODE)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }`,
        'limits: { perIp: 100000/min, perPrincipal: 100000/min, streamsPerSession: 100, concurrency: { perPrincipal: 1000, perUpstream: 1000 } }',
      ].join('\n'),
    );
  });
  after(() => {
    if (child?.pid && child.exitCode === null) child.kill('SIGKILL');
    if (s) rmSync(s.dir, { recursive: true, force: true });
  });

  it('stores every event it wrote to stdout, for calls answered and calls cut short alike', async () => {
    child = spawn(NODE, [CLI, 'start', '--config', s.config], {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    const base = await new Promise<string>((ok, fail) => {
      const timer = setInterval(() => {
        const m = /"listen":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stdout);
        if (m) {
          clearInterval(timer);
          ok(m[1] as string);
        }
      }, 50);
      setTimeout(() => fail(new Error(`the gateway did not start: ${stderr}`)), 15_000).unref();
    });
    const url = `${base}/mcp`;
    const auth = { authorization: `Bearer ${s.keys.load?.key}` };
    const session = await openRawSession(url, auth);
    const h = { ...auth, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL };

    // Waves of calls; SIGTERM lands while the last wave is in flight.
    let answered = 0;
    const wave = (from: number) =>
      Array.from({ length: 40 }, (_, i) =>
        post(url, call(from + i, 'echo', { message: `m${from + i}` }), h).then(
          (r) => {
            if (r.status === 200) answered++;
          },
          () => {},
        ),
      );
    for (let w = 0; w < 4; w++) await Promise.all(wave(100 + w * 40));
    const last = wave(1000);
    child.kill('SIGTERM');
    await Promise.all(last);
    assert.equal(await exited, 0, stderr);

    const logged = loggedEvents(stdout.split('\n').filter((l) => l.startsWith('{')));
    const stored = storedEvents(s.db);
    assert.ok(answered >= 160, `the first waves were answered (${answered})`);
    const decisions = stored.filter((e) => e.type === 'policy.decision');
    assert.ok(
      decisions.length >= answered,
      `${decisions.length} decisions stored for ${answered} answered calls`,
    );
    assert.deepEqual(
      stored.map((e) => `${e.type} ${e.requestId ?? ''}`),
      logged.map((e) => `${e.type} ${e.requestId ?? ''}`),
      'every event written to stdout reached the store',
    );
    assert.equal(stored.at(-1)?.type, 'gateway.stop');
    const stop = stored.at(-1);
    assert.ok(stop?.type === 'gateway.stop' && stop.reason === 'SIGTERM' && stop.auditDropped === 0);
    assert.equal(cli(['audit', 'verify', '--config', s.config]).status, 0);
  });
});
