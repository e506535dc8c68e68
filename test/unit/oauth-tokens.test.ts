import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { AccessTokens, accessTokenPrincipal } from '../../src/oauth/access-tokens.js';
import type { OAuthClient } from '../../src/oauth/client-metadata.js';
import { AuthorizationCodes, MemoryAuthorizationCodeStore } from '../../src/oauth/codes.js';
import { deriveKey } from '../../src/oauth/derive-key.js';
import { CodeReplayError, RefreshTokenReuseError } from '../../src/oauth/errors.js';
import { s256Challenge } from '../../src/oauth/pkce.js';
import { RefreshTokens } from '../../src/oauth/refresh-tokens.js';
import { type AccessTokenAlgorithm, SigningKeys } from '../../src/oauth/signing-keys.js';
import { MemoryTokenStore } from '../../src/oauth/token-store.js';
import { Tokens } from '../../src/oauth/tokens.js';
import { ISSUER, RESOURCE, refuses, SECRET } from '../helpers/oauth.js';

const START = Date.UTC(2026, 7, 1, 12);
const HOUR = 3_600_000;
const OTHER_RESOURCE = 'https://mcp.example.com/servers/other/mcp';

function setup(algorithm: AccessTokenAlgorithm = 'HS256', secret = SECRET) {
  const clock = { now: START };
  const now = () => clock.now;
  const store = new MemoryTokenStore();
  const keys = new SigningKeys({ algorithm, secret, rotationMs: 24 * HOUR, now });
  const accessTokens = new AccessTokens({ issuer: ISSUER, keys, store, now });
  const refreshTokens = new RefreshTokens(store, new Uint8Array(32).fill(7), 30 * 24 * HOUR, now);
  const tokens = new Tokens({ accessTokens, refreshTokens, store, now });
  const codes = new AuthorizationCodes(new MemoryAuthorizationCodeStore(), now);
  return { clock, store, keys, accessTokens, refreshTokens, tokens, codes };
}

const NEW_TOKEN = {
  subject: 'alice',
  clientId: 'pcd_client',
  resource: RESOURCE,
  scopes: ['tools:read', 'files:*'],
  grantId: 'grt_1',
};

