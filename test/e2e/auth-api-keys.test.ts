/**
 * API keys end to end: keys made by the ApiKeys class, by the CLI and by the bootstrap, used by the real SDK
 * client through a real gateway; every way a key is refused, with the exact status, code and challenge; what
 * the store and `keys list` hold; and that a client's key never travels on to an HTTP upstream.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ApiKeys, generateApiKey, VERIFIED_KEY_TTL_MS } from '../../src/auth/api-keys.js';
import { parseConfig } from '../../src/config/load.js';
import { type OpenedStore, openStore } from '../../src/store/open.js';
import {
  type AuthGateway,
  assertNoUpstreamContact,
  assertRefusal,
  bearerChallenge,
  cli,
  connectWith,
  echoWith,
  initialize,
  LeakWatch,
  recordingProxy,
  startAuthGateway,
  tempDir,
} from '../helpers/auth.js';
import { connect, INITIALIZE } from '../helpers/client.js';
import { EVERYTHING, eventually, stdioUpstream } from '../helpers/gateway.js';
import { freePort, type RunningProcess, startNode } from '../helpers/processes.js';

const KEY_FORMAT = /^pcl_[A-Za-z0-9_-]{43}$/;
const watch = new LeakWatch();

describe('API keys through a running gateway', () => {
  const tmp = tempDir('pcl-keys-');
  const db = join(tmp.dir, 'p.db');
  const configFile = join(tmp.dir, 'portcullis.yaml');
  const yaml = `listen: { host: 127.0.0.1, port: 0 }
store: { sqlite: ${JSON.stringify(db)} }
auth:
  apiKeys: { bootstrapAdmin: true }
upstreams:
${stdioUpstream('everything', EVERYTHING, ['stdio'])}`;
  let gw: AuthGateway;
  let opened: OpenedStore;
  let keys: ApiKeys;
  /** Every key this suite made, for the store-bytes and `keys list` checks. */
  const made: string[] = [];

  const mcp = () => `${gw.url}/mcp`;
  const metadataFor = (path: string) => `${gw.url}/.well-known/oauth-protected-resource${path}`;
  const create = async (name: string, expiresAt: number | null = null, scopes = ['*']) => {
    const { key, record } = await keys.create({ name, scopes, expiresAt });
    made.push(key);
    watch.secret(key, record.hash);
    return { key, record };
  };
  const record = async (id: string) => (await keys.list()).find((r) => r.id === id);

  before(async () => {
    writeFileSync(configFile, yaml);
    gw = await startAuthGateway(yaml, {}, tmp.dir);
    watch.watch('gateway', gw.logs);
    opened = await openStore(parseConfig(yaml, tmp.dir, {}).config, tmp.dir);
    keys = new ApiKeys(opened.store.apiKeys, opened.secret);
    if (gw.bootstrapKey) {
      made.push(gw.bootstrapKey);
      watch.secret(gw.bootstrapKey);
    }
  });

  after(async () => {
    await gw?.close();
    await keys?.close();
    await opened?.store.close();
    tmp.cleanup();
  });

  it('bootstraps one admin key on the first start, which works; a second start on the store creates none', async () => {
    const key = gw.bootstrapKey;
    assert.ok(key !== undefined && KEY_FORMAT.test(key), String(key));
    const records = await keys.list();
    assert.equal(records.length, 1);
    assert.equal(records[0]?.name, 'admin');
    assert.deepEqual(records[0]?.scopes, ['*']);
    assert.equal(records[0]?.expiresAt, null);
    assert.ok(gw.logs.some((l) => l.includes('created the first admin API key')));
    await echoWith(mcp(), { authorization: `Bearer ${key}` }, 'bootstrap');

    const second = await startAuthGateway(yaml, {}, tmp.dir);
    watch.watch('second gateway', second.logs);
    try {
      assert.equal(second.bootstrapKey, undefined);
      assert.equal((await keys.list()).length, 1, 'no second admin key');
      assert.ok(!second.logs.some((l) => l.includes('created the first admin API key')));
    } finally {
      await second.close();
    }
  });

  it('creates secret.key beside the store, readable by its owner only', () => {
    const secretFile = join(tmp.dir, 'secret.key');
    assert.equal(statSync(secretFile).mode & 0o777, 0o600);
    assert.equal(statSync(db).mode & 0o777, 0o600);
    assert.ok(readFileSync(secretFile, 'utf8').trim().length >= 32);
  });

  for (const path of ['/mcp', '/servers/everything/mcp']) {
    it(`refuses ${path} without credentials: 401 pointing at its RFC 9728 metadata, which is served`, async () => {
      await assertNoUpstreamContact(gw, async () => {
        const r = await initialize(`${gw.url}${path}`);
        assertRefusal(r, 401, 'unauthorized', 'authentication is required');
        assert.equal(r.headers.get('www-authenticate'), `Bearer resource_metadata="${metadataFor(path)}"`);
        await assert.rejects(connect(`${gw.url}${path}`));
      });
      const res = await fetch(metadataFor(path));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const metadata = (await res.json()) as Record<string, unknown>;
      assert.equal(metadata.resource, `${gw.url}${path}`);
      assert.deepEqual(metadata.bearer_methods_supported, ['header']);
      assert.equal(metadata.resource_name, 'Portcullis: everything');
      assert.equal(metadata.authorization_servers, undefined, 'API keys need no authorization server');
    });
  }

  it('accepts a key made by ApiKeys as Authorization: Bearer and as X-API-Key, on both endpoints', async () => {
    const { key, record: created } = await create('laptop', null, ['tools:read', 'files:*']);
    assert.match(key, KEY_FORMAT);
    assert.deepEqual(await keys.verify(key), {
      id: `api-key:${created.id}`,
      kind: 'api-key',
      name: 'laptop',
      scopes: ['tools:read', 'files:*'],
      roles: [],
    });
    await echoWith(mcp(), { authorization: `Bearer ${key}` }, 'bearer');
    await echoWith(`${gw.url}/servers/everything/mcp`, { 'x-api-key': key }, 'x-api-key');
    await echoWith(mcp(), { authorization: `bearer ${key}` }, 'lower-case scheme');
  });

  it('accepts a key made by `keys create`, which prints the key alone on stdout', async () => {
    const r = cli([
      'keys',
      'create',
      '--name',
      'ci',
      '--scopes',
      'tools:read,everything:write',
      '--expires',
      '30d',
      '--config',
      configFile,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^pcl_[A-Za-z0-9_-]{43}\n$/);
    const key = r.stdout.trim();
    made.push(key);
    watch.secret(key);
    assert.match(
      r.stderr,
      /^Created key_[0-9a-f]{12} "ci" with scopes \[tools:read, everything:write\], expires \d{4}-/,
    );
    assert.ok(!r.stderr.includes(key), 'the key is on stdout only');
    const stored = (await keys.list()).find((k) => k.name === 'ci');
    assert.ok(stored);
    watch.secret(stored.hash);
    assert.deepEqual(stored.scopes, ['tools:read', 'everything:write']);
    assert.ok(Math.abs((stored.expiresAt ?? 0) - (Date.now() + 30 * 86_400_000)) < 60_000);
    await echoWith(mcp(), { authorization: `Bearer ${key}` }, 'cli key');
  });

  it('refuses a malformed key with 401 invalid_token', async () => {
    await assertNoUpstreamContact(gw, async () => {
      const malformed: Record<string, string>[] = [
        { authorization: 'Bearer pcl_short' },
        { 'x-api-key': 'pcl_short' },
        { authorization: `Bearer ${generateApiKey()}x` },
      ];
      for (const headers of malformed) {
        const r = await initialize(mcp(), headers);
        assertRefusal(r, 401, 'invalid_token', 'the API key is malformed');
        assert.equal(
          r.headers.get('www-authenticate'),
          bearerChallenge(metadataFor('/mcp'), 'invalid_token', 'the API key is malformed'),
        );
      }
      const r = await initialize(mcp(), { 'x-api-key': 'not-a-portcullis-key' });
      assertRefusal(r, 400, 'invalid_auth_request', 'X-API-Key must hold one Portcullis API key (pcl_…)');
    });
  });

  it('refuses an unknown key with 401 invalid_token', async () => {
    const unknown = generateApiKey();
    watch.secret(unknown);
    await assertNoUpstreamContact(gw, async () => {
      const sent: Record<string, string>[] = [
        { authorization: `Bearer ${unknown}` },
        { 'x-api-key': unknown },
      ];
      for (const headers of sent) {
        const r = await initialize(mcp(), headers);
        assertRefusal(r, 401, 'invalid_token', 'the API key is not known');
        assert.equal(
          r.headers.get('www-authenticate'),
          bearerChallenge(metadataFor('/mcp'), 'invalid_token', 'the API key is not known'),
        );
        assert.ok(!r.text.includes(unknown));
      }
    });
  });

  it('binds a session to the key that opened it: another valid key cannot use it', async () => {
    const owner = await create('session-owner');
    const intruder = await create('session-intruder');
    const c = await connectWith(mcp(), { authorization: `Bearer ${owner.key}` });
    try {
      const sessionId = c.transport.sessionId as string;
      assert.ok(sessionId);
      const r = await initialize(
        mcp(),
        {
          authorization: `Bearer ${intruder.key}`,
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-11-25',
        },
        { jsonrpc: '2.0', id: 7, method: 'tools/list' },
      );
      assertRefusal(r, 404, 'session_not_found', 'session not found or ended');
      await c.client.callTool({ name: 'echo', arguments: { message: 'still mine' } });
    } finally {
      await c.close();
    }
  });

  it('refuses a key revoked with `keys revoke` while the gateway runs, on its first request after the bound', async () => {
    const { key, record: created } = await create('to-revoke');
    const c = await connectWith(mcp(), { authorization: `Bearer ${key}` });
    try {
      await c.client.callTool({ name: 'echo', arguments: { message: 'before' } });
      const r = cli(['keys', 'revoke', created.id, '--config', configFile]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `revoked ${created.id}\n`);
      // The gateway rereads a key it has just seen once VERIFIED_KEY_TTL_MS have passed (the exact
      // bound, with the clock injected: test/unit/api-keys.test.ts).
      await new Promise((r) => setTimeout(r, VERIFIED_KEY_TTL_MS));
      await assertNoUpstreamContact(gw, async () => {
        const refused = await initialize(mcp(), { authorization: `Bearer ${key}` });
        assertRefusal(refused, 401, 'invalid_token', 'the API key has been revoked');
      });
      // The session opened before the revocation does not outlive it either.
      await assert.rejects(c.client.callTool({ name: 'echo', arguments: { message: 'after' } }));
    } finally {
      await c.client.close();
    }
    const again = cli(['keys', 'revoke', created.id, '--config', configFile]);
    assert.equal(again.status, 1);
    assert.equal(again.stdout, '');
    assert.match(
      again.stderr,
      new RegExp(`no active key with id ${created.id} — see: npx portcullis keys list`),
    );
  });

  it('refuses an expired key: expiresAt in the past, or a CLI key whose lifetime ran out', async () => {
    const { key } = await create('expired', Date.now() - 1000);
    const r = cli(['keys', 'create', '--name', 'brief', '--expires', '1ms', '--config', configFile]);
    assert.equal(r.status, 0, r.stderr);
    const brief = r.stdout.trim();
    made.push(brief);
    watch.secret(brief);
    const stored = (await keys.list()).find((k) => k.name === 'brief');
    assert.ok(stored?.expiresAt && (await eventually(() => Date.now() > (stored.expiresAt as number))));
    await assertNoUpstreamContact(gw, async () => {
      for (const k of [key, brief]) {
        const refused = await initialize(mcp(), { authorization: `Bearer ${k}` });
        assertRefusal(refused, 401, 'invalid_token', 'the API key has expired');
      }
    });
  });

  it('refuses a key in the URL query with 400, saying why and never echoing the key', async () => {
    const { key } = await create('in-query');
    await assertNoUpstreamContact(gw, async () => {
      for (const [name, extra] of [
        ['api_key', {}],
        ['API_KEY', {}],
        ['access_token', {}],
        ['session', {}],
        ['api_key', { authorization: `Bearer ${key}` }],
      ] as const) {
        const r = await initialize(`${mcp()}?${name}=${key}`, extra);
        assertRefusal(r, 400, 'invalid_auth_request', `credentials are refused in the URL query ("${name}")`);
        assert.match(r.message, /revoke the key you just exposed/);
        assert.ok(!r.text.includes(key), 'the body does not echo the key');
        assert.ok(!(r.headers.get('www-authenticate') ?? '').includes(key), 'nor the challenge');
      }
    });
  });

  it('refuses X-API-Key together with Authorization (400), and an unsupported scheme (400)', async () => {
    const { key } = await create('two-headers');
    await assertNoUpstreamContact(gw, async () => {
      const both = await initialize(mcp(), { 'x-api-key': key, authorization: `Bearer ${key}` });
      assertRefusal(
        both,
        400,
        'invalid_auth_request',
        'send one credential: either X-API-Key or Authorization, not both',
      );
      const digest = await initialize(mcp(), { authorization: 'Digest username="alice", nonce="1"' });
      const message = 'the Authorization scheme "digest" is not supported — use Bearer or Basic';
      assertRefusal(digest, 400, 'invalid_auth_request', message);
      assert.equal(
        digest.headers.get('www-authenticate'),
        bearerChallenge(metadataFor('/mcp'), 'invalid_request', message),
      );
    });
  });

  it('never echoes a key sent without its scheme (Authorization: pcl_…) in the answer or the log', async () => {
    // Kept out of the file-wide leak watch so that this one defect fails this one test.
    const { key } = await keys.create({ name: 'no-scheme', scopes: ['*'], expiresAt: null });
    made.push(key);
    await assertNoUpstreamContact(gw, async () => {
      const r = await initialize(mcp(), { authorization: key });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.code, 'invalid_auth_request');
      // Compared without case: echoing the key lower-cased still gives most of it away.
      const leaked = (text: string) => text.toLowerCase().includes(key.slice(4).toLowerCase());
      assert.ok(!leaked(r.text), `the answer echoes the key: ${r.message}`);
      assert.ok(!leaked(r.headers.get('www-authenticate') ?? ''), 'the challenge echoes the key');
    });
    assert.ok(
      !gw.logs.some((line) => line.toLowerCase().includes(key.slice(4).toLowerCase())),
      'the key reached the log',
    );
  });

  it('`keys list` shows each key and its status, never a key or its hash', async () => {
    const active = await create('list-active');
    const revoked = await create('list-revoked');
    const expired = await create('list-expired', Date.now() - 60_000);
    assert.equal(await keys.revoke(revoked.record.id), true);
    const r = cli(['keys', 'list', '--config', configFile]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID\s+NAME\s+SCOPES\s+ROLES\s+CREATED\s+EXPIRES\s+LAST USED\s+STATUS$/);
    const lineOf = (id: string) => lines.find((l) => l.startsWith(id)) ?? '';
    assert.match(lineOf(active.record.id), /\sactive$/);
    assert.match(lineOf(revoked.record.id), /\srevoked$/);
    assert.match(lineOf(expired.record.id), /\sexpired$/);
    const records = await keys.list();
    assert.equal(lines.length, records.length + 1, 'one line per key');
    for (const rec of records) {
      assert.ok(!r.stdout.includes(rec.hash), `the hash of ${rec.id} is listed`);
      assert.ok(!r.stdout.includes(rec.hash.slice(0, 16)), `part of the hash of ${rec.id} is listed`);
    }
    for (const key of made) assert.ok(!r.stdout.includes(key.slice(4, 20)), 'a key is listed');
  });

  it('records last use in batches: after ApiKeys.flush(), and when a gateway closes', async () => {
    const direct = await create('flushed');
    const t0 = Date.now();
    await keys.verify(direct.key);
    assert.equal((await record(direct.record.id))?.lastUsedAt, null, 'not written per request');
    await keys.flush();
    const used = (await record(direct.record.id))?.lastUsedAt ?? 0;
    assert.ok(used >= t0 && used <= Date.now());

    const viaGateway = await create('gateway-used');
    const second = await startAuthGateway(yaml, {}, tmp.dir);
    watch.watch('third gateway', second.logs);
    try {
      assert.equal(second.bootstrapKey, undefined);
      const t1 = Date.now();
      const ok = await initialize(`${second.url}/mcp`, { 'x-api-key': viaGateway.key });
      assert.equal(ok.status, 200, ok.text);
      assert.equal((await record(viaGateway.record.id))?.lastUsedAt, null);
      await second.close();
      const at = (await record(viaGateway.record.id))?.lastUsedAt ?? 0;
      assert.ok(at >= t1 && at <= Date.now(), `lastUsedAt ${at}`);
    } finally {
      await second.close();
    }
  });

  it('stores only the HMAC of each key under secret.key: no key appears anywhere in the store files', async () => {
    const { key, record: created } = await create('bytes');
    const secret = readFileSync(join(tmp.dir, 'secret.key'), 'utf8').trim();
    const sqlite = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const row = sqlite.prepare('SELECT * FROM api_keys WHERE id = ?').get(created.id) as Record<
        string,
        unknown
      >;
      assert.deepEqual(Object.keys(row).sort(), [
        'created_at',
        'expires_at',
        'hash',
        'id',
        'last_used_at',
        'name',
        'revoked_at',
        'roles',
        'scopes',
      ]);
      assert.equal(row.hash, createHmac('sha256', secret).update(key).digest('hex'));
      assert.equal(row.scopes, '["*"]');
    } finally {
      sqlite.close();
    }
    const files = [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f));
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    assert.ok(bytes.length > 0);
    for (const k of made) {
      assert.equal(bytes.indexOf(k), -1, 'the key is in the store');
      assert.equal(bytes.indexOf(k.slice(4)), -1, 'the key body is in the store');
      assert.equal(
        bytes.indexOf(Buffer.from(k.slice(4), 'base64url')),
        -1,
        'the raw key bytes are in the store',
      );
    }
  });
});

