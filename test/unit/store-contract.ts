/**
 * The store contract: what every Store implementation must do, run against SQLite
 * (store-sqlite.test.ts) and PostgreSQL (store-postgres.test.ts). Each test gets a fresh, empty
 * store location; `second()` opens another instance on it — another connection to the SQLite file,
 * another pool on the PostgreSQL database — which is how a fleet shares a store. The races here are
 * real: both instances run their statements at once.
 *
 * To cover a new sub-store, add a `describe` block below; both back ends then run it.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AuditEvent, PolicyDecisionEvent } from '../../src/audit/events.js';
import { AccessTokens } from '../../src/oauth/access-tokens.js';
import type { OAuthClient } from '../../src/oauth/client-metadata.js';
import { type AuthorizationCodeRecord, AuthorizationCodes } from '../../src/oauth/codes.js';
import { CodeReplayError, RefreshTokenReuseError } from '../../src/oauth/errors.js';
import { s256Challenge } from '../../src/oauth/pkce.js';
import { RefreshTokens } from '../../src/oauth/refresh-tokens.js';
import { SigningKeys } from '../../src/oauth/signing-keys.js';
import type { StaticClientRecord } from '../../src/oauth/static-clients.js';
import type { GrantRecord, RefreshTokenRecord } from '../../src/oauth/token-store.js';
import { Tokens } from '../../src/oauth/tokens.js';
import type { ApiKeyRecord, Store } from '../../src/store/store.js';

/** Where one test's store lives. */
export interface StoreLocation {
  /** Opens the store there; every call is another instance (its own connection or pool). */
  open(): Promise<Store>;
  /** Removes it, once every instance is closed. */
  remove(): Promise<void>;
}

export interface StoreBackend {
  readonly name: string;
  /** A new, empty location. */
  fresh(): Promise<StoreLocation>;
}

const T0 = Date.UTC(2026, 10, 23, 10);
const MINUTE = 60_000;
const DAY = 86_400_000;
const RESOURCE = 'http://127.0.0.1:8787/mcp';
const CLIENT_ID = 'pcc_0123456789abcdef01234567';
const hex = (c: string) => c.repeat(64);

const apiKey = (overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: 'key_1',
  name: 'laptop',
  hash: hex('a'),
  scopes: ['mcp:read', 'files:*'],
  roles: ['viewer'],
  createdAt: T0,
  expiresAt: T0 + DAY,
  lastUsedAt: null,
  revokedAt: null,
  ...overrides,
});

const code = (overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord => ({
  hash: hex('c'),
  clientId: CLIENT_ID,
  redirectUri: 'http://127.0.0.1:33418/callback',
  codeChallenge: s256Challenge('v'.repeat(43)),
  resource: RESOURCE,
  scopes: ['mcp:read', 'mcp:write'],
  subject: 'alice',
  grantId: 'grt_one',
  issuedAt: T0,
  expiresAt: T0 + 5 * MINUTE,
  ...overrides,
});

const grant = (overrides: Partial<GrantRecord> = {}): GrantRecord => ({
  id: 'grt_one',
  clientId: CLIENT_ID,
  subject: 'alice',
  resource: RESOURCE,
  createdAt: T0,
  expiresAt: T0 + 30 * DAY,
  revokedAt: null,
  ...overrides,
});

const refresh = (overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  hash: hex('1'),
  grantId: 'grt_one',
  clientId: CLIENT_ID,
  subject: 'alice',
  resource: RESOURCE,
  scopes: ['mcp:read'],
  issuedAt: T0,
  expiresAt: T0 + 30 * DAY,
  usedAt: null,
  ...overrides,
});

