import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAuthorizationRequest } from '../../src/oauth/authorization-request.js';
import {
  ClientMetadataDocuments,
  clientIdUrlProblem,
  type LoopbackTestOverride,
} from '../../src/oauth/client-metadata-document.js';
import { OAuthClients } from '../../src/oauth/clients.js';
import { s256Challenge } from '../../src/oauth/pkce.js';
import { ISSUER, RESOURCE, refuses } from '../helpers/oauth.js';
import { selfSignedCert } from '../helpers/tls.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A TLS server on 127.0.0.1 with a throw-away certificate for localhost, routing by path. */
let server: Server;
let origin: string;
let testOverride: LoopbackTestOverride;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pcl-cimd-'));
  selfSignedCert(dir);
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
    const path = req.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler) handler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  testOverride = { allowLoopbackForTests: true, ca: cert };
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Serves `body` as JSON at `path`; returns the client id URL. */
function serve(path: string, body: unknown, headers: Record<string, string> = {}): string {
  routes.set(path, (_req, res) => {
    res
      .writeHead(200, { 'content-type': 'application/json', ...headers })
      .end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  return `${origin}${path}`;
}

function documentFor(url: string, extra: Record<string, unknown> = {}) {
  return {
    client_id: url,
    client_name: 'Test Client',
    redirect_uris: ['http://127.0.0.1/callback'],
    ...extra,
  };
}

describe('clientIdUrlProblem (draft §3)', () => {
  it('accepts an https URL with a path', () => {
    assert.equal(clientIdUrlProblem('https://app.example.com/oauth/client.json'), undefined);
    assert.equal(clientIdUrlProblem('https://app.example.com:8443/c?v=1'), undefined);
  });

  it('refuses http, a bare origin, fragments, credentials and dot segments', () => {
    assert.equal(clientIdUrlProblem('http://app.example.com/c.json'), 'must start with https://');
    assert.match(clientIdUrlProblem('https://app.example.com') ?? '', /must have a path/);
    assert.match(clientIdUrlProblem('https://app.example.com/') ?? '', /must have a path/);
    assert.match(clientIdUrlProblem('https://app.example.com/c.json#x') ?? '', /fragment/);
    assert.match(clientIdUrlProblem('https://u:p@app.example.com/c.json') ?? '', /user name or password/);
    assert.match(clientIdUrlProblem('https://app.example.com/a/../c.json') ?? '', /\. or \.\. path segments/);
    assert.match(
      clientIdUrlProblem('https://app.example.com/a/%2E%2e/c.json') ?? '',
      /\. or \.\. path segments/,
    );
    assert.match(clientIdUrlProblem('https://app.example.com/a b') ?? '', /whitespace/);
  });
});

describe('ClientMetadataDocuments: SSRF protection', () => {
  it('refuses a document served on loopback by default, without connecting', async () => {
    const url = serve('/default.json', documentFor(`${origin}/default.json`));
    await refuses(
      new ClientMetadataDocuments().client(url),
      'invalid_client',
      /^the client_id host localhost resolves to a loopback address \((127\.0\.0\.1|::1)\) — metadata documents must be served from a public address$/,
    );
    const literal = url.replace('localhost', '127.0.0.1');
    await refuses(
      new ClientMetadataDocuments().client(literal),
      'invalid_client',
      'resolves to a loopback address (127.0.0.1)',
    );
    assert.equal(hits.get('/default.json'), undefined, 'no request reached the server');
  });

  it('fetches it when the test allows loopback', async () => {
    const url = serve('/allowed.json', documentFor(`${origin}/allowed.json`, { unknown_field: 1 }));
    const client = await new ClientMetadataDocuments({}, testOverride).client(url);
    assert.deepEqual(client, {
      clientId: url,
      kind: 'metadata-document',
      redirectUris: ['http://127.0.0.1/callback'],
      tokenEndpointAuthMethod: 'none',
      grantTypes: ['authorization_code'],
      clientName: 'Test Client',
      loopbackOnly: true,
    });
  });

  it('refuses hosts that resolve to private, link-local, CGNAT, unique-local, multicast or mapped addresses', async () => {
    const cases: [string, string][] = [
      ['10.1.2.3', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.169.254', 'linkLocal'],
      ['100.64.0.1', 'carrierGradeNat'],
      ['fd00::1', 'uniqueLocal'],
      ['fe80::1', 'linkLocal'],
      ['224.0.0.1', 'multicast'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['64:ff9b::a00:1', 'rfc6052'],
      ['0.0.0.0', 'unspecified'],
    ];
    for (const [address, range] of cases) {
      const documents = new ClientMetadataDocuments({ resolve: async () => [address] });
      await refuses(
        documents.client('https://client.example.com/meta.json'),
        'invalid_client',
        `resolves to a ${range} address (${address})`,
      );
    }
  });

  it('refuses a host when any one of its addresses is not public (no picking the good one)', async () => {
    const documents = new ClientMetadataDocuments({ resolve: async () => ['93.184.216.34', '10.0.0.7'] });
    await refuses(
      documents.client('https://client.example.com/meta.json'),
      'invalid_client',
      'private address (10.0.0.7)',
    );
  });

  it('refuses IP-literal hosts in private ranges without any DNS', async () => {
    let resolved = false;
    const documents = new ClientMetadataDocuments({
      resolve: async () => {
        resolved = true;
        return [];
      },
    });
    await refuses(
      documents.client('https://169.254.169.254/latest/meta-data'),
      'invalid_client',
      'linkLocal address',
    );
    await refuses(documents.client('https://[::1]/client.json'), 'invalid_client', 'loopback address (::1)');
    assert.equal(resolved, false);
  });

  it('connects to the address it checked, never resolving the name a second time (no DNS rebinding)', async () => {
    // The system resolver cannot resolve .invalid; reaching the TLS check proves the pinned address was used.
    const port = new URL(origin).port;
    let lookups = 0;
    const documents = new ClientMetadataDocuments(
      {
        resolve: async () => {
          lookups++;
          return ['127.0.0.1'];
        },
      },
      testOverride,
    );
    await refuses(
      documents.client(`https://cimd.invalid:${port}/c.json`),
      'invalid_client',
      '(ERR_TLS_CERT_ALTNAME_INVALID)',
    );
    assert.equal(lookups, 1);
  });

  it('refuses a host that does not resolve', async () => {
    const documents = new ClientMetadataDocuments({
      resolve: async () => Promise.reject(new Error('ENOTFOUND')),
    });
    await refuses(
      documents.client('https://nowhere.example/c.json'),
      'invalid_client',
      'the client_id host nowhere.example does not resolve',
    );
  });
});

describe('ClientMetadataDocuments: the document', () => {
  const documents = () => new ClientMetadataDocuments({}, testOverride);

  it('refuses a document whose client_id is not its URL', async () => {
    const url = serve('/mismatch.json', documentFor('https://attacker.example/client.json'));
    await refuses(
      documents().client(url),
      'invalid_client',
      `the client metadata document's client_id ("https://attacker.example/client.json") does not equal its URL ${url}`,
    );
  });

  it('refuses client secrets and secret-based authentication', async () => {
    const a = serve('/secret.json', documentFor(`${origin}/secret.json`, { client_secret: 's' }));
    await refuses(documents().client(a), 'invalid_client', 'must not contain a client secret');
    const b = serve(
      '/basic.json',
      documentFor(`${origin}/basic.json`, { token_endpoint_auth_method: 'client_secret_basic' }),
    );
    await refuses(
      documents().client(b),
      'invalid_client',
      /token_endpoint_auth_method "client_secret_basic" is not accepted/,
    );
  });

  it('refuses invalid metadata, naming the field', async () => {
    const url = serve(
      '/badredirect.json',
      documentFor(`${origin}/badredirect.json`, { redirect_uris: ['http://evil.example/cb'] }),
    );
    await refuses(
      documents().client(url),
      'invalid_client',
      /^the client metadata document's redirect_uris\.0 .* is plain http/,
    );
    const notJson = serve('/notjson.json', '{nope');
    await refuses(
      documents().client(notJson),
      'invalid_client',
      'the client metadata document is not valid JSON',
    );
    const array = serve('/array.json', '[]');
    await refuses(documents().client(array), 'invalid_client', 'is not a JSON object');
  });

  it('refuses a document larger than 5 KiB, declared or streamed', async () => {
    const url = `${origin}/big.json`;
    serve('/big.json', documentFor(url, { client_name: 'x', padding: 'p'.repeat(6000) }));
    await refuses(
      documents().client(url),
      'invalid_client',
      `the client metadata document at ${url} is larger than 5120 bytes`,
    );
    routes.set('/stream.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"client_id":"${origin}/stream.json","padding":"`);
      res.end(`${'p'.repeat(6000)}"}`);
    });
    await refuses(documents().client(`${origin}/stream.json`), 'invalid_client', 'is larger than 5120 bytes');
  });

  it('does not follow redirects, and accepts only 200 with a JSON content type', async () => {
    const target = serve('/target.json', documentFor(`${origin}/redirect.json`));
    routes.set('/redirect.json', (_req, res) => res.writeHead(302, { location: target }).end());
    await refuses(
      documents().client(`${origin}/redirect.json`),
      'invalid_client',
      'redirects (HTTP 302), and redirects are not followed',
    );
    assert.equal(hits.get('/target.json'), undefined);
    await refuses(
      documents().client(`${origin}/missing.json`),
      'invalid_client',
      'answered HTTP 404 instead of 200',
    );
    routes.set('/html.json', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>'));
    await refuses(
      documents().client(`${origin}/html.json`),
      'invalid_client',
      'has content type "text/html" instead of application/json',
    );
  });

  it('gives up after the time limit', async () => {
    routes.set('/slow.json', () => {
      // Never answers.
    });
    const slow = new ClientMetadataDocuments({ timeoutMs: 200 }, testOverride);
    await refuses(slow.client(`${origin}/slow.json`), 'invalid_client', 'did not arrive within 200 ms');
  });

  it('refuses a certificate that does not verify (no override of TLS checks outside the test CA)', async () => {
    const url = serve('/tls.json', documentFor(`${origin}/tls.json`));
    const noCa = new ClientMetadataDocuments({}, { allowLoopbackForTests: true, ca: '' });
    await refuses(noCa.client(url), 'invalid_client', /could not be fetched \(/);
  });

  it('reports whether every redirect URI is loopback (the consent page warns)', async () => {
    const url = serve(
      '/mixed.json',
      documentFor(`${origin}/mixed.json`, {
        redirect_uris: ['http://127.0.0.1/cb', 'https://app.example.com/cb'],
      }),
    );
    assert.equal((await documents().client(url)).loopbackOnly, false);
  });
});

describe('ClientMetadataDocuments: caching', () => {
  it('caches for max-age within [1 min, 24 h], and shares one fetch among concurrent requests', async () => {
    let now = Date.UTC(2026, 7, 1);
    const documents = new ClientMetadataDocuments({ now: () => now }, testOverride);
    const url = serve('/cached.json', documentFor(`${origin}/cached.json`), {
      'cache-control': 'public, max-age=120',
    });
    await Promise.all([documents.client(url), documents.client(url), documents.client(url)]);
    assert.equal(hits.get('/cached.json'), 1);
    now += 100_000;
    await documents.client(url);
    assert.equal(hits.get('/cached.json'), 1, 'still fresh at 100 s');
    now += 30_000;
    await documents.client(url);
    assert.equal(hits.get('/cached.json'), 2, 'fetched again after 120 s');

    const nostore = serve('/nostore.json', documentFor(`${origin}/nostore.json`), {
      'cache-control': 'no-store',
    });
    await documents.client(nostore);
    now += 59_000;
    await documents.client(nostore);
    assert.equal(hits.get('/nostore.json'), 1, 'no-store is held for the 1-minute floor');
    now += 2_000;
    await documents.client(nostore);
    assert.equal(hits.get('/nostore.json'), 2);
  });

  it('does not cache failures', async () => {
    const documents = new ClientMetadataDocuments({}, testOverride);
    const url = `${origin}/later.json`;
    await refuses(documents.client(url), 'invalid_client', 'HTTP 404');
    serve('/later.json', documentFor(url));
    assert.equal((await documents.client(url)).clientId, url);
  });
});

describe('a metadata document client at /authorize', () => {
  it('refuses a redirect URI the document does not list, on the error page (never redirecting)', async () => {
    const url = serve(
      '/authz.json',
      documentFor(`${origin}/authz.json`, { redirect_uris: ['https://app.example.com/cb'] }),
    );
    const clients = new OAuthClients({ metadataDocuments: new ClientMetadataDocuments({}, testOverride) });
    const params = new URLSearchParams({
      client_id: url,
      redirect_uri: 'https://evil.example/cb',
      response_type: 'code',
      code_challenge: s256Challenge('v'.repeat(43)),
      code_challenge_method: 'S256',
      resource: RESOURCE,
    });
    const context = {
      issuer: ISSUER,
      resources: [RESOURCE],
      resolveClient: (id: string) => clients.resolve(id),
    };
    const result = await parseAuthorizationRequest(params, context);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.redirect, false);
    assert.match(
      !result.ok ? result.error.description : '',
      /redirect_uri "https:\/\/evil\.example\/cb" is not registered/,
    );
    params.set('redirect_uri', 'https://app.example.com/cb');
    const good = await parseAuthorizationRequest(params, context);
    assert.equal(good.ok, true);
  });
});
