/**
 * RFC 8414 authorization server metadata, served at /.well-known/oauth-authorization-server (and
 * the OpenID discovery path, for clients that only try that). It advertises exactly what the
 * server does, so a client never tries something that will be refused: the code flow with PKCE
 * S256 only, `iss` in authorization responses (RFC 9207), a registration endpoint only when open
 * registration is on, and client_id_metadata_document_supported only when CIMD is on.
 */
import type { AccessTokenAlgorithm } from './signing-keys.js';

/** Where each endpoint lives, below the issuer. */
export const OAUTH_PATHS = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  registration: '/oauth/register',
  revocation: '/oauth/revoke',
  jwks: '/oauth/jwks.json',
  /** The sign-in and consent forms of /authorize post here (not part of the metadata). */
  login: '/oauth/login',
  consent: '/oauth/consent',
} as const;

export const AUTHORIZATION_SERVER_METADATA_PATH = '/.well-known/oauth-authorization-server';
export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';

const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

export interface MetadataOptions {
  /** The issuer identifier: the public URL's origin, no trailing slash. */
  readonly issuer: string;
  /** `registration: open` adds the registration endpoint. */
  readonly openRegistration: boolean;
  readonly clientMetadataDocuments: boolean;
  readonly accessTokenAlgorithm: AccessTokenAlgorithm;
  /** The policy's scope vocabulary. */
  readonly scopes: readonly string[];
}

export interface AuthorizationServerMetadata {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly registration_endpoint?: string;
  readonly revocation_endpoint: string;
  readonly jwks_uri?: string;
  readonly scopes_supported: readonly string[];
  readonly response_types_supported: readonly ['code'];
  readonly response_modes_supported: readonly ['query'];
  readonly grant_types_supported: readonly ['authorization_code', 'refresh_token'];
  readonly code_challenge_methods_supported: readonly ['S256'];
  readonly token_endpoint_auth_methods_supported: readonly string[];
  readonly revocation_endpoint_auth_methods_supported: readonly string[];
  readonly authorization_response_iss_parameter_supported: true;
  readonly client_id_metadata_document_supported?: true;
}

export function authorizationServerMetadata(options: MetadataOptions): AuthorizationServerMetadata {
  const { issuer } = options;
  if (!/^https?:\/\/[^/?#]+$/.test(issuer)) {
    throw new TypeError(`the issuer must be an origin without a path or trailing slash, not ${issuer}`);
  }
  return {
    issuer,
    authorization_endpoint: `${issuer}${OAUTH_PATHS.authorization}`,
    token_endpoint: `${issuer}${OAUTH_PATHS.token}`,
    ...(options.openRegistration ? { registration_endpoint: `${issuer}${OAUTH_PATHS.registration}` } : {}),
    revocation_endpoint: `${issuer}${OAUTH_PATHS.revocation}`,
    // An HS256 key is secret: there is nothing to publish.
    ...(options.accessTokenAlgorithm === 'ES256' ? { jwks_uri: `${issuer}${OAUTH_PATHS.jwks}` } : {}),
    scopes_supported: [...new Set(options.scopes)],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    authorization_response_iss_parameter_supported: true,
    ...(options.clientMetadataDocuments ? { client_id_metadata_document_supported: true as const } : {}),
  };
}
