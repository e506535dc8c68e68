import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AUTHORIZATION_CODE_LIFETIME_MS,
  AuthorizationCodes,
  type CodeRedemption,
  hashCode,
  MemoryAuthorizationCodeStore,
} from '../../src/oauth/codes.js';
import { CodeReplayError } from '../../src/oauth/errors.js';
import { s256Challenge } from '../../src/oauth/pkce.js';
import { RESOURCE, refuses } from '../helpers/oauth.js';

const VERIFIER = 'x'.repeat(50);
const GRANT = {
  clientId: 'pcc_aaaaaaaaaaaaaaaaaaaaaaaa',
  redirectUri: 'http://127.0.0.1:5000/cb',
  codeChallenge: s256Challenge(VERIFIER),
  resource: RESOURCE,
  scopes: ['tools:read'],
  subject: 'alice',
};

function setup() {
  let now = Date.UTC(2026, 7, 1);
  const store = new MemoryAuthorizationCodeStore();
  const codes = new AuthorizationCodes(store, () => now);
  return { store, codes, advance: (ms: number) => (now += ms) };
}

function redemption(code: string, overrides: Partial<CodeRedemption> = {}): CodeRedemption {
  return {
    code,
    clientId: GRANT.clientId,
    redirectUri: GRANT.redirectUri,
    codeVerifier: VERIFIER,
    resource: RESOURCE,
    ...overrides,
  };
}

describe('AuthorizationCodes', () => {
  it('issues an opaque code and stores only its hash, bound to everything the request named', async () => {
    const { store, codes } = setup();
    const code = await codes.issue(GRANT);
    assert.match(code, /^pca_[\w-]{43}$/);
    const record = await codes.redeem(redemption(code));
    assert.equal(record.hash, hashCode(code));
    assert.deepEqual(
      { ...record, grantId: 'x', hash: 'x', issuedAt: 0, expiresAt: record.expiresAt - record.issuedAt },
      { ...GRANT, grantId: 'x', hash: 'x', issuedAt: 0, expiresAt: AUTHORIZATION_CODE_LIFETIME_MS },
    );
    assert.match(record.grantId, /^grt_/);
    assert.equal(JSON.stringify(await store.consume(hashCode(code), 0)).includes(code), false);
  });

  it('accepts a redemption without redirect_uri and resource (OAuth 2.1), bound by PKCE', async () => {
    const { codes } = setup();
    const code = await codes.issue(GRANT);
    const record = await codes.redeem(redemption(code, { redirectUri: undefined, resource: undefined }));
    assert.equal(record.subject, 'alice');
  });

  it('reports a replay with the grant to revoke', async () => {
    const { codes } = setup();
    const code = await codes.issue(GRANT);
    const first = await codes.redeem(redemption(code));
    const err = await refuses(
      codes.redeem(redemption(code)),
      'invalid_grant',
      /^the authorization code has already been used/,
    );
    assert.ok(err instanceof CodeReplayError);
    assert.equal(err.grantId, first.grantId);
  });

  it('lets exactly one of two concurrent redemptions through', async () => {
    const { codes } = setup();
    const code = await codes.issue(GRANT);
    const results = await Promise.allSettled([
      codes.redeem(redemption(code)),
      codes.redeem(redemption(code)),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  });

  it('refuses a code used by another client, and burns it', async () => {
    const { codes } = setup();
    const code = await codes.issue(GRANT);
    await refuses(
      codes.redeem(redemption(code, { clientId: 'pcc_bbbbbbbbbbbbbbbbbbbbbbbb' })),
      'invalid_grant',
      'the authorization code was issued to another client',
    );
    await refuses(codes.redeem(redemption(code)), 'invalid_grant', /already been used/);
  });

  it('refuses another redirect URI, even the same loopback URI on another port', async () => {
    const { codes } = setup();
    for (const redirectUri of ['https://evil.example/cb', 'http://127.0.0.1:5001/cb']) {
      const code = await codes.issue(GRANT);
      await refuses(
        codes.redeem(redemption(code, { redirectUri })),
        'invalid_grant',
        'redirect_uri differs from the one of the authorization request',
      );
    }
  });

  it('refuses a wrong or missing verifier', async () => {
    const { codes } = setup();
    const a = await codes.issue(GRANT);
    await refuses(
      codes.redeem(redemption(a, { codeVerifier: 'y'.repeat(50) })),
      'invalid_grant',
      /does not match the code_challenge/,
    );
    const b = await codes.issue(GRANT);
    await refuses(
      codes.redeem(redemption(b, { codeVerifier: undefined })),
      'invalid_request',
      /code_verifier is required/,
    );
  });

  it('refuses a token request for another resource', async () => {
    const { codes } = setup();
    const code = await codes.issue(GRANT);
    await refuses(
      codes.redeem(redemption(code, { resource: 'https://mcp.example.com/servers/other/mcp' })),
      'invalid_target',
      `resource must be ${RESOURCE}, the resource the code was issued for`,
    );
  });

  it('expires after 5 minutes, and purges expired codes', async () => {
    const { codes, store, advance } = setup();
    const code = await codes.issue(GRANT);
    advance(AUTHORIZATION_CODE_LIFETIME_MS);
    await refuses(codes.redeem(redemption(code)), 'invalid_grant', /has expired — codes live 5 minutes/);
    const other = await codes.issue(GRANT);
    assert.equal(await store.purgeExpired(Date.UTC(2026, 7, 1) + AUTHORIZATION_CODE_LIFETIME_MS + 1), 1);
    await codes.redeem(redemption(other));
    await refuses(codes.redeem(redemption(code)), 'invalid_grant', /not known/);
  });

  it('refuses missing, malformed and unknown codes', async () => {
    const { codes } = setup();
    await refuses(codes.redeem(redemption('')), 'invalid_request', 'code is required');
    await refuses(
      codes.redeem(redemption('pca_short')),
      'invalid_grant',
      'the authorization code is malformed',
    );
    await refuses(codes.redeem(redemption(`pca_${'A'.repeat(43)}`)), 'invalid_grant', /not known/);
  });
});
