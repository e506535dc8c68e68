/**
 * The audit log on the request path: redacts, writes one stdout line per event at once, queues for
 * the store and writes it in batches; never throws or waits; bounded when the store is down, with
 * the gap recorded in the chain; flushes on close (a real gateway on SIGTERM: test/e2e/audit.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuditLog, describeEvent, jsonSink, prettySink, stdoutSink } from '../../src/audit/audit-log.js';
import type { AuditEvent, AuditEventInput, PolicyDecisionEvent } from '../../src/audit/events.js';
import { REDACTED, Redactor } from '../../src/audit/redact.js';
import { createLogger } from '../../src/log/logger.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { AuditStore } from '../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'pcl-audit-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(dir, `l${++n}.db`);

const SECRET = 'upstream-secret-123456';
const redactor = new Redactor([SECRET]);

/** A pino logger writing into an array. */
function capture() {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    pii: false,
    destination: { write: (l: string) => void lines.push(l) },
  });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, parsed };
}

/** An AuditStore in memory whose availability the test switches. */
function fakeStore() {
  const batches: AuditEvent[][] = [];
  const state = { down: false };
  const store: AuditStore = {
    async append(events) {
      if (state.down) throw new Error('SQLITE_BUSY: database is locked');
      batches.push([...events]);
    },
    async query() {
      return [];
    },
    async *iterate() {},
    async verifyChain() {
      return { ok: true, count: 0, head: null };
    },
  };
  return { store, batches, state, all: () => batches.flat() };
}

const principal = {
  id: 'jwt:https://idp.example.com/#alice@example.com',
  kind: 'jwt',
  name: 'alice@example.com',
} as const;