describe('AccessTokens: issue and verify', () => {
  for (const algorithm of ['HS256', 'ES256'] as const) {
    it(`${algorithm}: round-trips the claims, bound to the resource`, async () => {
      const { accessTokens } = setup(algorithm);
      const issued = await accessTokens.issue(NEW_TOKEN);
      assert.equal(issued.expiresIn, 3600);
      const header = decodeProtectedHeader(issued.token);
      assert.equal(header.alg, algorithm);
      assert.equal(header.typ, 'at+jwt');
      const claims = await accessTokens.verify(issued.token, RESOURCE);
      assert.deepEqual(claims, {
        iss: ISSUER,
        sub: 'alice',
        aud: RESOURCE,
        jti: issued.jti,
        iat: START / 1000,
        exp: START / 1000 + 3600,
        client_id: 'pcd_client',
        scope: 'tools:read files:*',
        gid: 'grt_1',
      });
      assert.deepEqual(accessTokenPrincipal(claims), {
        id: 'oauth:alice',
        kind: 'oauth',
        name: 'alice',
        clientId: 'pcd_client',
        scopes: ['tools:read', 'files:*'],
      });
    });
  }

  it('refuses a token for another resource', async () => {
    const { accessTokens } = setup();
    const { token } = await accessTokens.issue(NEW_TOKEN);
    await refuses(
      accessTokens.verify(token, OTHER_RESOURCE),
      'invalid_token',
      'the access token was issued for another resource',
    );
  });

  it('refuses a token from another issuer with the same secret', async () => {
    const a = setup();
    const other = new AccessTokens({
      issuer: 'https://other.example.com',
      keys: a.keys,
      store: a.store,
      now: () => START,
    });
    const { token } = await other.issue(NEW_TOKEN);
    await refuses(
      a.accessTokens.verify(token, RESOURCE),
      'invalid_token',
      'the access token was issued by another authorization server',
    );
  });

  it('refuses an expired token (1 h by default)', async () => {
    const { accessTokens, clock } = setup();
    const { token } = await accessTokens.issue(NEW_TOKEN);
    clock.now += HOUR - 1000;
    await accessTokens.verify(token, RESOURCE);
    clock.now += 1000;
    await refuses(accessTokens.verify(token, RESOURCE), 'invalid_token', 'the access token has expired');
  });

  it('refuses alg none', async () => {
    const { accessTokens } = setup();
    const unsigned = new UnsecuredJWT({ client_id: 'x', scope: '*', gid: 'g' })
      .setIssuer(ISSUER)
      .setSubject('alice')
      .setAudience(RESOURCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti('j')
      .encode();
    await refuses(
      accessTokens.verify(unsigned, RESOURCE),
      'invalid_token',
      "the access token's signing algorithm is not accepted",
    );
  });

  it('refuses the other algorithm family (no HS256 token in ES256 mode, no ES256 in HS256 mode)', async () => {
    const es = setup('ES256');
    const hs = setup('HS256');
    const hsToken = (await hs.accessTokens.issue(NEW_TOKEN)).token;
    const esToken = (await es.accessTokens.issue(NEW_TOKEN)).token;
    await refuses(
      es.accessTokens.verify(hsToken, RESOURCE),
      'invalid_token',
      'signing algorithm is not accepted',
    );
    await refuses(
      hs.accessTokens.verify(esToken, RESOURCE),
      'invalid_token',
      'signing algorithm is not accepted',
    );
  });

  it('refuses a token signed with a key of our own choosing, and a forged signature', async () => {
    const { accessTokens } = setup('ES256');
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ client_id: 'x', scope: '*', gid: 'g' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: `es256-${Math.floor(START / (24 * HOUR))}` })
      .setIssuer(ISSUER)
      .setSubject('mallory')
      .setAudience(RESOURCE)
      .setIssuedAt(START / 1000)
      .setExpirationTime(START / 1000 + 60)
      .setJti('j')
      .sign(privateKey);
    await refuses(
      accessTokens.verify(forged, RESOURCE),
      'invalid_token',
      "the access token's signature does not verify",
    );
    const hs = setup();
    const { token } = await hs.accessTokens.issue(NEW_TOKEN);
    const [h, p] = token.split('.');
    await refuses(
      hs.accessTokens.verify(`${h}.${p}.${'A'.repeat(43)}`, RESOURCE),
      'invalid_token',
      'signature does not verify',
    );
  });

  it('refuses a JWS of another kind under the same key (typ must be at+jwt)', async () => {
    const { accessTokens } = setup();
    const sameKey = deriveKey(SECRET, 'access-token-hs256');
    const idToken = await new SignJWT({ client_id: 'x', scope: '*', gid: 'g' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject('alice')
      .setAudience(RESOURCE)
      .setIssuedAt(START / 1000)
      .setExpirationTime(START / 1000 + 60)
      .setJti('j')
      .sign(sameKey);
    await refuses(
      accessTokens.verify(idToken, RESOURCE),
      'invalid_token',
      'the token is not an access token (typ must be at+jwt)',
    );
  });

  it('refuses every token once the signing secret is rotated', async () => {
    for (const algorithm of ['HS256', 'ES256'] as const) {
      const { token } = await setup(algorithm).accessTokens.issue(NEW_TOKEN);
      const rotated = setup(
        algorithm,
        new TextEncoder().encode('another-signing-secret-of-32-bytes-or-more'),
      );
      await refuses(
        rotated.accessTokens.verify(token, RESOURCE),
        'invalid_token',
        /signature does not verify/,
      );
    }
  });

  it('refuses malformed tokens', async () => {
    const { accessTokens } = setup();
    await refuses(
      accessTokens.verify('not a jwt', RESOURCE),
      'invalid_token',
      'the access token is malformed',
    );
    await refuses(accessTokens.verify('a.b.c', RESOURCE), 'invalid_token', 'the access token is malformed');
  });
});

describe('SigningKeys: ES256 rotation and JWKS', () => {
  it('publishes the previous, current and next public keys, with no private part', async () => {
    const { keys } = setup('ES256');
    const jwks = await keys.jwks();
    const period = Math.floor(START / (24 * HOUR));
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      [`es256-${period - 1}`, `es256-${period}`, `es256-${period + 1}`],
    );
    for (const key of jwks.keys) {
      assert.equal(key.d, undefined);
      assert.deepEqual([key.kty, key.crv, key.alg, key.use], ['EC', 'P-256', 'ES256', 'sig']);
    }
    assert.deepEqual(await setup('HS256').keys.jwks(), { keys: [] });
  });

  it('derives the same keys on every instance (fleet-wide, no shared storage)', async () => {
    const a = await setup('ES256').keys.jwks();
    const b = await setup('ES256').keys.jwks();
    assert.deepEqual(a, b);
  });

  it('a token outlives one rotation, but not two', async () => {
    const { accessTokens, clock, keys } = setup('ES256');
    clock.now = Math.ceil(START / (24 * HOUR)) * 24 * HOUR - 1000; // one second before the switch
    const { token } = await accessTokens.issue(NEW_TOKEN);
    clock.now += 2000;
    assert.notEqual((await keys.signingKey()).kid, decodeProtectedHeader(token).kid, 'the key rotated');
    await accessTokens.verify(token, RESOURCE);
    clock.now += 24 * HOUR;
    await refuses(accessTokens.verify(token, RESOURCE), 'invalid_token', /expired|no longer accepts/);
  });

  it('the published JWKS alone verifies a token (an outside resource server can check it)', async () => {
    const { accessTokens, keys } = setup('ES256');
    const { token } = await accessTokens.issue(NEW_TOKEN);
    const { payload } = await jwtVerify(token, createLocalJWKSet(await keys.jwks()), {
      issuer: ISSUER,
      audience: RESOURCE,
      currentDate: new Date(START),
    });
    assert.equal(payload.sub, 'alice');
  });
});

