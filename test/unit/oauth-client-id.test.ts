import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticateClient } from '../../src/oauth/client-authentication.js';
import { DynamicClients, MAX_REGISTRATION_BYTES } from '../../src/oauth/client-id.js';
import { OAuthClients } from '../../src/oauth/clients.js';
import { MemoryStaticClientStore, StaticClients } from '../../src/oauth/static-clients.js';
import { ISSUER, refuses, SECRET } from '../helpers/oauth.js';

const NOW = Date.UTC(2026, 7, 1);
const dynamic = (secret = SECRET, issuer = ISSUER) => new DynamicClients({ issuer, secret, now: () => NOW });

const PUBLIC = {
  redirect_uris: ['http://localhost:6274/oauth/callback'],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  client_name: 'MCP Inspector',
  client_uri: 'https://github.com/modelcontextprotocol/inspector',
  scope: 'tools:read resources:read',
};

/** Flips one character in the middle of the JWS payload segment. */
function tamper(clientId: string): string {
  const [head, payload, sig] = clientId.split('.') as [string, string, string];
  const i = Math.floor(payload.length / 2);
  const flipped = payload[i] === 'A' ? 'B' : 'A';
  return `${head}.${payload.slice(0, i)}${flipped}${payload.slice(i + 1)}.${sig}`;
}

