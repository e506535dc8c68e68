import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oauthSchema } from '../../src/config/oauth-schema.js';
import { OAuthError, oauthErrorBody } from '../../src/oauth/errors.js';
import { authorizationServerMetadata } from '../../src/oauth/metadata.js';
import { ISSUER } from '../helpers/oauth.js';

describe('authorizationServerMetadata (RFC 8414)', () => {
  it('advertises open registration, CIMD, ES256 keys and the policy scopes', () => {
    assert.deepEqual(
      authorizationServerMetadata({
        issuer: ISSUER,
        openRegistration: true,
        clientMetadataDocuments: true,
        accessTokenAlgorithm: 'ES256',
        scopes: ['tools:read', 'tools:write', 'tools:read'],
      }),
      {
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/oauth/authorize`,
        token_endpoint: `${ISSUER}/oauth/token`,
        registration_endpoint: `${ISSUER}/oauth/register`,
        revocation_endpoint: `${ISSUER}/oauth/revoke`,
        jwks_uri: `${ISSUER}/oauth/jwks.json`,
        scopes_supported: ['tools:read', 'tools:write'],
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
        revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
        authorization_response_iss_parameter_supported: true,
        client_id_metadata_document_supported: true,
      },
    );
  });

  it('leaves out what is off: no registration endpoint, no CIMD flag, no JWKS for HS256', () => {
    const metadata = authorizationServerMetadata({
      issuer: ISSUER,
      openRegistration: false,
      clientMetadataDocuments: false,
      accessTokenAlgorithm: 'HS256',
      scopes: [],
    });
    assert.equal('registration_endpoint' in metadata, false);
    assert.equal('client_id_metadata_document_supported' in metadata, false);
    assert.equal('jwks_uri' in metadata, false);
  });

  it('refuses an issuer with a path or trailing slash (RFC 9207 compares iss as a string)', () => {
    const options = {
      openRegistration: true,
      clientMetadataDocuments: true,
      accessTokenAlgorithm: 'HS256' as const,
      scopes: [],
    };
    assert.throws(
      () => authorizationServerMetadata({ ...options, issuer: `${ISSUER}/` }),
      /origin without a path/,
    );
    assert.throws(
      () => authorizationServerMetadata({ ...options, issuer: `${ISSUER}/as` }),
      /origin without a path/,
    );
  });
});

describe('oauthErrorBody', () => {
  it('renders a client error with its code, description and status', () => {
    assert.deepEqual(oauthErrorBody(new OAuthError('invalid_grant', 'the code expired')), {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'the code expired' },
    });
    assert.equal(new OAuthError('invalid_client', 'x').status, 401);
    assert.equal(new OAuthError('invalid_client', 'x', { status: 400 }).status, 400);
  });

  it('never exposes a 5xx description or a non-OAuth error', () => {
    assert.deepEqual(oauthErrorBody(new Error('ENOENT /var/lib/portcullis/db')), {
      status: 500,
      body: {
        error: 'server_error',
        error_description: 'the authorization server failed to handle the request',
      },
    });
    assert.deepEqual(
      oauthErrorBody(new OAuthError('server_error', 'sqlite locked at /x')).body.error_description,
      'the authorization server failed to handle the request',
    );
    assert.equal(oauthErrorBody(new OAuthError('temporarily_unavailable', 'redis down')).status, 503);
  });
});

describe('oauthSchema (auth.oauth)', () => {
  it('defaults: open registration, CIMD on, HS256 1h tokens, 30d refresh tokens', () => {
    assert.deepEqual(oauthSchema.parse({}), {
      registration: 'open',
      clientMetadataDocuments: true,
      accessTokens: { signing: 'HS256', lifetime: 3_600_000, keyRotation: 7 * 86_400_000 },
      refreshTokens: { lifetime: 30 * 86_400_000 },
      registrationPerIp: { points: 20, seconds: 3600 },
    });
  });

  it('static registration turns CIMD off unless asked for', () => {
    assert.equal(oauthSchema.parse({ registration: 'static' }).clientMetadataDocuments, false);
    assert.equal(
      oauthSchema.parse({ registration: 'static', clientMetadataDocuments: true }).clientMetadataDocuments,
      true,
    );
  });

  it('refuses bad values with messages that name the fix', () => {
    const message = (input: unknown) => {
      const result = oauthSchema.safeParse(input);
      assert.equal(result.success, false);
      const issue = result.error?.issues[0];
      return `${issue?.path.join('.')}: ${issue?.message}`;
    };
    assert.equal(message({ registration: 'maybe' }), 'registration: must be open, static or off');
    assert.match(
      message({ signingSecret: 'short' }),
      /^signingSecret: must be at least 32 characters — generate one with: openssl/,
    );
    assert.match(
      message({ accessTokens: { lifetime: '2d' } }),
      /^accessTokens\.lifetime: must be between 1m and 24h/,
    );
    assert.match(
      message({ accessTokens: { lifetime: '2h', keyRotation: '1h' } }),
      /^accessTokens\.keyRotation: must be at least accessTokens\.lifetime/,
    );
    assert.match(
      message({ refreshTokens: { lifetime: '30m' } }),
      /^refreshTokens\.lifetime: must be at least/,
    );
    assert.match(
      message({ accessTokens: { signing: 'none' } }),
      /^accessTokens\.signing: must be HS256 or ES256/,
    );
    assert.match(message({ extra: 1 }), /extra|Unrecognized/);
  });
});
