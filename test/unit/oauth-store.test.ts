/**
 * The OAuth stores: one behavioural suite run against the in-memory implementations and the SQLite
 * ones (the same expectations, so either can back the authorization server), then what only SQLite
 * has — the upgrade from schema 3, data surviving a reopen, two connections racing on one file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  type AuthorizationCodeRecord,
  AuthorizationCodes,
  MemoryAuthorizationCodeStore,
} from '../../src/oauth/codes.js';
import { MemoryConsentStore } from '../../src/oauth/consents.js';
import { CodeReplayError, RefreshTokenReuseError } from '../../src/oauth/errors.js';
import { s256Challenge } from '../../src/oauth/pkce.js';
import { RefreshTokens } from '../../src/oauth/refresh-tokens.js';
import {
  MemoryStaticClientStore,
  type StaticClientRecord,
  StaticClients,
} from '../../src/oauth/static-clients.js';
import { type GrantRecord, MemoryTokenStore, type RefreshTokenRecord } from '../../src/oauth/token-store.js';
import { migrate, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { OAuthStore } from '../../src/store/store.js';
import { RESOURCE, refuses } from '../helpers/oauth.js';

const dir = mkdtempSync(join(tmpdir(), 'pcl-oauth-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(dir, `o${++n}.db`);

const T0 = Date.UTC(2026, 10, 23, 10);
const MINUTE = 60_000;
const DAY = 86_400_000;

interface Backend {
  readonly name: string;
  open(): { oauth: OAuthStore; close(): Promise<void> };
}

const BACKENDS: readonly Backend[] = [
  {
    name: 'in-memory',
    open: () => ({
      oauth: {
        clients: new MemoryStaticClientStore(),
        codes: new MemoryAuthorizationCodeStore(),
        tokens: new MemoryTokenStore(),
        consents: new MemoryConsentStore(),
      },
      close: async () => {},
    }),
  },
  { name: 'SQLite', open: () => openSqliteStore(freshFile()) },
];

const hex = (c: string, length = 64) => c.repeat(length);

const code = (overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord => ({
  hash: hex('a'),
  clientId: 'pcc_0123456789abcdef01234567',
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
  clientId: 'pcc_0123456789abcdef01234567',
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
  clientId: 'pcc_0123456789abcdef01234567',
  subject: 'alice',
  resource: RESOURCE,
  scopes: ['mcp:read'],
  issuedAt: T0,
  expiresAt: T0 + 30 * DAY,
  usedAt: null,
  ...overrides,
});

const client = (overrides: Partial<StaticClientRecord> = {}): StaticClientRecord => ({
  clientId: 'pcc_0123456789abcdef01234567',
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

for (const backend of BACKENDS) {
  describe(`OAuth stores (${backend.name})`, () => {
    let opened: ReturnType<Backend['open']>;
    let oauth: OAuthStore;
    beforeEach(() => {
      opened = backend.open();
      oauth = opened.oauth;
    });
    afterEach(() => opened.close());

    describe('authorization codes', () => {
      it('are single use: the second consume returns the record with firstUse false', async () => {
        await oauth.codes.insert(code());
        assert.deepEqual(await oauth.codes.consume(hex('a'), T0 + 1000), { record: code(), firstUse: true });
        assert.deepEqual(await oauth.codes.consume(hex('a'), T0 + 2000), {
          record: code(),
          firstUse: false,
        });
        assert.equal(await oauth.codes.consume(hex('b'), T0), undefined);
      });

      it('give firstUse to exactly one of two concurrent consumes', async () => {
        await oauth.codes.insert(code());
        const results = await Promise.all([
          oauth.codes.consume(hex('a'), T0 + 1),
          oauth.codes.consume(hex('a'), T0 + 2),
        ]);
        assert.deepEqual(results.map((r) => r?.firstUse).sort(), [false, true]);
      });

      it('make a replay through AuthorizationCodes a CodeReplayError naming the grant', async () => {
        const codes = new AuthorizationCodes(oauth.codes, () => T0);
        const verifier = 'x'.repeat(43);
        const issued = await codes.issue({
          clientId: 'pcc_0123456789abcdef01234567',
          redirectUri: 'http://127.0.0.1:33418/callback',
          codeChallenge: s256Challenge(verifier),
          resource: RESOURCE,
          scopes: ['mcp:read'],
          subject: 'alice',
        });
        const redemption = {
          code: issued,
          clientId: 'pcc_0123456789abcdef01234567',
          redirectUri: undefined,
          codeVerifier: verifier,
          resource: undefined,
        };
        const record = await codes.redeem(redemption);
        assert.deepEqual(record.scopes, ['mcp:read']);
        await assert.rejects(codes.redeem(redemption), (err) => {
          assert.ok(err instanceof CodeReplayError);
          assert.equal(err.grantId, record.grantId);
          return true;
        });
      });

      it('are purged once expired, used or not', async () => {
        await oauth.codes.insert(code({ hash: hex('a'), expiresAt: T0 + MINUTE }));
        await oauth.codes.insert(code({ hash: hex('b'), expiresAt: T0 + 2 * MINUTE }));
        await oauth.codes.insert(code({ hash: hex('c'), expiresAt: T0 + 10 * MINUTE }));
        await oauth.codes.consume(hex('b'), T0);
        assert.equal(await oauth.codes.purgeExpired(T0 + 2 * MINUTE), 2);
        assert.equal(await oauth.codes.consume(hex('a'), T0), undefined);
        assert.equal(await oauth.codes.consume(hex('b'), T0), undefined);
        assert.equal((await oauth.codes.consume(hex('c'), T0))?.firstUse, true);
        assert.equal(await oauth.codes.purgeExpired(T0 + 2 * MINUTE), 0);
      });
    });

    describe('grants and refresh tokens', () => {
      it('save and find a grant; saving again only extends the expiry and keeps a revocation', async () => {
        await oauth.tokens.saveGrant(grant());
        assert.deepEqual(await oauth.tokens.findGrant('grt_one'), grant());
        assert.equal(await oauth.tokens.findGrant('grt_other'), undefined);
        await oauth.tokens.revokeGrant('grt_one', T0 + MINUTE, T0 + DAY);
        await oauth.tokens.saveGrant(grant({ expiresAt: T0 + 60 * DAY, subject: 'mallory' }));
        assert.deepEqual(
          await oauth.tokens.findGrant('grt_one'),
          grant({ revokedAt: T0 + MINUTE, expiresAt: T0 + 60 * DAY }),
        );
        await oauth.tokens.saveGrant(grant({ expiresAt: T0 + DAY }));
        assert.equal((await oauth.tokens.findGrant('grt_one'))?.expiresAt, T0 + 60 * DAY);
      });

      it('revoking an unknown grant records it revoked until keepUntil; a second revocation changes nothing', async () => {
        await oauth.tokens.revokeGrant('grt_racing', T0, T0 + DAY);
        const placeholder = await oauth.tokens.findGrant('grt_racing');
        assert.equal(placeholder?.revokedAt, T0);
        assert.equal(placeholder?.expiresAt, T0 + DAY);
        await oauth.tokens.revokeGrant('grt_racing', T0 + MINUTE, T0 + 2 * DAY);
        assert.deepEqual(await oauth.tokens.findGrant('grt_racing'), placeholder);
        // The first redemption arriving after the replay keeps the revocation.
        await oauth.tokens.saveGrant(grant({ id: 'grt_racing', expiresAt: T0 + 30 * DAY }));
        assert.equal((await oauth.tokens.findGrant('grt_racing'))?.revokedAt, T0);
        assert.equal(await oauth.tokens.isAccessTokenRevoked('jti-1', 'grt_racing'), true);
      });

      it("revokeGrantsOf revokes one user's live grants to one client, and only those", async () => {
        await oauth.tokens.saveGrant(grant({ id: 'grt_a1' }));
        await oauth.tokens.saveGrant(grant({ id: 'grt_a2' }));
        await oauth.tokens.saveGrant(grant({ id: 'grt_other_client', clientId: 'pcd_other' }));
        await oauth.tokens.saveGrant(grant({ id: 'grt_other_user', subject: 'bob' }));
        await oauth.tokens.revokeGrant('grt_a2', T0, T0 + DAY);
        const base = grant();
        assert.equal(await oauth.tokens.revokeGrantsOf(base.subject, base.clientId, T0 + MINUTE), 1);
        assert.equal((await oauth.tokens.findGrant('grt_a1'))?.revokedAt, T0 + MINUTE);
        assert.equal(
          (await oauth.tokens.findGrant('grt_a2'))?.revokedAt,
          T0,
          'an earlier revocation is kept',
        );
        assert.equal((await oauth.tokens.findGrant('grt_other_client'))?.revokedAt, null);
        assert.equal((await oauth.tokens.findGrant('grt_other_user'))?.revokedAt, null);
        assert.equal(await oauth.tokens.isAccessTokenRevoked('jti-x', 'grt_a1'), true);
      });

      it('insert and find refresh tokens', async () => {
        await oauth.tokens.insertRefreshToken(refresh());
        assert.deepEqual(await oauth.tokens.findRefreshToken(hex('1')), refresh());
        assert.equal(await oauth.tokens.findRefreshToken(hex('2')), undefined);
      });

      it('rotate: marks the old token used, stores the successor, extends the grant', async () => {
        await oauth.tokens.saveGrant(grant());
        await oauth.tokens.insertRefreshToken(refresh());
        const next = refresh({ hash: hex('2'), issuedAt: T0 + DAY, expiresAt: T0 + 31 * DAY });
        assert.equal(await oauth.tokens.rotateRefreshToken(hex('1'), next, T0 + DAY), true);
        assert.equal((await oauth.tokens.findRefreshToken(hex('1')))?.usedAt, T0 + DAY);
        assert.deepEqual(await oauth.tokens.findRefreshToken(hex('2')), next);
        assert.equal((await oauth.tokens.findGrant('grt_one'))?.expiresAt, T0 + 31 * DAY);
        // A successor expiring earlier than the grant never shortens it.
        const shorter = refresh({ hash: hex('3'), expiresAt: T0 + 2 * DAY });
        assert.equal(await oauth.tokens.rotateRefreshToken(hex('2'), shorter, T0 + DAY), true);
        assert.equal((await oauth.tokens.findGrant('grt_one'))?.expiresAt, T0 + 31 * DAY);
        // Used or unknown: false.
        assert.equal(await oauth.tokens.rotateRefreshToken(hex('1'), refresh({ hash: hex('4') }), T0), false);
        assert.equal(await oauth.tokens.rotateRefreshToken(hex('9'), refresh({ hash: hex('5') }), T0), false);
      });

      it('of two concurrent rotations only one wins, and the loser writes nothing', async () => {
        await oauth.tokens.saveGrant(grant());
        await oauth.tokens.insertRefreshToken(refresh());
        const a = refresh({ hash: hex('a'), expiresAt: T0 + 40 * DAY });
        const b = refresh({ hash: hex('b'), expiresAt: T0 + 50 * DAY });
        const results = await Promise.all([
          oauth.tokens.rotateRefreshToken(hex('1'), a, T0 + 1),
          oauth.tokens.rotateRefreshToken(hex('1'), b, T0 + 2),
        ]);
        assert.deepEqual([...results].sort(), [false, true]);
        const [winner, loser] = results[0] ? [a, b] : [b, a];
        assert.deepEqual(await oauth.tokens.findRefreshToken(winner.hash), winner);
        assert.equal(await oauth.tokens.findRefreshToken(loser.hash), undefined);
        assert.equal((await oauth.tokens.findGrant('grt_one'))?.expiresAt, winner.expiresAt);
      });

      it('refresh-token reuse revokes the family, visible through isAccessTokenRevoked', async () => {
        let now = T0;
        const refreshTokens = new RefreshTokens(
          oauth.tokens,
          new Uint8Array(32).fill(7),
          30 * DAY,
          () => now,
        );
        await oauth.tokens.saveGrant(grant());
        const first = await refreshTokens.issue({
          grantId: 'grt_one',
          clientId: 'pcc_0123456789abcdef01234567',
          subject: 'alice',
          resource: RESOURCE,
          scopes: ['mcp:read'],
        });
        const request = {
          clientId: 'pcc_0123456789abcdef01234567',
          resource: undefined,
          scopes: undefined,
        } as const;
        now += MINUTE;
        const second = await refreshTokens.rotate({ ...request, token: first.token });
        assert.equal(await oauth.tokens.isAccessTokenRevoked('jti-1', 'grt_one'), false);
        now += MINUTE;
        await assert.rejects(
          refreshTokens.rotate({ ...request, token: first.token }),
          RefreshTokenReuseError,
        );
        assert.equal(await oauth.tokens.isAccessTokenRevoked('jti-1', 'grt_one'), true);
        assert.equal(await oauth.tokens.isAccessTokenRevoked('jti-1', 'grt_other'), false);
        await refuses(refreshTokens.rotate({ ...request, token: second.token }), 'invalid_grant', 'revoked');
      });

      it('a denied jti is revoked whatever its grant; other jtis are not', async () => {
        await oauth.tokens.denyAccessToken('jti-denied', T0 + 10 * MINUTE);
        assert.equal(await oauth.tokens.isAccessTokenRevoked('jti-denied', 'grt_unknown'), true);
        assert.equal(await oauth.tokens.isAccessTokenRevoked('jti-other', 'grt_unknown'), false);
        // A store that never heard of the grant does not refuse its tokens (a fleet without a shared store).
        await oauth.tokens.saveGrant(grant());
        assert.equal(await oauth.tokens.isAccessTokenRevoked('jti-other', 'grt_one'), false);
      });

      it('purgeExpired deletes expired grants, refresh tokens and denylist entries only', async () => {
        await oauth.tokens.saveGrant(grant({ id: 'grt_old', expiresAt: T0 + DAY }));
        await oauth.tokens.saveGrant(grant({ id: 'grt_live', expiresAt: T0 + 30 * DAY }));
        await oauth.tokens.revokeGrant('grt_revoked_old', T0, T0 + DAY);
        await oauth.tokens.insertRefreshToken(refresh({ hash: hex('1'), expiresAt: T0 + DAY }));
        await oauth.tokens.insertRefreshToken(refresh({ hash: hex('2'), expiresAt: T0 + 30 * DAY }));
        await oauth.tokens.denyAccessToken('jti-old', T0 + DAY);
        await oauth.tokens.denyAccessToken('jti-live', T0 + 2 * DAY);
        await oauth.tokens.purgeExpired(T0 + DAY);
        assert.equal(await oauth.tokens.findGrant('grt_old'), undefined);
        assert.equal(await oauth.tokens.findGrant('grt_revoked_old'), undefined);
        assert.ok(await oauth.tokens.findGrant('grt_live'));
        assert.equal(await oauth.tokens.findRefreshToken(hex('1')), undefined);
        assert.ok(await oauth.tokens.findRefreshToken(hex('2')));
        assert.equal(await oauth.tokens.isAccessTokenRevoked('jti-old', 'grt_live'), false);
        assert.equal(await oauth.tokens.isAccessTokenRevoked('jti-live', 'grt_live'), true);
      });
    });

    describe('consents', () => {
      it('cover nothing until remembered, then any subset of the remembered scopes', async () => {
        assert.equal(await oauth.consents.covers('alice', 'client-a', ['mcp:read']), false);
        assert.equal(await oauth.consents.covers('alice', 'client-a', []), false);
        await oauth.consents.remember('alice', 'client-a', ['mcp:write', 'mcp:read'], T0);
        assert.equal(await oauth.consents.covers('alice', 'client-a', []), true);
        assert.equal(await oauth.consents.covers('alice', 'client-a', ['mcp:read']), true);
        assert.equal(await oauth.consents.covers('alice', 'client-a', ['mcp:read', 'mcp:write']), true);
        assert.equal(await oauth.consents.covers('alice', 'client-a', ['mcp:read', 'mcp:admin']), false);
        assert.equal(await oauth.consents.covers('alice', 'client-b', ['mcp:read']), false);
        assert.equal(await oauth.consents.covers('bob', 'client-a', ['mcp:read']), false);
      });

      it('remember adds to what was approved (union) and updates grantedAt', async () => {
        await oauth.consents.remember('alice', 'client-a', ['mcp:read'], T0);
        await oauth.consents.remember('alice', 'client-a', ['mcp:admin', 'mcp:read'], T0 + MINUTE);
        assert.equal(await oauth.consents.covers('alice', 'client-a', ['mcp:read', 'mcp:admin']), true);
        assert.deepEqual(await oauth.consents.list('alice'), [
          {
            subject: 'alice',
            clientId: 'client-a',
            scopes: ['mcp:admin', 'mcp:read'],
            grantedAt: T0 + MINUTE,
          },
        ]);
      });

      it('list one subject or all; revoke forgets one client of one subject', async () => {
        await oauth.consents.remember('bob', 'client-a', ['mcp:read'], T0);
        await oauth.consents.remember('alice', 'client-b', ['mcp:read'], T0);
        await oauth.consents.remember('alice', 'client-a', ['mcp:write'], T0);
        const pairs = async (subject?: string) =>
          (await oauth.consents.list(subject)).map((c) => `${c.subject}/${c.clientId}`);
        assert.deepEqual(await pairs(), ['alice/client-a', 'alice/client-b', 'bob/client-a']);
        assert.deepEqual(await pairs('alice'), ['alice/client-a', 'alice/client-b']);
        assert.deepEqual(await pairs('carol'), []);
        assert.equal(await oauth.consents.revoke('alice', 'client-a'), true);
        assert.equal(await oauth.consents.revoke('alice', 'client-a'), false);
        assert.equal(await oauth.consents.covers('alice', 'client-a', ['mcp:write']), false);
        assert.equal(await oauth.consents.covers('bob', 'client-a', ['mcp:read']), true);
        assert.deepEqual(await pairs(), ['alice/client-b', 'bob/client-a']);
      });
    });

    describe('static clients', () => {
      it('insert, find, list and revoke', async () => {
        const publicClient = client({
          clientId: 'pcc_fedcba9876543210fedcba98',
          name: 'CLI',
          secretHash: null,
          tokenEndpointAuthMethod: 'none',
          grantTypes: ['authorization_code'],
          scopes: null,
          createdAt: T0 + 1,
        });
        await oauth.clients.insert(client());
        await oauth.clients.insert(publicClient);
        await assert.rejects(oauth.clients.insert(client()));
        assert.deepEqual(await oauth.clients.find(client().clientId), client());
        assert.deepEqual(await oauth.clients.find(publicClient.clientId), publicClient);
        assert.equal(await oauth.clients.find('pcc_000000000000000000000000'), undefined);
        assert.deepEqual(await oauth.clients.list(), [client(), publicClient]);
        assert.equal(await oauth.clients.revoke(client().clientId, T0 + DAY), true);
        assert.equal(await oauth.clients.revoke(client().clientId, T0 + 2 * DAY), false);
        assert.equal(await oauth.clients.revoke('pcc_000000000000000000000000', T0), false);
        assert.equal((await oauth.clients.find(client().clientId))?.revokedAt, T0 + DAY);
      });

      it('serve StaticClients: add, authenticate with the secret, refuse once revoked', async () => {
        const clients = new StaticClients(oauth.clients, () => T0);
        const { record, secret } = await clients.add({
          name: 'Claude',
          redirectUris: ['https://claude.ai/api/mcp/auth_callback'],
        });
        assert.ok(secret);
        const found = await clients.client(record.clientId);
        assert.equal(found.clientName, 'Claude');
        assert.equal(await clients.verifySecret(found, secret), true);
        assert.equal(await clients.verifySecret(found, `${secret}x`), false);
        assert.equal(await clients.revoke(record.clientId), true);
        await refuses(clients.client(record.clientId), 'invalid_client', 'revoked');
      });
    });
  });
}

describe('SQLite OAuth store', () => {
  const oauthTables = (db: Database.Database): string[] =>
    db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'oauth_%' ORDER BY name",
      )
      .all()
      .map((row) => row.name);
  const userVersion = (file: string): number => {
    const db = new Database(file, { readonly: true });
    try {
      return db.pragma('user_version', { simple: true }) as number;
    } finally {
      db.close();
    }
  };

  it('a new store is at the latest schema, 6', async () => {
    const file = freshFile();
    await openSqliteStore(file).close();
    assert.equal(SCHEMA_VERSION, 6);
    assert.equal(userVersion(file), 6);
  });

  it('migrates a store of schema 3 to the latest, keeping its API keys', async () => {
    const file = freshFile();
    const db = new Database(file);
    migrate(db, 3);
    db.prepare(
      `INSERT INTO api_keys (id, name, hash, scopes, roles, created_at) VALUES ('key_1', 'laptop', 'h1', '["mcp:read"]', '[]', 1)`,
    ).run();
    assert.deepEqual(oauthTables(db), []);
    db.close();
    assert.equal(userVersion(file), 3);

    const store = openSqliteStore(file);
    try {
      assert.equal(userVersion(file), SCHEMA_VERSION);
      assert.equal((await store.apiKeys.findByHash('h1'))?.name, 'laptop');
      await store.oauth.consents.remember('alice', 'client-a', ['mcp:read'], T0);
      assert.equal(await store.oauth.consents.covers('alice', 'client-a', ['mcp:read']), true);
    } finally {
      await store.close();
    }
    const check = new Database(file, { readonly: true });
    try {
      assert.deepEqual(oauthTables(check), [
        'oauth_clients',
        'oauth_codes',
        'oauth_consents',
        'oauth_denied_tokens',
        'oauth_grants',
        'oauth_refresh_tokens',
      ]);
    } finally {
      check.close();
    }
  });

  it('keeps every kind of OAuth state across closing and reopening the file', async () => {
    const file = freshFile();
    const first = openSqliteStore(file);
    await first.oauth.clients.insert(client());
    await first.oauth.codes.insert(code());
    await first.oauth.codes.insert(code({ hash: hex('b') }));
    await first.oauth.codes.consume(hex('b'), T0 + 1);
    await first.oauth.tokens.saveGrant(grant());
    await first.oauth.tokens.revokeGrant('grt_revoked', T0, T0 + DAY);
    await first.oauth.tokens.insertRefreshToken(refresh());
    await first.oauth.tokens.denyAccessToken('jti-denied', T0 + DAY);
    await first.oauth.consents.remember('alice', 'client-a', ['mcp:read', 'mcp:write'], T0);
    await first.close();

    const second = openSqliteStore(file);
    try {
      assert.deepEqual(await second.oauth.clients.find(client().clientId), client());
      assert.deepEqual(await second.oauth.codes.consume(hex('a'), T0 + 2), {
        record: code(),
        firstUse: true,
      });
      assert.equal((await second.oauth.codes.consume(hex('b'), T0 + 2))?.firstUse, false);
      assert.deepEqual(await second.oauth.tokens.findGrant('grt_one'), grant());
      assert.equal(await second.oauth.tokens.isAccessTokenRevoked('jti-x', 'grt_revoked'), true);
      assert.deepEqual(await second.oauth.tokens.findRefreshToken(hex('1')), refresh());
      assert.equal(await second.oauth.tokens.isAccessTokenRevoked('jti-denied', 'grt_one'), true);
      assert.equal(await second.oauth.consents.covers('alice', 'client-a', ['mcp:write']), true);
    } finally {
      await second.close();
    }
  });

  it('two connections to one file: a code and a refresh token are each used once', async () => {
    const file = freshFile();
    const a = openSqliteStore(file);
    const b = openSqliteStore(file);
    try {
      await a.oauth.codes.insert(code());
      await a.oauth.tokens.saveGrant(grant());
      await a.oauth.tokens.insertRefreshToken(refresh());
      const consumed = await Promise.all([
        a.oauth.codes.consume(hex('a'), T0 + 1),
        b.oauth.codes.consume(hex('a'), T0 + 2),
      ]);
      assert.deepEqual(consumed.map((r) => r?.firstUse).sort(), [false, true]);
      const rotated = await Promise.all([
        b.oauth.tokens.rotateRefreshToken(hex('1'), refresh({ hash: hex('b') }), T0 + 1),
        a.oauth.tokens.rotateRefreshToken(hex('1'), refresh({ hash: hex('c') }), T0 + 2),
      ]);
      assert.deepEqual([...rotated].sort(), [false, true]);
      await b.oauth.consents.remember('alice', 'client-a', ['mcp:read'], T0);
      await a.oauth.consents.remember('alice', 'client-a', ['mcp:write'], T0);
      assert.equal(await b.oauth.consents.covers('alice', 'client-a', ['mcp:read', 'mcp:write']), true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
