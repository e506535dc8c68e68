/**
 * JWT access tokens from a real OpenID provider (oidc-provider on loopback), checked by the gateway against
 * the provider's JWKS, configured explicitly or discovered from the issuer. Every refusal is a 401
 * invalid_token whose description names what failed; scopes reach the principal; the token never travels
 * on to an HTTP upstream.
 */
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, importJWK, type JWK, type JWTPayload, SignJWT } from 'jose';
import { authenticate } from '../../src/auth/authenticate.js';
import { setupAuthentication } from '../../src/auth/setup.js';
import { parseConfig } from '../../src/config/load.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import {
  type AuthGateway,
  assertAuthenticated,
  assertNoUpstreamContact,
  assertRefusal,
  bearerChallenge,
  echoWith,
  initialize,
  LeakWatch,
  recordingProxy,
  startAuthGateway,
} from '../helpers/auth.js';
import { EVERYTHING, stdioUpstream } from '../helpers/gateway.js';
import { type OidcFixture, startOidcProvider } from '../helpers/oidc-provider.js';
import { freePort, type RunningProcess, startNode } from '../helpers/processes.js';

type SigningKey = Parameters<SignJWT['sign']>[0];

const watch = new LeakWatch();
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let op: OidcFixture;

before(async () => {
  op = await startOidcProvider({ resource: 'http://127.0.0.1:9/unused', accessTokenTtl: 300 });
});
after(() => op?.close());

/** A real provider token for `resource`, recorded for the log check. */
async function providerToken(resource: string, scopes: readonly string[] = ['tools:read']): Promise<string> {
  const token = await op.token(scopes, { resource });
  watch.secret(token, token.split('.')[2]);
  return token;
}

/** A token signed with the provider's own RS256 key (or `key`), with exactly `claims`. */
async function forge(
  claims: JWTPayload,
  header: { alg?: 'RS256' | 'ES256'; kid?: string; key?: SigningKey } = {},
): Promise<string> {
  const alg = header.alg ?? 'RS256';
  const jwk = op.signingKeys[alg];
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg, kid: header.kid ?? jwk.kid, typ: 'at+jwt' })
    .sign(header.key ?? (await importJWK(jwk, alg)));
  watch.secret(token, token.split('.')[2]);
  return token;
}

function claimsFor(aud: string, extra: JWTPayload = {}): JWTPayload {
  return {
    iss: op.issuer,
    sub: 'svc-reporting',
    aud,
    iat: now(),
    exp: now() + 300,
    scope: 'tools:read',
    client_id: 'reporting',
    ...extra,
  };
}

/** The provider's RS256 public key as a CryptoKey-free JWK. */
function publicJwk(): JWK {
  const { kty, n, e, kid } = op.signingKeys.RS256;
  return { kty, n, e, kid } as JWK;
}