const staticClient = (overrides: Partial<StaticClientRecord> = {}): StaticClientRecord => ({
  clientId: CLIENT_ID,
  name: 'Claude Desktop',
  secretHash: '$scrypt$not-a-real-hash',
  tokenEndpointAuthMethod: 'client_secret_basic',
  redirectUris: ['https://claude.ai/api/mcp/auth_callback', 'http://127.0.0.1/callback'],
  grantTypes: ['authorization_code', 'refresh_token'],
  scopes: ['mcp:read'],
  createdAt: T0,
  revokedAt: null,
  ...overrides,
});

const oauthClient: OAuthClient = {
  clientId: CLIENT_ID,
  kind: 'static',
  redirectUris: ['http://127.0.0.1:33418/callback'],
  tokenEndpointAuthMethod: 'none',
  grantTypes: ['authorization_code', 'refresh_token'],
};

/** An instance's view of the authorization server's token logic over its store. */
function tokensOver(store: Store) {
  const key = new Uint8Array(32).fill(7);
  const keys = new SigningKeys({ algorithm: 'HS256', secret: key });
  const accessTokens = new AccessTokens({ issuer: 'http://127.0.0.1:8787', keys, store: store.oauth.tokens });
  const refreshTokens = new RefreshTokens(store.oauth.tokens, key);
  return {
    accessTokens,
    refreshTokens,
    codes: new AuthorizationCodes(store.oauth.codes),
    tokens: new Tokens({ accessTokens, refreshTokens, store: store.oauth.tokens }),
  };
}

function decision(instance: string, n: number): PolicyDecisionEvent {
  return {
    type: 'policy.decision',
    time: new Date(T0 + n).toISOString(),
    requestId: `${instance}-${n}`,
    principal: { id: `api-key:key_${instance}`, kind: 'api-key', name: instance },
    clientIp: '127.0.0.1',
    upstream: 'everything',
    method: 'tools/call',
    target: { kind: 'tool', name: n % 2 === 0 ? 'echo' : 'write_file' },
    outcome: n % 2 === 0 ? 'allowed' : 'denied',
    rule: 'class read',
    ...(n % 2 === 0 ? { latencyMs: 3, upstreamStatus: 'ok' as const } : { code: 'insufficient_scope' }),
  };
}

