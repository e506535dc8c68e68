/**
 * The gateway's own OAuth 2.1 authorization server over HTTP: metadata (RFC 8414, and the OpenID
 * discovery path), JWKS, dynamic registration (RFC 7591), /authorize with its sign-in and consent
 * pages, /token (authorization_code with PKCE, refresh_token with rotation), revocation (RFC 7009).
 * This file is the router: it builds the collaborators once and maps each route to its endpoint in
 * endpoints/ (one file each); the pieces they use are the pure modules beside this one. Sign-in is
 * local (the Basic users), delegated to an OpenID provider (upstream-login.ts), or both; either way
 * it ends in the same place: a remembered consent, or the consent page.
 *
 * Refusals: the JSON endpoints answer RFC 6749 §5.2 error objects with no-store; /authorize never
 * redirects for a bad client or redirect URI (an error page instead), and every later refusal goes
 * back to the client's redirect URI with `error`, `state` and `iss` (RFC 9207).
 */

import { AuthError } from '../auth/auth-error.js';
import type { Principal } from '../core/principal.js';
import { AccessTokens, accessTokenPrincipal } from './access-tokens.js';
import { DynamicClients } from './client-id.js';
import { ClientMetadataDocuments } from './client-metadata-document.js';
import { OAuthClients } from './clients.js';
import { AuthorizationCodes } from './codes.js';
import { Csrf } from './csrf.js';
import { deriveKey } from './derive-key.js';
import { authorizeEndpoint } from './endpoints/authorize-endpoint.js';
import { consentEndpoint } from './endpoints/consent-endpoint.js';
import type {
  AuthorizationServerOptions,
  EndpointContext,
  Handler,
  OAuthRequest,
} from './endpoints/endpoint-context.js';
import { type JsonAnswer, runJsonEndpoint } from './endpoints/json-endpoint.js';
import { localLoginEndpoint } from './endpoints/local-login-endpoint.js';
import { registrationEndpoint } from './endpoints/registration-endpoint.js';
import { send, sendJson } from './endpoints/responses.js';
import { revocationEndpoint } from './endpoints/revocation-endpoint.js';
import { tokenEndpoint } from './endpoints/token-endpoint.js';
import { startUpstreamLogin, upstreamCallback } from './endpoints/upstream-login-endpoints.js';
import { OAuthError } from './errors.js';
import {
  AUTHORIZATION_SERVER_METADATA_PATH,
  authorizationServerMetadata,
  OAUTH_PATHS,
  OPENID_CONFIGURATION_PATH,
} from './metadata.js';
import { STYLESHEET, STYLESHEET_HEADERS, STYLESHEET_PATH } from './pages/stylesheet.js';
import { RefreshTokens } from './refresh-tokens.js';
import { SigningKeys } from './signing-keys.js';
import { isStaticClientId, StaticClients } from './static-clients.js';
import { Tokens } from './tokens.js';
import { Transactions } from './transactions.js';
import { UPSTREAM_LOGIN_PATHS, UpstreamLogin } from './upstream-login.js';

export class AuthorizationServer {
  readonly issuer: string;
  private readonly clients: OAuthClients;
  private readonly accessTokens: AccessTokens;
  private readonly keys: SigningKeys;
  private readonly routes: ReadonlyMap<string, Handler>;