/** HS256 over `header.payload` with `secret`: the classic RS/HS confusion forgery. */
function hs256(payload: JWTPayload, secret: string | Buffer): string {
  const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT', kid: op.signingKeys.RS256.kid })}.${b64url(payload)}`;
  const token = `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
  watch.secret(token);
  return token;
}

function yamlFor(jwt: string, upstreams = stdioUpstream('everything', EVERYTHING, ['stdio'])): string {
  return `listen: { host: 127.0.0.1, port: 0 }\nauth:\n  jwt: ${jwt}\nupstreams:\n${upstreams}`;
}

describe('JWT with an explicit jwksUrl', () => {
  let gw: AuthGateway;
  let url: string;
  let metadata: string;

  before(async () => {
    gw = await startAuthGateway(yamlFor(`{ issuer: "${op.issuer}", jwksUrl: "${op.jwksUri}" }`));
    watch.watch('explicit gateway', gw.logs);
    url = `${gw.url}/mcp`;
    metadata = `${gw.url}/.well-known/oauth-protected-resource/mcp`;
  });
  after(() => gw?.close());

  /** Asserts the 401 invalid_token for `token`, with `description` in the message and the challenge. */
  async function refused(token: string, description: string, at = url, meta = metadata): Promise<void> {
    await assertNoUpstreamContact(gw, async () => {
      const r = await initialize(at, { authorization: `Bearer ${token}` });
      assertRefusal(r, 401, 'invalid_token', description);
      assert.equal(r.message, description);
      assert.equal(r.headers.get('www-authenticate'), bearerChallenge(meta, 'invalid_token', description));
      assert.ok(!r.text.includes(token), 'the token is not echoed');
    });
  }

  it('lets the real client in with a provider token for the endpoint’s resource URL', async () => {
    await echoWith(url, { authorization: `Bearer ${await providerToken(url)}` }, 'jwt');
    const other = `${gw.url}/servers/everything/mcp`;
    await echoWith(other, { authorization: `Bearer ${await providerToken(other)}` }, 'jwt by name');
  });

  it('accepts a token signed with the provider’s ES256 key, and exp within the clock tolerance', async () => {
    await assertAuthenticated(url, {
      authorization: `Bearer ${await forge(claimsFor(url), { alg: 'ES256' })}`,
    });
    const late = await forge(claimsFor(url, { iat: now() - 300, exp: now() - 10 }));
    await assertAuthenticated(url, { authorization: `Bearer ${late}` });
  });

  it('without a token: 401 pointing at metadata that names the issuer as authorization server', async () => {
    await assertNoUpstreamContact(gw, async () => {
      const r = await initialize(url);
      assertRefusal(r, 401, 'unauthorized', 'authentication is required');
      assert.equal(r.headers.get('www-authenticate'), `Bearer resource_metadata="${metadata}"`);
    });
    const doc = (await (await fetch(metadata)).json()) as Record<string, unknown>;
    assert.equal(doc.resource, url);
    assert.deepEqual(doc.authorization_servers, [op.issuer]);
    assert.deepEqual(doc.bearer_methods_supported, ['header']);
  });

  it('refuses a malformed token', async () => {
    const message = 'the token is malformed or not a JWT this gateway accepts';
    await refused('abc.def.ghi', message);
    await refused('not-a-jwt-at-all', message);
    await refused(`${b64url({ alg: 'RS256' })}.bm90IGpzb24.c2ln`, "the token's signature does not verify");
  });

  it('refuses an expired token (exp beyond the clock tolerance), signed with the real key', async () => {
    await refused(
      await forge(claimsFor(url, { iat: now() - 600, exp: now() - 120 })),
      'the token has expired',
    );
  });

  it('refuses a token that is not valid yet (nbf in the future)', async () => {
    await refused(await forge(claimsFor(url, { nbf: now() + 3600 })), 'the token is not valid yet');
  });

  it('refuses a token from another issuer, signed with the real key', async () => {
    await refused(
      await forge(claimsFor(url, { iss: 'https://evil.example' })),
      `the token's "iss" claim is not accepted here (check failed)`,
    );
  });

  it('refuses a provider token for another resource, and a token for /mcp at another endpoint', async () => {
    const message = `the token's "aud" claim is not accepted here (check failed)`;
    await refused(await providerToken('http://127.0.0.1:9/other/mcp'), message);
    await refused(
      await providerToken(url),
      message,
      `${gw.url}/servers/everything/mcp`,
      `${gw.url}/.well-known/oauth-protected-resource/servers/everything/mcp`,
    );
  });

  it('refuses a key the JWKS does not have (unknown kid), and a foreign key under the real kid', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    await refused(
      await forge(claimsFor(url), { kid: 'not-in-the-jwks', key: privateKey }),
      "no signing key of the identity provider matches the token's kid",
    );
    await refused(await forge(claimsFor(url), { key: privateKey }), "the token's signature does not verify");
  });

  it('refuses alg: none', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claimsFor(url))}.`;
    watch.secret(unsigned);
    await refused(unsigned, "the token's signing algorithm is not allowed");
    const withKid = `${b64url({ alg: 'none', kid: op.signingKeys.RS256.kid })}.${b64url(claimsFor(url))}.`;
    await refused(withKid, "the token's signing algorithm is not allowed");
  });

  it('refuses HS256 signed with the provider’s public key (PEM and JWK bytes)', async () => {
    const publicKey = createPublicKey({ key: publicJwk() as JsonWebKey, format: 'jwk' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const jwkJson = JSON.stringify(publicKey.export({ format: 'jwk' }));
    for (const secret of [pem, pem.trim(), der, JSON.stringify(publicJwk()), jwkJson]) {
      await refused(hs256(claimsFor(url), secret), "the token's signing algorithm is not allowed");
    }
  });

  it('refuses a token without exp (and one without sub)', async () => {
    const { exp: _exp, ...noExp } = claimsFor(url);
    await refused(await forge(noExp), `the token's "exp" claim is not accepted here (missing)`);
    const { sub: _sub, ...noSub } = claimsFor(url);
    await refused(await forge(noSub), `the token's "sub" claim is not accepted here (missing)`);
  });
});

describe('JWT with the JWKS discovered from the issuer', () => {
  let gw: AuthGateway;
  let dead: AuthGateway;

  before(async () => {
    gw = await startAuthGateway(yamlFor(`{ issuer: "${op.issuer}" }`));
    watch.watch('discovery gateway', gw.logs);
    dead = await startAuthGateway(yamlFor(`{ issuer: "http://127.0.0.1:${await freePort()}" }`));
    watch.watch('dead-issuer gateway', dead.logs);
  });
  after(async () => {
    await gw?.close();
    await dead?.close();
  });

  it('lets the real client in with a provider token, and still checks the signature', async () => {
    const url = `${gw.url}/mcp`;
    await echoWith(url, { authorization: `Bearer ${await providerToken(url)}` }, 'discovered');
    const { privateKey } = await generateKeyPair('RS256');
    await assertNoUpstreamContact(gw, async () => {
      const r = await initialize(url, {
        authorization: `Bearer ${await forge(claimsFor(url), { key: privateKey })}`,
      });
      assertRefusal(r, 401, 'invalid_token', "the token's signature does not verify");
    });
  });

  it('answers 401 "cannot be reached" when the issuer’s metadata cannot be fetched, and keeps serving', async () => {
    const url = `${dead.url}/mcp`;
    const token = await forge(claimsFor(url, { iss: new URL(dead.url).origin }));
    await assertNoUpstreamContact(dead, async () => {
      const r = await initialize(url, { authorization: `Bearer ${token}` });
      assertRefusal(
        r,
        401,
        'invalid_token',
        'the identity provider cannot be reached to check the token — try again later',
      );
    });
    assert.equal((await fetch(`${dead.url}/healthz`)).status, 200);
  });
});

