/**
 * Opaque access tokens from a real OpenID provider, checked through its RFC 7662 introspection endpoint:
 * an active token is accepted, a revoked one refused once the cache entry lapses, a token for another
 * resource or issuer refused, and an unreachable provider is a 401 — never a crash.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
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
  startAuthGateway,
} from '../helpers/auth.js';
import { EVERYTHING, stdioUpstream } from '../helpers/gateway.js';
import { type OidcFixture, startOidcProvider } from '../helpers/oidc-provider.js';
import { freePort } from '../helpers/processes.js';

const watch = new LeakWatch();
const NOT_ACTIVE = 'the token is not active (expired, revoked or unknown)';
const UNREACHABLE = 'the identity provider cannot be reached to check the token — try again later';

let op: OidcFixture;

before(async () => {
  op = await startOidcProvider({ resource: 'http://127.0.0.1:9/unused', opaque: true, accessTokenTtl: 300 });
  watch.secret(op.introspectionClient.clientSecret, op.tokenClient.clientSecret);
});
// The last test stops the provider itself.
after(() => op?.close().catch(() => {}));

async function opaque(resource: string, scopes: readonly string[] = ['tools:read']): Promise<string> {
  const token = await op.token(scopes, { resource });
  assert.equal(token.split('.').length, 1, 'an opaque token, not a JWT');
  watch.secret(token);
  return token;
}

function yamlFor(introspection: string): string {
  return `listen: { host: 127.0.0.1, port: 0 }
auth:
  introspection: ${introspection}
upstreams:
${stdioUpstream('everything', EVERYTHING, ['stdio'])}`;
}

const introspectionFor = (extra = '', url = op.introspectionEndpoint) =>
  `{ url: "${url}", clientId: ${op.introspectionClient.clientId}, clientSecret: "${op.introspectionClient.clientSecret}"${extra} }`;

describe('introspection against the provider', () => {
  let gw: AuthGateway;
  let url: string;
  let metadata: string;

  before(async () => {
    gw = await startAuthGateway(yamlFor(introspectionFor(`, issuer: "${op.issuer}", cacheTtl: 100ms`)));
    watch.watch('gateway', gw.logs);
    url = `${gw.url}/mcp`;
    metadata = `${gw.url}/.well-known/oauth-protected-resource/mcp`;
  });
  after(() => gw?.close());

  async function refused(token: string, description: string, at = url, meta = metadata): Promise<void> {
    await assertNoUpstreamContact(gw, async () => {
      const r = await initialize(at, { authorization: `Bearer ${token}` });
      assertRefusal(r, 401, 'invalid_token', description);
      assert.equal(r.message, description);
      assert.equal(r.headers.get('www-authenticate'), bearerChallenge(meta, 'invalid_token', description));
      assert.ok(!r.text.includes(token));
    });
  }

  it('lets the real client in with an active opaque token for the endpoint', async () => {
    await echoWith(url, { authorization: `Bearer ${await opaque(url)}` }, 'opaque');
    const doc = (await (await fetch(metadata)).json()) as Record<string, unknown>;
    assert.deepEqual(doc.authorization_servers, [op.issuer]);
    assert.equal(doc.resource, url);
  });

  it('refuses a revoked token once the cache entry (cacheTtl 100ms) lapses', async () => {
    const token = await opaque(url);
    await assertAuthenticated(url, { authorization: `Bearer ${token}` });
    await op.revoke(token);
    await new Promise((r) => setTimeout(r, 200));
    await refused(token, NOT_ACTIVE);
  });

  it('refuses an unknown token', async () => {
    const unknown = randomBytes(32).toString('base64url');
    watch.secret(unknown);
    await refused(unknown, NOT_ACTIVE);
  });

  it('refuses a token for another resource, and a token for /mcp at another endpoint (cached or not)', async () => {
    const message = 'the token was not issued for this resource (audience)';
    await refused(await opaque('http://127.0.0.1:9/other/mcp'), message);
    const token = await opaque(url);
    await assertAuthenticated(url, { authorization: `Bearer ${token}` });
    await refused(
      token,
      message,
      `${gw.url}/servers/everything/mcp`,
      `${gw.url}/.well-known/oauth-protected-resource/servers/everything/mcp`,
    );
  });

  it('puts the token’s scopes and client on the principal', async () => {
    const { config } = parseConfig(yamlFor(introspectionFor(`, issuer: "${op.issuer}"`)), process.cwd(), {});
    const setup = setupAuthentication(config.auth, new URL('http://127.0.0.1:8787'), undefined);
    const token = await opaque('http://127.0.0.1:8787/mcp', ['tools:read', 'files:write']);
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
    assert.equal(ctx.principal?.kind, 'oauth');
    assert.equal(ctx.principal?.clientId, op.tokenClient.clientId);
    assert.deepEqual(ctx.principal?.scopes, ['tools:read', 'files:write']);
    assert.ok(ctx.principal?.id.startsWith(`introspection:${op.issuer}#`));
  });
});

describe('introspection: issuer mismatch and an unreachable provider', () => {
  let otherIssuer: AuthGateway;
  let down: AuthGateway;
  let wrongSecret: AuthGateway;

  before(async () => {
    otherIssuer = await startAuthGateway(yamlFor(introspectionFor(', issuer: "https://idp.example.com"')));
    down = await startAuthGateway(
      yamlFor(introspectionFor('', `http://127.0.0.1:${await freePort()}/token/introspection`)),
    );
    wrongSecret = await startAuthGateway(
      yamlFor(
        `{ url: "${op.introspectionEndpoint}", clientId: ${op.introspectionClient.clientId}, clientSecret: wrong-secret-value }`,
      ),
    );
    watch.watch('other-issuer gateway', otherIssuer.logs);
    watch.watch('down gateway', down.logs);
    watch.watch('wrong-secret gateway', wrongSecret.logs);
  });
  after(async () => {
    await otherIssuer?.close();
    await down?.close();
    await wrongSecret?.close();
  });

  it('refuses an active token whose introspection names another issuer', async () => {
    const url = `${otherIssuer.url}/mcp`;
    const token = await opaque(url);
    await assertNoUpstreamContact(otherIssuer, async () => {
      const r = await initialize(url, { authorization: `Bearer ${token}` });
      assertRefusal(r, 401, 'invalid_token', 'the token was issued by another issuer');
    });
  });

  it('answers 401 "cannot be reached" when the provider is down, and keeps serving', async () => {
    const url = `${down.url}/mcp`;
    const token = await opaque(url);
    await assertNoUpstreamContact(down, async () => {
      for (let i = 0; i < 3; i++) {
        const r = await initialize(url, { authorization: `Bearer ${token}` });
        assertRefusal(r, 401, 'invalid_token', UNREACHABLE);
        assert.match(r.headers.get('www-authenticate') ?? '', /cannot be reached/);
      }
    });
    assert.equal((await fetch(`${down.url}/healthz`)).status, 200);
  });

  it('answers 401 when the provider refuses the gateway’s own credentials', async () => {
    const url = `${wrongSecret.url}/mcp`;
    const token = await opaque(url);
    await assertNoUpstreamContact(wrongSecret, async () => {
      const r = await initialize(url, { authorization: `Bearer ${token}` });
      assertRefusal(
        r,
        401,
        'invalid_token',
        'the identity provider refused to check the token — try again later',
      );
    });
  });

  it('answers 401 "cannot be reached" once the provider stops, for a token it has not cached', async () => {
    const gw = await startAuthGateway(yamlFor(introspectionFor(`, issuer: "${op.issuer}"`)));
    watch.watch('late gateway', gw.logs);
    try {
      const url = `${gw.url}/mcp`;
      const token = await opaque(url);
      await op.close();
      await assertNoUpstreamContact(gw, async () => {
        const r = await initialize(url, { authorization: `Bearer ${token}` });
        assertRefusal(r, 401, 'invalid_token', UNREACHABLE);
      });
      assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    } finally {
      await gw.close();
    }
  });
});

describe('introspection: logs', () => {
  it('no gateway log line holds a token or the client secret', () => {
    watch.assertClean();
  });
});