describe('API keys with an HTTP upstream: no credential passthrough', () => {
  const tmp = tempDir('pcl-keys-http-');
  let upstream: RunningProcess;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let gw: AuthGateway;
  let key: string;

  before(async () => {
    const port = await freePort();
    upstream = await startNode([EVERYTHING, 'streamableHttp'], /listening on port/, { PORT: String(port) });
    proxy = await recordingProxy(port);
    const yaml = `listen: { host: 127.0.0.1, port: 0 }
store: { sqlite: ${JSON.stringify(join(tmp.dir, 'p.db'))} }
auth: { apiKeys: { bootstrapAdmin: true } }
upstreams:
  everything: { url: "http://127.0.0.1:${proxy.port}/mcp" }
`;
    gw = await startAuthGateway(yaml, {}, tmp.dir);
    watch.watch('http gateway', gw.logs);
    key = gw.bootstrapKey as string;
    watch.secret(key);
  });

  after(async () => {
    await gw?.close();
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    await upstream?.stop();
    tmp.cleanup();
  });

  it('never forwards the client’s Authorization or X-API-Key to the upstream', async () => {
    await echoWith(`${gw.url}/mcp`, { authorization: `Bearer ${key}` }, 'bearer over http');
    await echoWith(`${gw.url}/mcp`, { 'x-api-key': key }, 'x-api-key over http');
    assert.ok(proxy.seen.filter((s) => s.method === 'POST').length >= 4, 'the upstream was reached');
    for (const seen of proxy.seen) {
      assert.equal(seen.headers.authorization, undefined);
      assert.equal(seen.headers['x-api-key'], undefined);
      assert.ok(!JSON.stringify(seen).includes(key.slice(4)), 'the key reached the upstream');
    }
  });

  it('does not reach the upstream for a refused request', async () => {
    const before = proxy.seen.length;
    const r = await initialize(`${gw.url}/mcp`, { authorization: `Bearer ${generateApiKey()}` });
    assertRefusal(r, 401, 'invalid_token', 'the API key is not known');
    const none = await initialize(`${gw.url}/mcp`, {}, INITIALIZE);
    assertRefusal(none, 401, 'unauthorized', 'authentication is required');
    assert.equal(proxy.seen.length, before);
  });
});

describe('API keys: logs', () => {
  it('no gateway log line holds an API key or its hash', () => {
    assert.ok(watch.size >= 10);
    watch.assertClean();
  });
});