  constructor(private readonly options: AuthorizationServerOptions) {
    const { config, secret, stores, publicUrl, users } = options;
    this.issuer = publicUrl.origin;
    const dynamic =
      config.registration === 'open' ? new DynamicClients({ issuer: this.issuer, secret }) : undefined;
    this.clients = new OAuthClients({
      ...(dynamic ? { dynamic } : {}),
      ...(config.registration === 'static' ? { static: new StaticClients(stores.clients) } : {}),
      ...(config.clientMetadataDocuments
        ? {
            metadataDocuments: new ClientMetadataDocuments({}, options.clientMetadataDocumentsTestOverride),
          }
        : {}),
    });
    this.keys = new SigningKeys({
      algorithm: config.accessTokens.signing,
      secret,
      rotationMs: config.accessTokens.keyRotation,
    });
    this.accessTokens = new AccessTokens({
      issuer: this.issuer,
      keys: this.keys,
      store: stores.tokens,
      lifetimeMs: config.accessTokens.lifetime,
    });
    const { oidc } = config.login;
    const upstream = oidc
      ? new UpstreamLogin({
          config: oidc,
          issuer: this.issuer,
          stateKey: deriveKey(secret, 'upstream-login-state'),
        })
      : undefined;
    const ctx: EndpointContext = {
      options,
      issuer: this.issuer,
      clients: this.clients,
      codes: new AuthorizationCodes(stores.codes),
      tokens: new Tokens({
        accessTokens: this.accessTokens,
        refreshTokens: new RefreshTokens(
          stores.tokens,
          deriveKey(secret, 'refresh-token'),
          config.refreshTokens.lifetime,
        ),
        store: stores.tokens,
      }),
      csrf: new Csrf({ key: deriveKey(secret, 'csrf'), publicUrl }),
      transactions: new Transactions(deriveKey(secret, 'authorize-transaction'), this.issuer),
      upstream,
      localLogin: config.login.local && users !== undefined,
    };
    const json =
      (endpoint: string, work: (r: OAuthRequest) => Promise<JsonAnswer>): Handler =>
      (r) =>
        runJsonEndpoint(ctx, r, endpoint, () => work(r));
    const metadata: Handler = async ({ res }) => sendJson(res, 200, this.metadata());
    this.routes = new Map<string, Handler>([
      [`GET ${AUTHORIZATION_SERVER_METADATA_PATH}`, metadata],
      [`GET ${OPENID_CONFIGURATION_PATH}`, metadata],
      [`GET ${OAUTH_PATHS.jwks}`, async ({ res }) => sendJson(res, 200, await this.keys.jwks())],
      [`GET ${STYLESHEET_PATH}`, async ({ res }) => send(res, 200, STYLESHEET_HEADERS, STYLESHEET)],
      [`GET ${OAUTH_PATHS.authorization}`, (r) => authorizeEndpoint(ctx, r)],
      // The route exists only with local login on, which needs users.
      ...(ctx.localLogin && users
        ? ([[`POST ${OAUTH_PATHS.login}`, (r: OAuthRequest) => localLoginEndpoint(ctx, users, r)]] as const)
        : []),
      ...(upstream && oidc
        ? ([
            [`GET ${UPSTREAM_LOGIN_PATHS.start}`, (r: OAuthRequest) => startUpstreamLogin(ctx, upstream, r)],
            [
              `GET ${UPSTREAM_LOGIN_PATHS.callback}`,
              (r: OAuthRequest) => upstreamCallback(ctx, upstream, oidc, r),
            ],
          ] as const)
        : []),
      [`POST ${OAUTH_PATHS.consent}`, (r) => consentEndpoint(ctx, r)],
      [`POST ${OAUTH_PATHS.token}`, json('token', (r) => tokenEndpoint(ctx, r))],
      [`POST ${OAUTH_PATHS.revocation}`, json('revoke', (r) => revocationEndpoint(ctx, r))],
      ...(dynamic
        ? ([
            [
              `POST ${OAUTH_PATHS.registration}`,
              json('register', (r) => registrationEndpoint(ctx, dynamic, r)),
            ],
          ] as const)
        : []),
    ]);
  }

  /** The handler for `method` and `pathname`, when it is one of this server's endpoints. */
  route(method: string | undefined, pathname: string): Handler | undefined {
    const handler = this.routes.get(`${method === 'HEAD' ? 'GET' : method} ${pathname}`);
    if (handler || pathname !== OAUTH_PATHS.registration) return handler;
    // Say why there is no registration here, in OAuth's terms, rather than as a missing MCP endpoint.
    return async ({ res }) =>
      sendJson(res, 404, {
        error: 'invalid_request',
        error_description: `dynamic client registration is off on this server (auth.oauth.registration: ${this.options.config.registration}) — ask its operator for a client id`,
      });
  }

  /** Whether `pathname` belongs to this server (for a 405 rather than a 404 on a wrong method). */
  owns(pathname: string): boolean {
    return [...this.routes.keys()].some((key) => key.endsWith(` ${pathname}`));
  }

  metadata(): object {
    const { config } = this.options;
    return authorizationServerMetadata({
      issuer: this.issuer,
      openRegistration: config.registration === 'open',
      clientMetadataDocuments: config.clientMetadataDocuments,
      accessTokenAlgorithm: config.accessTokens.signing,
      scopes: this.options.scopes,
    });
  }

  /** Whether a bearer token was issued by this server (routes it here rather than to auth.jwt). */
  issued(token: string): boolean {
    return this.accessTokens.isOurs(token);
  }

  /** The principal of one of our access tokens presented to `resource`; AuthError otherwise. */
  async principal(token: string, resource: string): Promise<Principal> {
    try {
      const claims = await this.accessTokens.verify(token, resource);
      // A static client the operator revoked loses its live tokens too, not only its refreshes.
      if (isStaticClientId(claims.client_id)) await this.clients.resolve(claims.client_id);
      return accessTokenPrincipal(claims);
    } catch (err) {
      if (err instanceof OAuthError) throw new AuthError('invalid_token', err.description);
      throw err;
    }
  }
}