describe('JWT scopes reach the principal', () => {
  const publicUrl = new URL('http://127.0.0.1:8787');
  const resource = 'http://127.0.0.1:8787/mcp';

  async function principal(jwt: string, token: string) {
    const { config } = parseConfig(yamlFor(jwt), process.cwd(), {});
    const setup = setupAuthentication(config.auth, publicUrl, undefined);
    const ctx = {
      req: {
        url: '/mcp',
        headers: { authorization: `Bearer ${token}` },
        rawHeaders: ['Authorization', `Bearer ${token}`],
      },
      endpoint: { upstream: 'everything', path: '/mcp' },
      clientIp: '127.0.0.1',
      secure: false,
    } as unknown as RequestContext;
    await authenticate(setup.authenticators)(ctx);
    await setup.close();
    return ctx.principal;
  }

  it('from `scope` in a provider token, with the client id and subject', async () => {
    const token = await providerToken(resource, ['tools:read', 'files:write']);
    assert.deepEqual(await principal(`{ issuer: "${op.issuer}", jwksUrl: "${op.jwksUri}" }`, token), {
      id: `jwt:${op.issuer}#${op.tokenClient.clientId}`,
      kind: 'jwt',
      name: op.tokenClient.clientId,
      clientId: op.tokenClient.clientId,
      scopes: ['tools:read', 'files:write'],
    });
  });

  it('from `scp`, as an array or a space-separated string', async () => {
    const jwt = `{ issuer: "${op.issuer}", jwksUrl: "${op.jwksUri}" }`;
    const { scope: _scope, ...noScope } = claimsFor(resource);
    const asArray = await principal(jwt, await forge({ ...noScope, scp: ['files:read', 'tools:*'] }));
    assert.deepEqual(asArray?.scopes, ['files:read', 'tools:*']);
    const asString = await principal(jwt, await forge({ ...noScope, scp: 'a:b  c:d' }));
    assert.deepEqual(asString?.scopes, ['a:b', 'c:d']);
    assert.equal(asString?.id, `jwt:${op.issuer}#svc-reporting`);
    assert.equal(asString?.clientId, 'reporting');
  });

  it('from a configured scopeClaim, ignoring `scope`', async () => {
    const jwt = `{ issuer: "${op.issuer}", jwksUrl: "${op.jwksUri}", scopeClaim: permissions }`;
    const token = await forge(claimsFor(resource, { permissions: ['reports:read', 'reports:write'] }));
    assert.deepEqual((await principal(jwt, token))?.scopes, ['reports:read', 'reports:write']);
    const none = await forge(claimsFor(resource));
    assert.deepEqual((await principal(jwt, none))?.scopes, []);
  });
});

describe('JWT with an HTTP upstream: no token passthrough', () => {
  let upstream: RunningProcess;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let gw: AuthGateway;

  before(async () => {
    const port = await freePort();
    upstream = await startNode([EVERYTHING, 'streamableHttp'], /listening on port/, { PORT: String(port) });
    proxy = await recordingProxy(port);
    gw = await startAuthGateway(
      yamlFor(
        `{ issuer: "${op.issuer}", jwksUrl: "${op.jwksUri}" }`,
        `  everything: { url: "http://127.0.0.1:${proxy.port}/mcp" }\n`,
      ),
    );
    watch.watch('http gateway', gw.logs);
  });
  after(async () => {
    await gw?.close();
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    await upstream?.stop();
  });

  it('never forwards the client’s token to the upstream', async () => {
    const url = `${gw.url}/mcp`;
    const token = await providerToken(url);
    await echoWith(url, { authorization: `Bearer ${token}` }, 'no passthrough');
    assert.ok(
      proxy.seen.some((s) => s.method === 'POST'),
      'the upstream was reached',
    );
    const signature = token.split('.')[2] as string;
    for (const seen of proxy.seen) {
      assert.equal(seen.headers.authorization, undefined);
      assert.ok(!JSON.stringify(seen).includes(signature), 'the token reached the upstream');
    }
  });
});

describe('JWT: logs', () => {
  it('no gateway log line holds a token', () => {
    assert.ok(watch.size >= 20);
    watch.assertClean();
  });
});