describe('DynamicClients: open registration with signed, self-contained client ids', () => {
  it('registers a public client and reads it back with no storage, on any instance with the secret', async () => {
    const response = await dynamic().register({
      ...PUBLIC,
      jwks_uri: 'https://x',
      software_statement: 'e30',
    });
    assert.match(response.client_id, /^pcd_[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(response.client_id_issued_at, NOW / 1000);
    assert.equal(response.client_secret, undefined, 'a public client gets no secret');
    assert.equal(response.token_endpoint_auth_method, 'none');
    assert.deepEqual(response.grant_types, ['authorization_code', 'refresh_token']);
    assert.equal('jwks_uri' in response, false, 'unknown metadata is dropped');
    const client = await dynamic().client(response.client_id);
    assert.deepEqual(client, {
      clientId: response.client_id,
      kind: 'dynamic',
      redirectUris: ['http://localhost:6274/oauth/callback'],
      tokenEndpointAuthMethod: 'none',
      grantTypes: ['authorization_code', 'refresh_token'],
      clientName: 'MCP Inspector',
      clientUri: 'https://github.com/modelcontextprotocol/inspector',
      scopes: ['tools:read', 'resources:read'],
    });
  });

  it('applies RFC 7591 defaults: client_secret_basic with a derived secret, authorization_code only', async () => {
    const clients = dynamic();
    const response = await clients.register({ redirect_uris: ['https://app.example.com/cb'] });
    assert.equal(response.token_endpoint_auth_method, 'client_secret_basic');
    assert.deepEqual(response.grant_types, ['authorization_code']);
    assert.match(response.client_secret ?? '', /^pcs_[\w-]{43}$/);
    assert.equal(response.client_secret_expires_at, 0);
    const client = await clients.client(response.client_id);
    assert.equal(clients.verifySecret(client, response.client_secret ?? ''), true);
    assert.equal(
      dynamic().verifySecret(client, response.client_secret ?? ''),
      true,
      'derived, so every instance agrees',
    );
    assert.equal(clients.verifySecret(client, `${response.client_secret}x`), false);
    assert.equal(clients.verifySecret(client, ''), false);
    const other = await clients.register({ redirect_uris: ['https://app.example.com/cb'] });
    assert.notEqual(other.client_id, response.client_id, 'identical registrations still get distinct ids');
    assert.notEqual(other.client_secret, response.client_secret);
  });

  it('refuses a tampered client id', async () => {
    const { client_id } = await dynamic().register(PUBLIC);
    await refuses(dynamic().client(tamper(client_id)), 'invalid_client', /does not verify — it was altered/);
    await refuses(dynamic().client(`${client_id}x`), 'invalid_client', /does not verify/);
    await refuses(dynamic().client('pcd_not-a-jws'), 'invalid_client', 'the client id is malformed');
    await refuses(dynamic().client('pcd_a.b.c'), 'invalid_client', /does not verify/);
  });

  it('refuses every client after the signing secret is rotated', async () => {
    const { client_id } = await dynamic().register(PUBLIC);
    const rotated = dynamic(new TextEncoder().encode('a-completely-different-secret-value-123'));
    await refuses(rotated.client(client_id), 'invalid_client', /signing secret was rotated/);
  });

  it('refuses a client id minted for another issuer under the same secret', async () => {
    const { client_id } = await dynamic(SECRET, 'https://other.example.com').register(PUBLIC);
    await refuses(
      dynamic().client(client_id),
      'invalid_client',
      'was registered with another authorization server',
    );
  });

  it('refuses oversized registrations: the request, the kept metadata, each field', async () => {
    await refuses(
      dynamic().register({ ...PUBLIC, padding: 'x'.repeat(MAX_REGISTRATION_BYTES) }),
      'invalid_client_metadata',
      /^the registration request is \d+ bytes; at most 8192 are accepted/,
    );
    const many = Array.from({ length: 10 }, (_, i) => `https://app.example.com/${'p'.repeat(400)}/${i}`);
    await refuses(
      dynamic().register({ redirect_uris: many }),
      'invalid_client_metadata',
      /^the registered metadata is \d+ bytes; at most 2048 are accepted/,
    );
    const eleven = Array.from({ length: 11 }, (_, i) => `https://app.example.com/${i}`);
    await refuses(
      dynamic().register({ redirect_uris: eleven }),
      'invalid_redirect_uri',
      'at most 10 redirect URIs',
    );
    await refuses(
      dynamic().register({ ...PUBLIC, client_name: 'n'.repeat(101) }),
      'invalid_client_metadata',
      /^client_name must be at most 100/,
    );
  });

  it('refuses bad metadata with the field and the reason', async () => {
    await refuses(dynamic().register({}), 'invalid_redirect_uri', /^redirect_uris is required/);
    await refuses(
      dynamic().register({ redirect_uris: [] }),
      'invalid_redirect_uri',
      'must list at least one',
    );
    await refuses(
      dynamic().register({ redirect_uris: ['http://evil.example/cb'] }),
      'invalid_redirect_uri',
      /^redirect_uris\.0 "http:\/\/evil\.example\/cb" is plain http/,
    );
    await refuses(
      dynamic().register({ redirect_uris: ['https://app.example.com/cb#frag'] }),
      'invalid_redirect_uri',
      '#fragment',
    );
    await refuses(
      dynamic().register({ ...PUBLIC, grant_types: ['client_credentials'] }),
      'invalid_client_metadata',
      /^grant_types\.0 may only hold authorization_code and refresh_token/,
    );
    await refuses(
      dynamic().register({ ...PUBLIC, grant_types: ['refresh_token'] }),
      'invalid_client_metadata',
      'grant_types must include authorization_code',
    );
    await refuses(
      dynamic().register({ ...PUBLIC, response_types: ['token'] }),
      'invalid_client_metadata',
      /no implicit flow/,
    );
    await refuses(
      dynamic().register({ ...PUBLIC, token_endpoint_auth_method: 'private_key_jwt' }),
      'invalid_client_metadata',
      /^token_endpoint_auth_method must be none, client_secret_basic or client_secret_post/,
    );
    await refuses(
      dynamic().register({ ...PUBLIC, logo_uri: 'http://x.example/l.png' }),
      'invalid_client_metadata',
      /^logo_uri must be an https/,
    );
    await refuses(
      dynamic().register({ ...PUBLIC, scope: 'a "b"' }),
      'invalid_client_metadata',
      /^scope must be space-separated/,
    );
    await refuses(dynamic().register([PUBLIC]), 'invalid_client_metadata', 'must be a JSON object');
  });
});

describe('StaticClients: pre-registered clients with hashed secrets', () => {
  it('adds a confidential client whose secret is shown once and stored only as a scrypt hash', async () => {
    const store = new MemoryStaticClientStore();
    const clients = new StaticClients(store, () => NOW);
    const { record, secret } = await clients.add({
      name: 'CRM bot',
      redirectUris: ['https://crm.example.com/cb'],
      scopes: ['crm:read'],
    });
    assert.match(record.clientId, /^pcc_[0-9a-f]{24}$/);
    assert.match(secret ?? '', /^pcs_[\w-]{43}$/);
    assert.match(record.secretHash ?? '', /^\$scrypt\$ln=15,r=8,p=1\$/);
    assert.equal(JSON.stringify(await store.list()).includes(secret ?? '?'), false);
    const client = await clients.client(record.clientId);
    assert.equal(client.kind, 'static');
    assert.deepEqual(client.scopes, ['crm:read']);
    assert.equal(await clients.verifySecret(client, secret ?? ''), true);
    assert.equal(await clients.verifySecret(client, 'pcs_wrong'), false);
    assert.equal(await clients.revoke(record.clientId), true);
    await refuses(clients.client(record.clientId), 'invalid_client', 'the client has been revoked');
  });

  it('adds a public client with no secret, and refuses bad redirect URIs and unknown ids', async () => {
    const clients = new StaticClients(new MemoryStaticClientStore());
    const { record, secret } = await clients.add({
      name: 'cli',
      redirectUris: ['http://127.0.0.1/cb'],
      tokenEndpointAuthMethod: 'none',
    });
    assert.equal(secret, undefined);
    assert.equal(record.secretHash, null);
    assert.equal(await clients.verifySecret(await clients.client(record.clientId), ''), false);
    await refuses(
      clients.add({ name: 'x', redirectUris: ['http://evil.example/cb'] }),
      'invalid_redirect_uri',
      'plain http',
    );
    await refuses(
      clients.client('pcc_000000000000000000000000'),
      'invalid_client',
      'the client id is not known',
    );
    await refuses(clients.client('nope'), 'invalid_client', 'the client id is not known');
  });
});

describe('OAuthClients and authenticateClient', () => {
  const basic = (id: string, secret: string) =>
    `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

  it('routes each client id form to its mode, and refuses modes that are off', async () => {
    const d = dynamic();
    const { client_id } = await d.register(PUBLIC);
    const all = new OAuthClients({ dynamic: d });
    assert.equal((await all.resolve(client_id)).kind, 'dynamic');
    const none = new OAuthClients({});
    await refuses(none.resolve(client_id), 'invalid_client', 'dynamic client registration is off');
    await refuses(
      none.resolve('https://app.example.com/client.json'),
      'invalid_client',
      'does not accept client metadata documents',
    );
    await refuses(
      none.resolve('pcc_000000000000000000000000'),
      'invalid_client',
      'the client id is not known',
    );
  });

  it('authenticates client_secret_basic, client_secret_post and none by the registered method only', async () => {
    const d = dynamic();
    const clients = new OAuthClients({ dynamic: d });
    const confidential = await d.register({ redirect_uris: ['https://a.example/cb'] });
    const post = await d.register({
      redirect_uris: ['https://a.example/cb'],
      token_endpoint_auth_method: 'client_secret_post',
    });
    const pub = await d.register(PUBLIC);
    const id = confidential.client_id;
    const secret = confidential.client_secret ?? '';

    const ok = await authenticateClient(
      { authorization: basic(id, secret), body: new URLSearchParams() },
      clients,
    );
    assert.equal(ok.clientId, id);
    const okPost = await authenticateClient(
      {
        authorization: undefined,
        body: new URLSearchParams({ client_id: post.client_id, client_secret: post.client_secret ?? '' }),
      },
      clients,
    );
    assert.equal(okPost.clientId, post.client_id);
    const okPublic = await authenticateClient(
      { authorization: undefined, body: new URLSearchParams({ client_id: pub.client_id }) },
      clients,
    );
    assert.equal(okPublic.clientId, pub.client_id);

    await refuses(
      authenticateClient({ authorization: basic(id, 'pcs_wrong'), body: new URLSearchParams() }, clients),
      'invalid_client',
      'client authentication failed — the client secret is wrong',
    );
    await refuses(
      authenticateClient(
        { authorization: undefined, body: new URLSearchParams({ client_id: id, client_secret: secret }) },
        clients,
      ),
      'invalid_client',
      'this client authenticates with client_secret_basic, but the request used client_secret_post',
    );
    await refuses(
      authenticateClient({ authorization: undefined, body: new URLSearchParams({ client_id: id }) }, clients),
      'invalid_client',
      'but the request used none',
    );
    await refuses(
      authenticateClient({ authorization: basic(pub.client_id, 'x'), body: new URLSearchParams() }, clients),
      'invalid_client',
      /this client is public/,
    );
    await refuses(
      authenticateClient(
        { authorization: basic(id, secret), body: new URLSearchParams({ client_secret: secret }) },
        clients,
      ),
      'invalid_request',
      'send the client secret once',
    );
    await refuses(
      authenticateClient(
        { authorization: basic(id, secret), body: new URLSearchParams({ client_id: pub.client_id }) },
        clients,
      ),
      'invalid_request',
      'differs from the one in the Authorization header',
    );
    await refuses(
      authenticateClient({ authorization: undefined, body: new URLSearchParams() }, clients),
      'invalid_client',
      /^client_id is required/,
    );
    await refuses(
      authenticateClient({ authorization: 'Bearer abc', body: new URLSearchParams() }, clients),
      'invalid_request',
      'not HTTP Basic client credentials',
    );
    await refuses(
      authenticateClient(
        {
          authorization: undefined,
          body: new URLSearchParams([
            ['client_id', 'a'],
            ['client_id', 'b'],
          ]),
        },
        clients,
      ),
      'invalid_request',
      'client_id is repeated',
    );
  });
});