function call(i: number, extra: Partial<PolicyDecisionEvent> = {}): AuditEventInput {
  return {
    type: 'policy.decision',
    requestId: `req-${i}`,
    principal,
    clientIp: '127.0.0.1',
    upstream: 'everything',
    method: 'tools/call',
    target: { kind: 'tool', name: 'echo' },
    outcome: 'allowed',
    rule: 'class read',
    latencyMs: 2,
    upstreamStatus: 'ok',
    ...extra,
  };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('AuditLog.record', () => {
  it('writes one redacted JSON line per event at once, under "audit", with time filled in', () => {
    const { logger, parsed } = capture();
    const audit = new AuditLog({
      redactor,
      sink: jsonSink(logger),
      now: () => Date.parse('2026-11-23T10:00:00Z'),
    });
    audit.record({
      type: 'auth.failure',
      requestId: 'req-1',
      method: 'api-key',
      reason: 'invalid_token',
      message: `the API key pcl_AbCdEf0123456789xyz is not known (upstream said ${SECRET}, mail ops@example.com)`,
      status: 401,
      clientIp: '203.0.113.7',
      upstream: 'everything',
      endpoint: '/mcp',
    });
    const [line] = parsed();
    assert.equal(line?.msg, 'audit auth.failure');
    assert.equal(line?.service, 'portcullis');
    assert.deepEqual(line?.audit, {
      type: 'auth.failure',
      time: '2026-11-23T10:00:00.000Z',
      requestId: 'req-1',
      method: 'api-key',
      reason: 'invalid_token',
      message: `the API key ${REDACTED} is not known (upstream said ${REDACTED}, mail ${REDACTED})`,
      status: 401,
      clientIp: '203.0.113.7',
      upstream: 'everything',
      endpoint: '/mcp',
    });
    assert.equal(audit.recorded, 1);
  });

  it('keeps who acted readable (principal, Basic user name, actor) but masks credentials in it', () => {
    const { logger, parsed } = capture();
    const audit = new AuditLog({ redactor, sink: jsonSink(logger) });
    audit.record(call(1, { principal: { ...principal, clientId: 'app pcl_AbCdEf0123456789' } }));
    audit.record({
      type: 'auth.failure',
      method: 'basic',
      reason: 'invalid_token',
      message: 'wrong user name or password',
      status: 401,
      clientIp: '10.0.0.1',
      upstream: 'files',
      endpoint: '/servers/files/mcp',
      username: 'bob@example.com',
    });
    audit.record({
      type: 'admin.key_created',
      actor: { via: 'cli', user: 'ops@example.com' },
      keyId: 'key_1',
      name: 'for carol@example.com',
      scopes: ['*'],
      roles: [],
      expiresAt: null,
    });
    const [decision, failure, admin] = parsed().map((l) => l.audit as Record<string, unknown>);
    assert.deepEqual(decision?.principal, { ...principal, clientId: `app ${REDACTED}` });
    assert.equal(failure?.username, 'bob@example.com');
    assert.deepEqual(admin?.actor, { via: 'cli', user: 'ops@example.com' });
    assert.equal(admin?.name, `for ${REDACTED}`, 'other fields are fully redacted');
  });

  it('drops arguments and results unless the tool is opted in, and redacts and caps them when it is', () => {
    const { logger, parsed } = capture();
    const audit = new AuditLog({
      redactor,
      sink: jsonSink(logger),
      logArguments: ['everything.echo', 'files.read_*'],
      maxPayloadChars: 200,
    });
    const args = { message: 'card 4111 1111 1111 1111', token: 'abc', path: '/srv/a' };
    audit.record(
      call(1, { arguments: args, result: { content: [{ type: 'text', text: 'hi alice@example.com' }] } }),
    );
    audit.record(
      call(2, { target: { kind: 'tool', name: 'get-env' }, arguments: args, result: { secret: 1 } }),
    );
    audit.record(
      call(3, {
        upstream: 'files',
        target: { kind: 'tool', name: 'read_text_file' },
        result: { text: 'x'.repeat(500) },
      }),
    );
    audit.record(
      call(4, { upstream: 'files', target: { kind: 'resource', name: 'read_me' }, arguments: args }),
    );
    const events = parsed().map((l) => l.audit as Record<string, unknown>);
    assert.deepEqual(events[0]?.arguments, { message: `card ${REDACTED}`, token: REDACTED, path: '/srv/a' });
    assert.deepEqual(events[0]?.result, { content: [{ type: 'text', text: `hi ${REDACTED}` }] });
    assert.ok(!('arguments' in (events[1] ?? {})) && !('result' in (events[1] ?? {})), 'not opted in');
    assert.match(String(events[2]?.result), /^\[TRUNCATED: \d+ characters\]$/);
    assert.ok(!('arguments' in (events[3] ?? {})), 'only tools are opted in');
    assert.equal(audit.logsArgumentsOf('files', 'read_multiple_files'), true);
    assert.equal(audit.logsArgumentsOf('files', 'write_file'), false);
  });

  it('never throws: a failing sink, a failing metrics hook, a cyclic argument, a failing store', async () => {
    const fake = fakeStore();
    fake.state.down = true;
    const { logger, parsed } = capture();
    const audit = new AuditLog({
      redactor,
      sink: {
        write() {
          throw new Error('stdout closed');
        },
      },
      store: fake.store,
      logger,
      onEvent() {
        throw new Error('metrics bug');
      },
      logArguments: ['*'],
      flushInterval: 5,
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.doesNotThrow(() => audit.record(call(1, { arguments: cyclic })));
    await tick(30);
    assert.equal(audit.queueDepth, 1, 'kept for a retry');
    assert.ok(parsed().some((l) => l.msg === 'the audit stdout sink failed'));
    assert.ok(parsed().some((l) => l.msg === 'could not write audit events to the store — retrying'));
    fake.state.down = false;
    await audit.close();
    assert.equal(fake.all().length, 1);
    assert.deepEqual((fake.all()[0] as PolicyDecisionEvent).arguments, { self: '[Circular]' });
  });
});

describe('AuditLog: the batched writer', () => {
  it('writes in batches of batchSize, one append per batch', async () => {
    const fake = fakeStore();
    const audit = new AuditLog({ redactor, store: fake.store, batchSize: 100, flushInterval: 10_000 });
    for (let i = 0; i < 250; i++) audit.record(call(i));
    assert.equal(audit.queueDepth, 250, 'record never writes to the store itself');
    await tick(20);
    // Reaching 100 starts the writer at once; it drains the queue in batches of at most 100.
    assert.deepEqual(
      fake.batches.map((b) => b.length),
      [100, 100, 50],
    );
    assert.equal(audit.queueDepth, 0);
    await audit.close();
    assert.equal(fake.batches.length, 3);
    assert.deepEqual(
      fake.all().map((e) => e.requestId),
      Array.from({ length: 250 }, (_, i) => `req-${i}`),
    );
    assert.equal(audit.stored, 250);
  });

  it('flushes a partial batch after flushInterval', async () => {
    const fake = fakeStore();
    const audit = new AuditLog({ redactor, store: fake.store, flushInterval: 30 });
    audit.record(call(1));
    audit.record(call(2));
    await tick(5);
    assert.equal(fake.batches.length, 0);
    await tick(80);
    assert.deepEqual(
      fake.batches.map((b) => b.length),
      [2],
    );
    assert.equal(audit.queueDepth, 0);
    await audit.close();
  });

  it('writes a chain that verifies, into SQLite', async () => {
    const store = openSqliteStore(freshFile());
    const audit = new AuditLog({ redactor, store: store.audit, batchSize: 64, flushInterval: 5 });
    for (let i = 0; i < 500; i++)
      audit.record(call(i, i % 3 === 0 ? { outcome: 'denied', rule: 'class write' } : {}));
    await audit.close();
    const verdict = await store.audit.verifyChain();
    assert.equal(verdict.ok && verdict.count, 500);
    assert.equal((await store.audit.query({ outcome: 'denied' })).length, 167);
    await store.close();
  });
});

describe('AuditLog: when the store is down', () => {
  it('bounds the queue, counts what it drops, warns once, and records the gap in the chain when the store is back', async () => {
    const fake = fakeStore();
    fake.state.down = true;
    const { logger, parsed } = capture();
    let now = Date.parse('2026-11-23T10:00:00Z');
    const audit = new AuditLog({
      redactor,
      sink: jsonSink(logger),
      store: fake.store,
      logger,
      maxQueue: 10,
      flushInterval: 5,
      now: () => now,
    });
    for (let i = 0; i < 25; i++) {
      now += 1000;
      audit.record(call(i));
    }
    assert.equal(audit.queueDepth, 10);
    assert.equal(audit.dropped, 15);
    assert.equal(
      parsed().filter((l) => String(l.msg).startsWith('audit policy.decision')).length,
      25,
      'stdout has all',
    );
    assert.equal(
      parsed().filter((l) => String(l.msg).startsWith('the audit store is not keeping up')).length,
      1,
    );
    await tick(20);
    fake.state.down = false;
    await audit.flush();
    const stored = fake.all();
    assert.equal(stored.length, 11);
    assert.deepEqual(stored[0], {
      type: 'audit.dropped',
      time: new Date(now).toISOString(),
      count: 15,
      from: '2026-11-23T10:00:11.000Z',
      until: '2026-11-23T10:00:25.000Z',
    });
    assert.deepEqual(
      stored.slice(1).map((e) => e.requestId),
      Array.from({ length: 10 }, (_, i) => `req-${i}`),
    );
    await audit.close();
  });

  it('retries with a growing delay and then writes everything', async () => {
    const fake = fakeStore();
    fake.state.down = true;
    const audit = new AuditLog({ redactor, store: fake.store, flushInterval: 5 });
    audit.record(call(1));
    await tick(60);
    fake.state.down = false;
    await tick(200);
    assert.equal(fake.all().length, 1);
    assert.equal(audit.queueDepth, 0);
    await audit.close();
  });

  it('close() gives up on a store that stays down, counting the events as dropped', async () => {
    const fake = fakeStore();
    fake.state.down = true;
    const { logger, parsed } = capture();
    const audit = new AuditLog({ redactor, store: fake.store, logger, flushInterval: 10_000 });
    for (let i = 0; i < 3; i++) audit.record(call(i));
    await audit.close();
    assert.equal(audit.queueDepth, 0);
    assert.equal(audit.dropped, 3);
    assert.ok(parsed().some((l) => String(l.msg).includes('refused the last events at shutdown')));
    audit.record(call(9));
    assert.equal(audit.dropped, 4, 'after close, events go to stdout only');
  });
});

describe('AuditLog: rate-limit refusals are coalesced', () => {
  const refusal = (ip: string, i: number): AuditEventInput => ({
    type: 'rate_limit.refused',
    requestId: `req-${i}`,
    budget: 'ip',
    code: 'rate_limited',
    clientIp: ip,
    upstream: 'everything',
    retryAfter: 30,
  });

  it('records the first refusal per source and window, counts the rest for the metrics, and summarizes them', async () => {
    const fake = fakeStore();
    let now = 0;
    const seen: string[] = [];
    const audit = new AuditLog({
      redactor,
      store: fake.store,
      rateLimitWindow: 60_000,
      now: () => now,
      onEvent: (e) => seen.push(e.type),
    });
    for (let i = 0; i < 100; i++) audit.record(refusal('198.51.100.1', i));
    audit.record(refusal('198.51.100.2', 100));
    assert.equal(seen.length, 101, 'the metrics count every refusal');
    assert.equal(audit.recorded, 2);
    now = 61_000;
    audit.record(refusal('198.51.100.1', 101));
    await audit.close();
    const stored = fake.all() as Extract<AuditEvent, { type: 'rate_limit.refused' }>[];
    assert.deepEqual(
      stored.map((e) => [e.clientIp, e.requestId, e.suppressed]),
      [
        ['198.51.100.1', 'req-0', undefined],
        ['198.51.100.2', 'req-100', undefined],
        ['198.51.100.1', undefined, 99], // the summary of the first window
        ['198.51.100.1', 'req-101', undefined],
      ],
    );
  });

  it('records every refusal with rateLimitWindow 0', async () => {
    const fake = fakeStore();
    const audit = new AuditLog({ redactor, store: fake.store, rateLimitWindow: 0 });
    for (let i = 0; i < 5; i++) audit.record(refusal('198.51.100.1', i));
    await audit.close();
    assert.equal(fake.all().length, 5);
  });
});

describe('stdout sinks', () => {
  const event: AuditEvent = {
    type: 'policy.decision',
    time: '2026-11-23T10:00:00.000Z',
    requestId: 'r-1',
    principal: { id: 'api-key:key_1', kind: 'api-key', name: 'ci' },
    clientIp: '127.0.0.1',
    upstream: 'files',
    method: 'tools/call',
    target: { kind: 'tool', name: 'write_file' },
    outcome: 'denied',
    rule: 'class write',
    code: 'insufficient_scope',
  };

  it('describes an event in one readable line', () => {
    assert.equal(
      describeEvent(event),
      '2026-11-23T10:00:00.000Z  policy.decision  denied  api-key:key_1 (ci)  files.write_file  tools/call  rule=class write  req=r-1',
    );
  });

  it('is readable in a terminal and JSON otherwise', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (l: string) => written.push(l) };
    stdoutSink(capture().logger, tty).write(event);
    assert.equal(written[0], `${describeEvent(event)}\n`);
    prettySink(tty).write(event);
    assert.equal(written.length, 2);
    const { logger, parsed } = capture();
    stdoutSink(logger, { isTTY: false, write: () => true }).write(event);
    assert.deepEqual(parsed()[0]?.audit, event);
  });
});