describe('RefreshTokens: rotation and reuse detection', () => {
  const client = 'pcd_client';
  async function issued() {
    const s = setup();
    await s.store.saveGrant({
      id: 'grt_1',
      clientId: client,
      subject: 'alice',
      resource: RESOURCE,
      createdAt: START,
      expiresAt: START + HOUR,
      revokedAt: null,
    });
    const first = await s.refreshTokens.issue({
      grantId: 'grt_1',
      clientId: client,
      subject: 'alice',
      resource: RESOURCE,
      scopes: ['a', 'b'],
    });
    return { ...s, first: first.token };
  }

  it('rotates on every use, and may narrow the scopes but not widen them', async () => {
    const { refreshTokens, first } = await issued();
    const one = await refreshTokens.rotate({
      token: first,
      clientId: client,
      resource: RESOURCE,
      scopes: ['a'],
    });
    assert.match(one.token, /^pcr_[\w-]{43}$/);
    assert.notEqual(one.token, first);
    assert.deepEqual(one.scopes, ['a']);
    const two = await refreshTokens.rotate({
      token: one.token,
      clientId: client,
      resource: undefined,
      scopes: undefined,
    });
    assert.deepEqual(
      two.scopes,
      ['a', 'b'],
      'the grant keeps its scopes; only the access token was narrowed',
    );
    await refuses(
      refreshTokens.rotate({ token: two.token, clientId: client, resource: undefined, scopes: ['a', 'c'] }),
      'invalid_scope',
      'a refresh may only narrow the granted scopes; not granted: c',
    );
  });

  it('reuse of a rotated token revokes the whole family', async () => {
    const { refreshTokens, store, first } = await issued();
    const next = await refreshTokens.rotate({
      token: first,
      clientId: client,
      resource: undefined,
      scopes: undefined,
    });
    const err = await refuses(
      refreshTokens.rotate({ token: first, clientId: client, resource: undefined, scopes: undefined }),
      'invalid_grant',
      /^the refresh token has already been used — the grant is revoked/,
    );
    assert.ok(err instanceof RefreshTokenReuseError);
    assert.equal(err.grantId, 'grt_1');
    await refuses(
      refreshTokens.rotate({ token: next.token, clientId: client, resource: undefined, scopes: undefined }),
      'invalid_grant',
      'the grant of this refresh token has been revoked',
    );
    assert.equal(
      await store.isAccessTokenRevoked('any-jti', 'grt_1'),
      true,
      'access tokens of the family die too',
    );
  });

  it('two concurrent rotations of one token: one wins, the other is reuse', async () => {
    const { refreshTokens, first } = await issued();
    const results = await Promise.allSettled([
      refreshTokens.rotate({ token: first, clientId: client, resource: undefined, scopes: undefined }),
      refreshTokens.rotate({ token: first, clientId: client, resource: undefined, scopes: undefined }),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  });

  it('refuses every refresh token once the signing secret (its hashing key) is rotated', async () => {
    const { store, first } = await issued();
    const rotatedKey = new RefreshTokens(store, new Uint8Array(32).fill(8), 30 * 24 * HOUR, () => START);
    await refuses(
      rotatedKey.rotate({ token: first, clientId: client, resource: undefined, scopes: undefined }),
      'invalid_grant',
      'the refresh token is not known (or has expired)',
    );
  });

  it('refuses another client, another resource, an expired or unknown token', async () => {
    const { refreshTokens, clock, first } = await issued();
    await refuses(
      refreshTokens.rotate({ token: first, clientId: 'pcd_other', resource: undefined, scopes: undefined }),
      'invalid_grant',
      'the refresh token was issued to another client',
    );
    await refuses(
      refreshTokens.rotate({ token: first, clientId: client, resource: OTHER_RESOURCE, scopes: undefined }),
      'invalid_target',
      `resource must be ${RESOURCE}`,
    );
    clock.now += 30 * 24 * HOUR;
    await refuses(
      refreshTokens.rotate({ token: first, clientId: client, resource: undefined, scopes: undefined }),
      'invalid_grant',
      /has expired/,
    );
    await refuses(
      refreshTokens.rotate({
        token: `pcr_${'A'.repeat(43)}`,
        clientId: client,
        resource: undefined,
        scopes: undefined,
      }),
      'invalid_grant',
      /not known/,
    );
    await refuses(
      refreshTokens.rotate({ token: 'pcr_x', clientId: client, resource: undefined, scopes: undefined }),
      'invalid_grant',
      'the refresh token is malformed',
    );
  });
});

describe('Tokens: the token endpoint grants and revocation', () => {
  const CLIENT: OAuthClient = {
    clientId: 'pcd_client',
    kind: 'dynamic',
    redirectUris: ['http://127.0.0.1/cb'],
    tokenEndpointAuthMethod: 'none',
    grantTypes: ['authorization_code', 'refresh_token'],
  };
  const VERIFIER = 'v'.repeat(43);

  async function exchanged() {
    const s = setup();
    const code = await s.codes.issue({
      clientId: CLIENT.clientId,
      redirectUri: 'http://127.0.0.1:9999/cb',
      codeChallenge: s256Challenge(VERIFIER),
      resource: RESOURCE,
      scopes: ['tools:read'],
      subject: 'alice',
    });
    const redemption = {
      code,
      clientId: CLIENT.clientId,
      redirectUri: 'http://127.0.0.1:9999/cb',
      codeVerifier: VERIFIER,
      resource: RESOURCE,
    };
    const response = await s.tokens.exchangeCode(s.codes, redemption, CLIENT);
    return { ...s, code, redemption, response };
  }

  it('exchanges a code for an access token and a refresh token', async () => {
    const { response, accessTokens } = await exchanged();
    assert.equal(response.token_type, 'Bearer');
    assert.equal(response.expires_in, 3600);
    assert.equal(response.scope, 'tools:read');
    assert.match(response.refresh_token ?? '', /^pcr_/);
    assert.equal((await accessTokens.verify(response.access_token, RESOURCE)).sub, 'alice');
  });

  it('issues no refresh token to a client without the refresh_token grant, and refuses it a refresh', async () => {
    const s = setup();
    const noRefresh = { ...CLIENT, grantTypes: ['authorization_code'] as const };
    const code = await s.codes.issue({
      clientId: CLIENT.clientId,
      redirectUri: 'http://127.0.0.1/cb',
      codeChallenge: s256Challenge(VERIFIER),
      resource: RESOURCE,
      scopes: [],
      subject: 'bob',
    });
    const response = await s.tokens.exchangeCode(
      s.codes,
      {
        code,
        clientId: CLIENT.clientId,
        redirectUri: undefined,
        codeVerifier: VERIFIER,
        resource: undefined,
      },
      noRefresh,
    );
    assert.equal(response.refresh_token, undefined);
    await refuses(
      s.tokens.refresh(noRefresh, { token: 'pcr_x', resource: undefined, scopes: undefined }),
      'unauthorized_client',
      /refresh_token grant/,
    );
  });

  it('a replayed code revokes the access and refresh tokens the first use issued', async () => {
    const { tokens, codes, redemption, response, accessTokens } = await exchanged();
    const err = await refuses(
      tokens.exchangeCode(codes, redemption, CLIENT),
      'invalid_grant',
      /already been used/,
    );
    assert.ok(err instanceof CodeReplayError);
    await refuses(
      accessTokens.verify(response.access_token, RESOURCE),
      'invalid_token',
      'the access token has been revoked',
    );
    await refuses(
      tokens.refresh(CLIENT, { token: response.refresh_token, resource: undefined, scopes: undefined }),
      'invalid_grant',
      'the grant of this refresh token has been revoked',
    );
  });

  it('refresh: new tokens for the same resource; reusing the old refresh token revokes the family', async () => {
    const { tokens, response, accessTokens } = await exchanged();
    const refreshed = await tokens.refresh(CLIENT, {
      token: response.refresh_token,
      resource: RESOURCE,
      scopes: undefined,
    });
    assert.equal((await accessTokens.verify(refreshed.access_token, RESOURCE)).scope, 'tools:read');
    assert.notEqual(refreshed.refresh_token, response.refresh_token);
    await refuses(
      tokens.refresh(CLIENT, { token: response.refresh_token, resource: undefined, scopes: undefined }),
      'invalid_grant',
      /already been used/,
    );
    await refuses(
      accessTokens.verify(refreshed.access_token, RESOURCE),
      'invalid_token',
      'the access token has been revoked',
    );
    await refuses(
      accessTokens.verify(response.access_token, RESOURCE),
      'invalid_token',
      'the access token has been revoked',
    );
    await refuses(
      tokens.refresh(CLIENT, { token: refreshed.refresh_token, resource: undefined, scopes: undefined }),
      'invalid_grant',
      /revoked/,
    );
  });

  it('revoke (RFC 7009): an access token by jti, leaving the grant alive', async () => {
    const { tokens, response, accessTokens } = await exchanged();
    await tokens.revoke(CLIENT, response.access_token);
    await refuses(
      accessTokens.verify(response.access_token, RESOURCE),
      'invalid_token',
      'the access token has been revoked',
    );
    const refreshed = await tokens.refresh(CLIENT, {
      token: response.refresh_token,
      resource: undefined,
      scopes: undefined,
    });
    await accessTokens.verify(refreshed.access_token, RESOURCE);
  });

  it('revoke (RFC 7009): a refresh token revokes its whole grant', async () => {
    const { tokens, response, accessTokens } = await exchanged();
    await tokens.revoke(CLIENT, response.refresh_token);
    await refuses(accessTokens.verify(response.access_token, RESOURCE), 'invalid_token', 'revoked');
    await refuses(
      tokens.refresh(CLIENT, { token: response.refresh_token, resource: undefined, scopes: undefined }),
      'invalid_grant',
      /revoked/,
    );
  });

  it('revoke: ignores unknown and foreign tokens, refuses another client and a missing token', async () => {
    const { tokens, response } = await exchanged();
    await tokens.revoke(CLIENT, 'garbage');
    await tokens.revoke(CLIENT, `pcr_${'A'.repeat(43)}`);
    const other = { ...CLIENT, clientId: 'pcd_other' };
    await refuses(
      tokens.revoke(other, response.access_token),
      'invalid_grant',
      'the token was issued to another client',
    );
    await refuses(
      tokens.revoke(other, response.refresh_token),
      'invalid_grant',
      'the token was issued to another client',
    );
    await refuses(tokens.revoke(CLIENT, undefined), 'invalid_request', 'token is required');
  });

  it('the store forgets denied tokens and grants once nothing of them can be presented', async () => {
    const { tokens, response, store, clock, accessTokens } = await exchanged();
    const { gid, jti } = await accessTokens.verify(response.access_token, RESOURCE);
    await tokens.revoke(CLIENT, response.access_token);
    await store.purgeExpired(clock.now + 2 * HOUR);
    assert.equal(
      await store.isAccessTokenRevoked(jti, 'grt_other'),
      false,
      'the jti is forgotten after its exp',
    );
    assert.ok(await store.findGrant(gid), 'the grant lives while its refresh token can be used');
    await store.purgeExpired(clock.now + 31 * 24 * HOUR);
    assert.equal(await store.findGrant(gid), undefined);
  });
});
