/** Proves the loopback OpenID provider fixture issues real, verifiable, introspectable tokens. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, importJWK, jwtVerify, SignJWT } from 'jose';
import { type OidcFixture, startOidcProvider } from '../helpers/oidc-provider.js';

const RESOURCE = 'http://127.0.0.1:8787/mcp';

interface Introspection {
  active: boolean;
  scope?: string;
  aud?: string | string[];
  iss?: string;
  client_id?: string;
  exp?: number;
  token_type?: string;
}

async function introspect(op: OidcFixture, token: string, clientSecret?: string): Promise<Introspection> {
  const { clientId } = op.introspectionClient;
  const secret = clientSecret ?? op.introspectionClient.clientSecret;
  const response = await fetch(op.introspectionEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ token }),
  });
  if (!response.ok) throw new Error(`introspection: ${response.status} ${await response.text()}`);
  return (await response.json()) as Introspection;
}

describe('oidc-provider fixture: JWT access tokens', () => {
  let op: OidcFixture;
  before(async () => {
    op = await startOidcProvider({ resource: RESOURCE, accessTokenTtl: 120 });
  });
  after(() => op.close());

  test('binds loopback and publishes its endpoints in discovery', async () => {
    assert.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${op.issuer}/.well-known/openid-configuration`);
    assert.equal(response.status, 200);
    const discovery = (await response.json()) as Record<string, unknown>;
    assert.equal(discovery.issuer, op.issuer);
    assert.equal(discovery.jwks_uri, op.jwksUri);
    assert.equal(discovery.token_endpoint, op.tokenEndpoint);
    assert.equal(discovery.introspection_endpoint, op.introspectionEndpoint);
    assert.equal(discovery.revocation_endpoint, op.revocationEndpoint);
    assert.ok((discovery.grant_types_supported as string[]).includes('client_credentials'));
    for (const url of [op.jwksUri, op.tokenEndpoint, op.introspectionEndpoint]) {
      assert.ok(url.startsWith(`${op.issuer}/`), url);
    }
  });

  test('the JWKS serves the public halves of both signing keys', async () => {
    const jwks = (await (await fetch(op.jwksUri)).json()) as { keys: Array<Record<string, unknown>> };
    const kids = jwks.keys.map((key) => key.kid).sort();
    assert.deepEqual(kids, [op.signingKeys.ES256.kid, op.signingKeys.RS256.kid].sort());
    for (const key of jwks.keys) assert.equal(key.d, undefined, 'no private material');
  });

  test('token() returns a JWT that verifies against the remote JWKS with issuer and audience', async () => {
    const token = await op.token(['tools:read']);
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(op.jwksUri)), {
      issuer: op.issuer,
      audience: RESOURCE,
      algorithms: ['RS256', 'ES256'],
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.kid, op.signingKeys.RS256.kid);
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.scope, 'tools:read');
    assert.equal(payload.aud, RESOURCE);
    assert.equal(payload.client_id, op.tokenClient.clientId);
    assert.equal(payload.sub, op.tokenClient.clientId);
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 120);
  });

  test('several and arbitrary scopes, and another resource as audience', async () => {
    const token = await op.token(['tools:read', 'files:write', 'x-custom:thing'], {
      resource: 'http://127.0.0.1:9999/other',
    });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(op.jwksUri)), {
      issuer: op.issuer,
      audience: 'http://127.0.0.1:9999/other',
    });
    assert.equal(payload.scope, 'tools:read files:write x-custom:thing');
    await assert.rejects(
      jwtVerify(token, createRemoteJWKSet(new URL(op.jwksUri)), { issuer: op.issuer, audience: RESOURCE }),
      { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
    );
  });

  test('no scopes: no scope claim', async () => {
    const { payload } = await jwtVerify(await op.token([]), createRemoteJWKSet(new URL(op.jwksUri)), {
      issuer: op.issuer,
      audience: RESOURCE,
    });
    assert.equal(payload.scope, undefined);
  });

  test('signingKeys forge tokens that the provider JWKS accepts (for crafted-claim tests)', async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const jwk = op.signingKeys[alg];
      const forged = await new SignJWT({ scope: 'tools:read' })
        .setProtectedHeader({ alg, kid: jwk.kid, typ: 'at+jwt' })
        .setIssuer(op.issuer)
        .setAudience(RESOURCE)
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(await importJWK(jwk, alg));
      assert.equal(decodeProtectedHeader(forged).kid, jwk.kid);
      const { payload } = await jwtVerify(forged, createRemoteJWKSet(new URL(op.jwksUri)), {
        issuer: op.issuer,
        audience: RESOURCE,
      });
      assert.equal(payload.scope, 'tools:read');
    }
  });

  test('the provider refuses to introspect its JWTs (RFC 7662 is for the opaque ones)', async () => {
    await assert.rejects(introspect(op, await op.token(['tools:read'])), /400.*unsupported_token_type/);
  });
});

describe('oidc-provider fixture: opaque access tokens', () => {
  let op: OidcFixture;
  before(async () => {
    op = await startOidcProvider({ resource: RESOURCE, opaque: true });
  });
  after(() => op.close());

  test('an opaque token introspects as active with scope and aud, then inactive after revoke', async () => {
    const token = await op.token(['tools:read', 'files:write']);
    assert.equal(token.split('.').length, 1, 'not a JWT');

    const info = await introspect(op, token);
    assert.equal(info.active, true);
    assert.equal(info.scope, 'tools:read files:write');
    assert.equal(info.aud, RESOURCE);
    assert.equal(info.iss, op.issuer);
    assert.equal(info.client_id, op.tokenClient.clientId);
    assert.equal(info.token_type, 'Bearer');
    assert.ok(typeof info.exp === 'number' && info.exp > Date.now() / 1000);

    await op.revoke(token);
    assert.deepEqual(await introspect(op, token), { active: false });
  });

  test('introspection needs the introspection client: a wrong secret is a 401', async () => {
    const token = await op.token(['tools:read']);
    await assert.rejects(introspect(op, token, 'wrong-secret'), /401.*invalid_client/);
  });

  test('only the introspection client learns about tokens: the token client itself gets inactive', async () => {
    const token = await op.token(['tools:read']);
    const response = await fetch(op.introspectionEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${op.tokenClient.clientId}:${op.tokenClient.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }),
    });
    assert.deepEqual(await response.json(), { active: false });
  });

  test('an unknown token is inactive', async () => {
    assert.deepEqual(await introspect(op, 'not-a-real-token-value-at-all-0123456789abc'), { active: false });
  });
});