export function storeContract(backend: StoreBackend): void {
  describe(`store contract (${backend.name})`, () => {
    let location: StoreLocation;
    let store: Store;
    const opened: Store[] = [];
    /** Another instance on the same store. */
    const second = async (): Promise<Store> => {
      const other = await location.open();
      opened.push(other);
      return other;
    };

    beforeEach(async () => {
      location = await backend.fresh();
      store = await location.open();
      opened.push(store);
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await location.remove();
    });

    it('answers a ping', async () => {
      assert.equal(await store.ping(), true);
    });

    it('two instances opening a new store at once both get the whole schema', async () => {
      const fresh = await backend.fresh();
      const both = await Promise.all([fresh.open(), fresh.open()]);
      try {
        await both[0].apiKeys.insert(apiKey());
        assert.equal((await both[1].apiKeys.findByHash(hex('a')))?.name, 'laptop');
        await both[1].audit.append([decision('b', 0)]);
        assert.equal((await both[0].audit.verifyChain()).ok, true);
      } finally {
        for (const s of both) await s.close();
        await fresh.remove();
      }
    });

    describe('API keys', () => {
      it('finds a key by its hash, lists and counts keys', async () => {
        await store.apiKeys.insert(apiKey());
        await store.apiKeys.insert(
          apiKey({ id: 'key_2', name: 'ci', hash: hex('b'), expiresAt: null, createdAt: T0 + 1 }),
        );
        assert.deepEqual(await store.apiKeys.findByHash(hex('a')), apiKey());
        assert.equal(await store.apiKeys.findByHash(hex('f')), undefined);
        assert.deepEqual(
          (await store.apiKeys.list()).map((k) => k.id),
          ['key_1', 'key_2'],
        );
        assert.equal(await store.apiKeys.count(), 2);
      });

      it('refuses a second key with the same hash', async () => {
        await store.apiKeys.insert(apiKey());
        await assert.rejects(store.apiKeys.insert(apiKey({ id: 'key_2' })));
      });

      it('revokes a key once; another instance sees it revoked at once', async () => {
        await store.apiKeys.insert(apiKey());
        const other = await second();
        assert.equal((await other.apiKeys.findByHash(hex('a')))?.revokedAt, null);
        assert.equal(await store.apiKeys.revoke('key_1', T0 + 5), true);
        assert.equal(await store.apiKeys.revoke('key_1', T0 + 6), false);
        assert.equal(await store.apiKeys.revoke('key_unknown', T0 + 6), false);
        assert.equal((await other.apiKeys.findByHash(hex('a')))?.revokedAt, T0 + 5);
      });

      it('records last-used times in a batch, never moving one back', async () => {
        await store.apiKeys.insert(apiKey());
        await store.apiKeys.insert(apiKey({ id: 'key_2', hash: hex('b') }));
        await store.apiKeys.touch(new Map([['key_1', T0 + 10]]));
        const other = await second();
        await other.apiKeys.touch(
          new Map([
            ['key_1', T0 + 5],
            ['key_2', T0 + 7],
            ['key_unknown', T0 + 9],
          ]),
        );
        await store.apiKeys.touch(new Map());
        assert.equal((await store.apiKeys.findByHash(hex('a')))?.lastUsedAt, T0 + 10);
        assert.equal((await store.apiKeys.findByHash(hex('b')))?.lastUsedAt, T0 + 7);
      });
    });

    describe('OAuth: authorization codes', () => {
      it('consumes a code once: the first use, then a replay, and an unknown code', async () => {
        await store.oauth.codes.insert(code());
        assert.deepEqual(await store.oauth.codes.consume(hex('c'), T0 + 1), {
          record: code(),
          firstUse: true,
        });
        assert.deepEqual(await store.oauth.codes.consume(hex('c'), T0 + 2), {
          record: code(),
          firstUse: false,
        });
        assert.equal(await store.oauth.codes.consume(hex('d'), T0 + 2), undefined);
      });

      it('two instances consuming the same codes at the same instant: exactly one wins each', async () => {
        const other = await second();
        const hashes = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(64, '0'));
        for (const hash of hashes) await store.oauth.codes.insert(code({ hash }));
        const results = await Promise.all(
          hashes.flatMap((hash) => [
            store.oauth.codes.consume(hash, T0 + 1),
            other.oauth.codes.consume(hash, T0 + 1),
          ]),
        );
        for (let i = 0; i < hashes.length; i++) {
          const pair = [results[2 * i]?.firstUse, results[2 * i + 1]?.firstUse];
          assert.deepEqual([...pair].sort(), [false, true], `code ${i}: ${pair}`);
        }
      });

      it('a code redeemed on two instances at once: one gets tokens, the other revokes the grant', async () => {
        const a = tokensOver(store);
        const b = tokensOver(await second());
        const issued = await a.codes.issue({
          clientId: CLIENT_ID,
          redirectUri: 'http://127.0.0.1:33418/callback',
          codeChallenge: s256Challenge('v'.repeat(43)),
          resource: RESOURCE,
          scopes: ['mcp:read'],
          subject: 'alice',
        });
        const redemption = {
          code: issued,
          clientId: CLIENT_ID,
          redirectUri: undefined,
          codeVerifier: 'v'.repeat(43),
          resource: undefined,
        };
        const outcomes = await Promise.allSettled([
          a.tokens.exchangeCode(a.codes, redemption, oauthClient),
          b.tokens.exchangeCode(b.codes, redemption, oauthClient),
        ]);
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o) => o.status === 'rejected');
        assert.equal(won.length, 1);
        assert.equal(lost.length, 1);
        assert.ok((lost[0] as PromiseRejectedResult).reason instanceof CodeReplayError);
        // The winner's tokens die with the grant, on both instances.
        const tokens = (won[0] as PromiseFulfilledResult<{ access_token: string; refresh_token?: string }>)
          .value;
        for (const view of [a, b]) {
          await assert.rejects(view.accessTokens.verify(tokens.access_token, RESOURCE), /revoked/);
        }
        await assert.rejects(
          b.refreshTokens.rotate({
            token: tokens.refresh_token,
            clientId: CLIENT_ID,
            resource: undefined,
            scopes: undefined,
          }),
          /revoked/,
        );
      });

      it('purges expired codes', async () => {
        await store.oauth.codes.insert(code());
        await store.oauth.codes.insert(code({ hash: hex('d'), expiresAt: T0 + 10 * MINUTE }));
        assert.equal(await store.oauth.codes.purgeExpired(T0 + 5 * MINUTE), 1);
        assert.equal(await store.oauth.codes.consume(hex('c'), T0), undefined);
        assert.equal((await store.oauth.codes.consume(hex('d'), T0))?.firstUse, true);
      });
    });

    describe('OAuth: grants and tokens', () => {
      it('keeps a grant revoked by a racing replay when the redemption saves it afterwards', async () => {
        await store.oauth.tokens.revokeGrant('grt_one', T0, T0 + DAY);
        await store.oauth.tokens.saveGrant(grant());
        assert.deepEqual(await store.oauth.tokens.findGrant('grt_one'), {
          id: 'grt_one',
          clientId: '',
          subject: '',
          resource: '',
          createdAt: T0,
          expiresAt: T0 + 30 * DAY,
          revokedAt: T0,
        });
        await store.oauth.tokens.revokeGrant('grt_one', T0 + 5, T0 + 40 * DAY);
        assert.equal((await store.oauth.tokens.findGrant('grt_one'))?.revokedAt, T0);
      });

      it('revokes every live grant of a user to a client, counting them', async () => {
        await store.oauth.tokens.saveGrant(grant());
        await store.oauth.tokens.saveGrant(grant({ id: 'grt_two' }));
        await store.oauth.tokens.saveGrant(grant({ id: 'grt_bob', subject: 'bob' }));
        assert.equal(await store.oauth.tokens.revokeGrantsOf('alice', CLIENT_ID, T0 + 1), 2);
        assert.equal(await store.oauth.tokens.revokeGrantsOf('alice', CLIENT_ID, T0 + 2), 0);
        assert.equal(await store.oauth.tokens.isAccessTokenRevoked('jti', 'grt_two'), true);
        assert.equal(await store.oauth.tokens.isAccessTokenRevoked('jti', 'grt_bob'), false);
      });

      it('rotates a refresh token once, extending its grant', async () => {
        await store.oauth.tokens.saveGrant(grant());
        await store.oauth.tokens.insertRefreshToken(refresh());
        const next = refresh({ hash: hex('2'), issuedAt: T0 + 1, expiresAt: T0 + 31 * DAY });
        assert.equal(await store.oauth.tokens.rotateRefreshToken(hex('1'), next, T0 + 1), true);
        assert.equal(
          await store.oauth.tokens.rotateRefreshToken(hex('1'), refresh({ hash: hex('3') }), T0 + 2),
          false,
        );
        assert.equal((await store.oauth.tokens.findRefreshToken(hex('1')))?.usedAt, T0 + 1);
        assert.deepEqual(await store.oauth.tokens.findRefreshToken(hex('2')), next);
        assert.equal(await store.oauth.tokens.findRefreshToken(hex('3')), undefined);
        assert.equal((await store.oauth.tokens.findGrant('grt_one'))?.expiresAt, T0 + 31 * DAY);
      });

      it('two instances rotating the same refresh tokens at once: exactly one succeeds each', async () => {
        const other = await second();
        await store.oauth.tokens.saveGrant(grant());
        const tokens = Array.from({ length: 20 }, (_, i) => `1${i.toString(16).padStart(63, '0')}`);
        for (const hash of tokens) await store.oauth.tokens.insertRefreshToken(refresh({ hash }));
        const results = await Promise.all(
          tokens.flatMap((hash, i) => [
            store.oauth.tokens.rotateRefreshToken(
              hash,
              refresh({ hash: `a${i.toString(16).padStart(63, '0')}` }),
              T0 + 1,
            ),
            other.oauth.tokens.rotateRefreshToken(
              hash,
              refresh({ hash: `b${i.toString(16).padStart(63, '0')}` }),
              T0 + 1,
            ),
          ]),
        );
        for (let i = 0; i < tokens.length; i++)
          assert.deepEqual([results[2 * i], results[2 * i + 1]].sort(), [false, true], `token ${i}`);
      });

      it('a refresh token used on two instances at once: one rotates, the reuse revokes the grant everywhere', async () => {
        const a = tokensOver(store);
        const other = await second();
        const b = tokensOver(other);
        await store.oauth.tokens.saveGrant(grant({ expiresAt: Date.now() + DAY }));
        const first = await a.refreshTokens.issue({
          grantId: 'grt_one',
          clientId: CLIENT_ID,
          subject: 'alice',
          resource: RESOURCE,
          scopes: ['mcp:read'],
        });
        const request = { token: first.token, clientId: CLIENT_ID, resource: undefined, scopes: undefined };
        const outcomes = await Promise.allSettled([
          a.refreshTokens.rotate(request),
          b.refreshTokens.rotate(request),
        ]);
        const reused = outcomes.filter((o) => o.status === 'rejected');
        assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
        assert.equal(reused.length, 1);
        assert.ok((reused[0] as PromiseRejectedResult).reason instanceof RefreshTokenReuseError);
        assert.notEqual((await other.oauth.tokens.findGrant('grt_one'))?.revokedAt, null);
      });

      it('denies an access token by jti until it expires, then purges what expired', async () => {
        await store.oauth.tokens.saveGrant(grant({ expiresAt: T0 + DAY }));
        await store.oauth.tokens.insertRefreshToken(refresh({ expiresAt: T0 + DAY }));
        await store.oauth.tokens.denyAccessToken('jti-1', T0 + MINUTE);
        await store.oauth.tokens.denyAccessToken('jti-1', T0 + 2 * MINUTE);
        const other = await second();
        assert.equal(await other.oauth.tokens.isAccessTokenRevoked('jti-1', 'grt_one'), true);
        assert.equal(await other.oauth.tokens.isAccessTokenRevoked('jti-2', 'grt_one'), false);
        await store.oauth.tokens.purgeExpired(T0 + 2 * MINUTE);
        assert.equal(await store.oauth.tokens.isAccessTokenRevoked('jti-1', 'grt_one'), false);
        assert.ok(await store.oauth.tokens.findGrant('grt_one'));
        await store.oauth.tokens.purgeExpired(T0 + DAY);
        assert.equal(await store.oauth.tokens.findGrant('grt_one'), undefined);
        assert.equal(await store.oauth.tokens.findRefreshToken(hex('1')), undefined);
      });
    });

    describe('OAuth: consents and static clients', () => {
      it('unions consents, also when two instances approve at once, and lists them in order', async () => {
        const other = await second();
        await Promise.all([
          store.oauth.consents.remember('alice', 'client-b', ['mcp:write', 'mcp:read'], T0),
          other.oauth.consents.remember('alice', 'client-b', ['files:read'], T0 + 1),
          store.oauth.consents.remember('alice', 'client-a', ['mcp:read'], T0 + 2),
          other.oauth.consents.remember('bob', 'client-a', ['mcp:read'], T0 + 3),
        ]);
        assert.equal(
          await store.oauth.consents.covers('alice', 'client-b', ['files:read', 'mcp:write']),
          true,
        );
        assert.equal(await store.oauth.consents.covers('alice', 'client-b', ['files:write']), false);
        assert.equal(await store.oauth.consents.covers('carol', 'client-b', []), false);
        const alice = await other.oauth.consents.list('alice');
        assert.deepEqual(
          alice.map((c) => [c.clientId, c.scopes]),
          [
            ['client-a', ['mcp:read']],
            ['client-b', ['files:read', 'mcp:read', 'mcp:write']],
          ],
        );
        assert.deepEqual(
          (await store.oauth.consents.list()).map((c) => `${c.subject}/${c.clientId}`),
          ['alice/client-a', 'alice/client-b', 'bob/client-a'],
        );
      });

      it('a consent withdrawn on one instance is not covered on another', async () => {
        await store.oauth.consents.remember('alice', 'client-a', ['mcp:read'], T0);
        const other = await second();
        assert.equal(await other.oauth.consents.covers('alice', 'client-a', ['mcp:read']), true);
        assert.equal(await store.oauth.consents.revoke('alice', 'client-a'), true);
        assert.equal(await store.oauth.consents.revoke('alice', 'client-a'), false);
        assert.equal(await other.oauth.consents.covers('alice', 'client-a', ['mcp:read']), false);
      });

      it('keeps static clients in the order added; a revoked one is seen revoked by another instance', async () => {
        await store.oauth.clients.insert(staticClient());
        const publicClient = staticClient({
          clientId: 'pcc_00000000000000000000000a',
          secretHash: null,
          tokenEndpointAuthMethod: 'none',
          grantTypes: ['authorization_code'],
          scopes: null,
        });
        await store.oauth.clients.insert(publicClient);
        await assert.rejects(store.oauth.clients.insert(staticClient()));
        const other = await second();
        assert.deepEqual(await other.oauth.clients.find(CLIENT_ID), staticClient());
        assert.deepEqual(
          (await other.oauth.clients.list()).map((c) => c.clientId),
          [CLIENT_ID, publicClient.clientId],
        );
        assert.equal(await store.oauth.clients.revoke(CLIENT_ID, T0 + 1), true);
        assert.equal(await store.oauth.clients.revoke(CLIENT_ID, T0 + 2), false);
        assert.equal((await other.oauth.clients.find(CLIENT_ID))?.revokedAt, T0 + 1);
        assert.equal(await other.oauth.clients.find('pcc_ffffffffffffffffffffffff'), undefined);
      });
    });

    describe('audit trail', () => {
      it('appends a verifiable chain and answers queries on its columns', async () => {
        await store.audit.append([decision('a', 0), decision('a', 1)]);
        await store.audit.append([]);
        await store.audit.append([decision('b', 2)]);
        const records = await store.audit.query();
        assert.deepEqual(
          records.map((r) => [r.seq, r.principal, r.tool, r.outcome]),
          [
            [1, 'api-key:key_a', 'echo', 'allowed'],
            [2, 'api-key:key_a', 'write_file', 'denied'],
            [3, 'api-key:key_b', 'echo', 'allowed'],
          ],
        );
        assert.equal(records[1]?.prevHash, records[0]?.hash);
        assert.deepEqual(await store.audit.verifyChain(), {
          ok: true,
          count: 3,
          head: { seq: 3, hash: records[2]?.hash },
        });
        const seqs = async (query: Parameters<Store['audit']['query']>[0]) =>
          (await store.audit.query(query)).map((r) => r.seq);
        assert.deepEqual(await seqs({ principal: 'a' }), [1, 2]);
        assert.deepEqual(await seqs({ principal: 'api-key:*' }), [1, 2, 3]);
        assert.deepEqual(await seqs({ tool: 'everything.write_*' }), [2]);
        assert.deepEqual(await seqs({ tool: 'write%' }), []);
        assert.deepEqual(await seqs({ tool: 'ech?' }), []);
        assert.deepEqual(await seqs({ type: 'policy.*', outcome: 'allowed' }), [1, 3]);
        assert.deepEqual(await seqs({ since: T0 + 1, until: T0 + 2 }), [2]);
        assert.deepEqual(await seqs({ limit: 2, newest: true }), [2, 3]);
        assert.deepEqual(await seqs({ afterSeq: 1, limit: 1 }), [2]);
      });

      it('iterates a long chain page by page', async () => {
        const events: AuditEvent[] = Array.from({ length: 2345 }, (_, i) => decision('a', i));
        for (let i = 0; i < events.length; i += 500) await store.audit.append(events.slice(i, i + 500));
        let count = 0;
        for await (const record of store.audit.iterate({ afterSeq: 2000 })) {
          count++;
          assert.equal(record.seq, 2000 + count);
        }
        assert.equal(count, 345);
        assert.deepEqual((await store.audit.verifyChain()).ok, true);
      });

      it('two instances appending at once: one chain that verifies, each instance’s records in its order', async () => {
        const other = await second();
        const batches = (instance: string, target: Store) =>
          (async () => {
            for (let batch = 0; batch < 15; batch++)
              await target.audit.append(
                Array.from({ length: 7 }, (_, i) => decision(instance, batch * 7 + i)),
              );
          })();
        await Promise.all([
          batches('a', store),
          batches('b', other),
          batches('c', store),
          batches('d', other),
        ]);
        const verdict = await other.audit.verifyChain();
        assert.deepEqual(verdict.ok && verdict.count, 4 * 15 * 7);
        const records = await store.audit.query();
        for (const instance of ['a', 'b', 'c', 'd']) {
          const own = records
            .map((r) => (JSON.parse(r.json) as { requestId: string }).requestId)
            .filter((id) => id.startsWith(`${instance}-`))
            .map((id) => Number(id.slice(2)));
          assert.deepEqual(
            own,
            Array.from({ length: 15 * 7 }, (_, i) => i),
          );
        }
      });
    });

    describe('pins', () => {
      const key = { upstream: 'files', kind: 'tool', name: 'read_file' } as const;
      const seen = (hash: string, at: number) => ({ hash: hex(hash), definition: `{"d":"${hash}"}`, at });

      it('records what was seen, pins on approval, keeps a rejection, lists in order', async () => {
        await store.pins.saw(key, seen('1', T0), true);
        await store.pins.saw(key, seen('2', T0 + 1), false);
        await store.pins.saw(
          { upstream: 'files', kind: 'prompt', name: 'summarize' },
          seen('3', T0 + 2),
          false,
        );
        await store.pins.saw({ upstream: 'everything', kind: 'tool', name: 'echo' }, seen('4', T0 + 3), true);
        const [pin] = await store.pins.list('files').then((pins) => pins.filter((p) => p.kind === 'tool'));
        assert.deepEqual(pin, {
          ...key,
          pinnedHash: hex('1'),
          pinnedDefinition: '{"d":"1"}',
          pinnedAt: T0,
          seenHash: hex('2'),
          seenDefinition: '{"d":"2"}',
          seenAt: T0 + 1,
          rejectedHash: null,
        });
        assert.deepEqual(
          (await store.pins.list()).map((p) => `${p.upstream}/${p.kind}/${p.name}`),
          ['everything/tool/echo', 'files/prompt/summarize', 'files/tool/read_file'],
        );
        const other = await second();
        assert.equal(await other.pins.reject(key), true);
        assert.equal((await store.pins.list('files')).find((p) => p.kind === 'tool')?.rejectedHash, hex('2'));
        assert.equal(await other.pins.approve({ ...pin, name: 'read_file' } as typeof key, T0 + 9), true);
        const approved = (await store.pins.list('files')).find((p) => p.kind === 'tool');
        assert.deepEqual(
          [approved?.pinnedHash, approved?.pinnedAt, approved?.rejectedHash],
          [hex('2'), T0 + 9, null],
        );
        assert.equal(await store.pins.approve({ ...key, name: 'nothing' }, T0), false);
        assert.equal(await store.pins.reject({ ...key, name: 'nothing' }), false);
      });
    });
  });
}
