/**
 * The gateway's own OAuth 2.1 authorization server over HTTP: metadata (RFC 8414, and the OpenID
 * discovery path), JWKS, dynamic registration (RFC 7591), /authorize with its sign-in and consent
 * pages, /token (authorization_code with PKCE, refresh_token with rotation), revocation (RFC 7009).
 * One handler per endpoint; the pieces they use are the pure modules beside this one. Sign-in is
 * local (the Basic users), delegated to an OpenID provider (upstream-login.ts), or both; either way
 * it ends in the same place: a remembered consent, or the consent page.
 *
 * Refusals: the JSON endpoints answer RFC 6749 §5.2 error objects with no-store; /authorize never
 * redirects for a bad client or redirect URI (an error page instead), and every later refusal goes
 * back to the client's redirect URI with `error`, `state` and `iss` (RFC 9207).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditLog } from '../audit/audit-log.js';
import { AuthError } from '../auth/auth-error.js';
import type { BasicUsers } from '../auth/basic.js';
import type { OAuthConfig } from '../config/oauth-schema.js';
import type { Principal } from '../core/principal.js';
import { readBody } from '../http/read-body.js';
import type { Limiter } from '../limits/rate-limiters.js';
import { expandRoles } from '../policy/scopes.js';
import { AccessTokens, accessTokenPrincipal } from './access-tokens.js';
import { authorizationResponseLocation, parseAuthorizationRequest } from './authorization-request.js';
import { authenticateClient, single } from './client-authentication.js';
import { DynamicClients } from './client-id.js';
import type { OAuthClient } from './client-metadata.js';
import { ClientMetadataDocuments, type LoopbackTestOverride } from './client-metadata-document.js';
import { OAuthClients } from './clients.js';
import { type AuthorizationCodeStore, AuthorizationCodes } from './codes.js';
import type { ConsentStore } from './consents.js';
import { Csrf, CsrfError, type CsrfForm } from './csrf.js';
import { deriveKey } from './derive-key.js';
import { CodeReplayError, OAuthError, oauthErrorBody, RefreshTokenReuseError } from './errors.js';
import {
  AUTHORIZATION_SERVER_METADATA_PATH,
  authorizationServerMetadata,
  OAUTH_PATHS,
  OPENID_CONFIGURATION_PATH,
} from './metadata.js';
import { renderConsentPage } from './pages/consent-page.js';
import { renderAuthorizeErrorPage, renderCsrfErrorPage, renderErrorPage } from './pages/error-page.js';
import { FIELDS } from './pages/fields.js';
import { PAGE_HEADERS, pageHeaders } from './pages/headers.js';
import { renderLoginPage } from './pages/login-page.js';
import { STYLESHEET, STYLESHEET_HEADERS, STYLESHEET_PATH } from './pages/stylesheet.js';
import { RefreshTokens } from './refresh-tokens.js';
import { grantScopes, parseScopeParameter } from './scopes.js';
import { SigningKeys } from './signing-keys.js';
import { isStaticClientId, type StaticClientStore, StaticClients } from './static-clients.js';
import type { TokenStore } from './token-store.js';
import { Tokens } from './tokens.js';
import { browserHash, type Transaction, Transactions } from './transactions.js';
import { UPSTREAM_LOGIN_PATHS, UpstreamLogin } from './upstream-login.js';

/** Form bodies of /token, /revoke, /login and /consent are small; registration has its own cap. */
const MAX_FORM_BYTES = 16 * 1024;
const MAX_REGISTRATION_BODY = 8 * 1024;

export interface OAuthStores {
  readonly clients: StaticClientStore;
  readonly codes: AuthorizationCodeStore;
  readonly tokens: TokenStore;
  readonly consents: ConsentStore;
}

export interface AuthorizationServerOptions {
  readonly config: OAuthConfig;
  readonly publicUrl: URL;
  /** The OAuth signing secret (auth.oauth.signingSecret, else the server secret). */
  readonly secret: Uint8Array;
  readonly stores: OAuthStores;
  /**
   * The Basic users (their password hashes): who may sign in locally when auth.oauth.login.local
   * is on. Absent with an identity provider only.
   */
  readonly users?: BasicUsers | undefined;
  /** policy.roles, to expand a user's roles into the scopes they may grant. */
  readonly roles: Readonly<Record<string, readonly string[]>>;
  /** scopes_supported: the policy's scope vocabulary. */
  readonly scopes: readonly string[];
  /** The MCP endpoint URLs tokens may be issued for (RFC 8707 resources). */
  readonly resources: readonly string[];
  readonly upstreams: readonly string[];
  /** Dynamic registrations per client IP (auth.oauth.registrationPerIp). */
  readonly registrationLimiter: Limiter;
  readonly audit?: AuditLog;
  /**
   * End-to-end tests only (startGateway's `testing` parameter): lets metadata documents be fetched
   * from a loopback server with its own CA. No config option or CLI flag sets it.
   */
  readonly clientMetadataDocumentsTestOverride?: LoopbackTestOverride;
}

/** What an OAuth endpoint sees of its request. */
export interface OAuthRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly clientIp: string;
  readonly secure: boolean;
  readonly requestId: string;
}

type Handler = (r: OAuthRequest) => Promise<void>;

/** A transaction after sign-in also says how the user signed in: an IdP user is no Basic user. */
type SignedInTransaction = Transaction & { readonly via?: 'oidc' };

export class AuthorizationServer {
  readonly issuer: string;
  private readonly clients: OAuthClients;
  private readonly codes: AuthorizationCodes;
  private readonly accessTokens: AccessTokens;
  private readonly tokens: Tokens;
  private readonly keys: SigningKeys;
  private readonly csrf: Csrf;
  private readonly transactions: Transactions;
  private readonly dynamic: DynamicClients | undefined;
  private readonly upstream: UpstreamLogin | undefined;
  /** Local sign-in is offered: configured on, and there are users to check. */
  private readonly localLogin: boolean;
  private readonly routes: ReadonlyMap<string, Handler>;

  constructor(private readonly options: AuthorizationServerOptions) {
    const { config, secret, stores, publicUrl } = options;
    this.issuer = publicUrl.origin;
    this.dynamic =
      config.registration === 'open' ? new DynamicClients({ issuer: this.issuer, secret }) : undefined;
    this.clients = new OAuthClients({
      ...(this.dynamic ? { dynamic: this.dynamic } : {}),
      ...(config.registration === 'static' ? { static: new StaticClients(stores.clients) } : {}),
      ...(config.clientMetadataDocuments
        ? {
            metadataDocuments: new ClientMetadataDocuments({}, options.clientMetadataDocumentsTestOverride),
          }
        : {}),
    });
    this.codes = new AuthorizationCodes(stores.codes);
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
    this.tokens = new Tokens({
      accessTokens: this.accessTokens,
      refreshTokens: new RefreshTokens(
        stores.tokens,
        deriveKey(secret, 'refresh-token'),
        config.refreshTokens.lifetime,
      ),
      store: stores.tokens,
    });
    this.csrf = new Csrf({ key: deriveKey(secret, 'csrf'), publicUrl });
    this.transactions = new Transactions(deriveKey(secret, 'authorize-transaction'), this.issuer);
    const { oidc } = config.login;
    this.upstream = oidc
      ? new UpstreamLogin({
          config: oidc,
          issuer: this.issuer,
          stateKey: deriveKey(secret, 'upstream-login-state'),
        })
      : undefined;
    this.localLogin = config.login.local && options.users !== undefined;
    const metadata: Handler = async ({ res }) => sendJson(res, 200, this.metadata());
    this.routes = new Map<string, Handler>([
      [`GET ${AUTHORIZATION_SERVER_METADATA_PATH}`, metadata],
      [`GET ${OPENID_CONFIGURATION_PATH}`, metadata],
      [`GET ${OAUTH_PATHS.jwks}`, async ({ res }) => sendJson(res, 200, await this.keys.jwks())],
      [`GET ${STYLESHEET_PATH}`, async ({ res }) => send(res, 200, STYLESHEET_HEADERS, STYLESHEET)],
      [`GET ${OAUTH_PATHS.authorization}`, (r) => this.authorize(r)],
      ...(this.localLogin
        ? ([[`POST ${OAUTH_PATHS.login}`, (r: OAuthRequest) => this.login(r)]] as const)
        : []),
      ...(this.upstream
        ? ([
            [`GET ${UPSTREAM_LOGIN_PATHS.start}`, (r: OAuthRequest) => this.startUpstreamLogin(r)],
            [`GET ${UPSTREAM_LOGIN_PATHS.callback}`, (r: OAuthRequest) => this.upstreamCallback(r)],
          ] as const)
        : []),
      [`POST ${OAUTH_PATHS.consent}`, (r) => this.consent(r)],
      [`POST ${OAUTH_PATHS.token}`, (r) => this.json(r, 'token', () => this.token(r))],
      [`POST ${OAUTH_PATHS.revocation}`, (r) => this.json(r, 'revoke', () => this.revoke(r))],
      ...(this.dynamic
        ? ([
            [
              `POST ${OAUTH_PATHS.registration}`,
              (r: OAuthRequest) => this.json(r, 'register', () => this.register(r)),
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

  // ---- /authorize, sign-in and consent ----

  private async authorize({ req, res }: OAuthRequest): Promise<void> {
    const params = new URL(req.url ?? '/', this.issuer).searchParams;
    const parsed = await parseAuthorizationRequest(params, {
      issuer: this.issuer,
      resources: this.options.resources,
      resolveClient: (id) => this.clients.resolve(id),
    });
    if (!parsed.ok && !parsed.redirect) {
      send(res, 400, PAGE_HEADERS, renderAuthorizeErrorPage(parsed.error));
      return;
    }
    if (!parsed.ok) {
      redirect(res, parsed.location);
      return;
    }
    const { request } = parsed;
    const transaction: Transaction = {
      clientId: request.client.clientId,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      resource: request.resource,
      scopes: request.scopes,
      state: request.state,
    };
    await this.showLogin(res, req, transaction, request.client, await this.transactions.seal(transaction));
  }

  private async showLogin(
    res: ServerResponse,
    req: IncomingMessage,
    transaction: Transaction,
    client: OAuthClient,
    requestId: string,
    failure?: { username: string; error: string; throttled?: { retryAfter: number | undefined } },
  ): Promise<void> {
    const binding = this.csrf.binding(req.headers.cookie);
    const external = this.upstream && this.options.config.login.oidc;
    const externalQuery = new URLSearchParams({
      [FIELDS.requestId]: requestId,
      [FIELDS.csrfToken]: this.csrf.token('external-login', requestId, binding.value),
    });
    const page = renderLoginPage({
      action: OAUTH_PATHS.login,
      requestId,
      csrfToken: this.csrf.token('login', requestId, binding.value),
      client,
      localLogin: this.localLogin,
      ...(external
        ? { externalLogin: { name: external.name, href: `${UPSTREAM_LOGIN_PATHS.start}?${externalQuery}` } }
        : {}),
      ...(failure ? { username: failure.username, error: failure.error } : {}),
    });
    // A remembered consent sends the sign-in straight on to the client: its form may lead there.
    const base = pageHeaders({ redirectUris: [transaction.redirectUri] });
    const headers = [
      ...base,
      ...(binding.setCookie ? [['set-cookie', binding.setCookie] as const] : []),
      ...(failure?.throttled?.retryAfter !== undefined
        ? [['retry-after', String(failure.throttled.retryAfter)] as const]
        : []),
    ];
    // A throttled sign-in is 429 (as the audit event records it), a wrong password 401.
    send(res, failure ? (failure.throttled ? 429 : 401) : 200, headers, page);
  }

  private async login(r: OAuthRequest): Promise<void> {
    const { req, res } = r;
    const form = await this.form(r, 'login');
    if (!form) return;
    const { fields, requestId, binding } = form;
    const transaction = await this.transactions.open(requestId).catch((err: unknown) => err as OAuthError);
    if (transaction instanceof OAuthError) return this.pageError(res, transaction);
    const client = await this.clients.resolve(transaction.clientId);
    const username = fields.get(FIELDS.username) ?? '';
    const password = fields.get(FIELDS.password) ?? '';
    let user: Principal;
    try {
      // The route exists only with local login on, which needs users.
      user = await (this.options.users as BasicUsers).verify({
        username,
        password,
        clientIp: r.clientIp,
        secure: r.secure,
      });
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      this.options.audit?.record({
        type: 'auth.failure',
        requestId: r.requestId,
        method: 'basic',
        reason: err.status === 429 ? 'too_many_attempts' : 'invalid_credentials',
        message: err.message,
        status: err.status,
        clientIp: r.clientIp,
        upstream: '-',
        endpoint: OAUTH_PATHS.login,
        username,
      });
      const throttled = err.status === 429 ? { retryAfter: err.retryAfter } : undefined;
      const error = throttled
        ? 'Too many failed attempts. Wait a while and try again.'
        : 'The user name or password is not right.';
      return this.showLogin(res, req, transaction, client, requestId, {
        username,
        error,
        ...(throttled ? { throttled } : {}),
      });
    }
    return this.signedIn(res, transaction, client, user, binding);
  }

  /**
   * After a sign-in, local or delegated: straight back to the client when the user already
   * approved these scopes for it, else the consent page (its form bound to the user and browser).
   */
  private async signedIn(
    res: ServerResponse,
    transaction: Transaction,
    client: OAuthClient,
    user: Principal,
    binding: string,
    via?: 'oidc',
  ): Promise<void> {
    const subject = user.name;
    const signedIn: SignedInTransaction = {
      ...transaction,
      subject,
      browser: browserHash(binding),
      ...(via ? { via } : {}),
    };
    const grant = grantScopes(transaction.scopes, this.grantable(user), client.scopes);
    // Scopes the user cannot grant are never granted, so a remembered consent for the rest suffices.
    if (
      grant.granted.length > 0 &&
      (await this.options.stores.consents.covers(subject, client.clientId, grant.granted))
    ) {
      return this.issueCode(res, signedIn, grant.granted);
    }
    const consentId = await this.transactions.seal(signedIn);
    const page = renderConsentPage({
      action: OAUTH_PATHS.consent,
      requestId: consentId,
      csrfToken: this.csrf.token('consent', consentId, binding),
      client,
      redirectUri: transaction.redirectUri,
      resource: transaction.resource,
      grant,
      userName: user.name,
      upstreams: this.options.upstreams,
    });
    send(res, 200, pageHeaders({ redirectUris: [transaction.redirectUri] }), page);
  }

  private async consent(r: OAuthRequest): Promise<void> {
    const { res } = r;
    const form = await this.form(r, 'consent');
    if (!form) return;
    const { fields, requestId, binding } = form;
    const transaction = await this.transactions.open(requestId).catch((err: unknown) => err as OAuthError);
    if (transaction instanceof OAuthError) return this.pageError(res, transaction);
    if (transaction.subject === undefined || transaction.browser !== browserHash(binding)) {
      return this.pageError(
        res,
        new OAuthError('invalid_request', 'sign in first — this consent form was not issued to this browser'),
      );
    }
    const deny = (description: string) =>
      redirect(
        res,
        authorizationResponseLocation(
          transaction.redirectUri,
          { error: 'access_denied', error_description: description },
          transaction.state,
          this.issuer,
        ),
        [transaction.redirectUri],
      );
    if (fields.get(FIELDS.decision) !== 'approve') return deny('the user denied the request');
    const client = await this.clients.resolve(transaction.clientId);
    const user = this.userOf(transaction);
    if (!user) return deny('the user no longer exists');
    const grant = grantScopes(transaction.scopes, this.grantable(user), client.scopes);
    if (grant.granted.length === 0) return deny('none of the requested scopes may be granted by this user');
    await this.options.stores.consents.remember(
      transaction.subject,
      client.clientId,
      grant.granted,
      Date.now(),
    );
    this.options.audit?.record({
      type: 'oauth.consent',
      requestId: r.requestId,
      clientIp: r.clientIp,
      subject: transaction.subject,
      clientId: client.clientId,
      clientKind: client.kind,
      scopes: grant.granted,
      dropped: grant.dropped,
    });
    return this.issueCode(res, transaction, grant.granted);
  }

  private async issueCode(
    res: ServerResponse,
    transaction: Transaction,
    scopes: readonly string[],
  ): Promise<void> {
    if (transaction.subject === undefined) throw new OAuthError('server_error', 'no subject');
    const code = await this.codes.issue({
      clientId: transaction.clientId,
      redirectUri: transaction.redirectUri,
      codeChallenge: transaction.codeChallenge,
      resource: transaction.resource,
      scopes,
      subject: transaction.subject,
    });
    redirect(
      res,
      authorizationResponseLocation(transaction.redirectUri, { code }, transaction.state, this.issuer),
      [transaction.redirectUri],
    );
  }

  /** Who signed in for this transaction, with what they may grant now (the config may have changed). */
  private userOf(transaction: SignedInTransaction): Principal | undefined {
    const subject = transaction.subject;
    if (subject === undefined) return undefined;
    if (transaction.via === 'oidc') {
      const oidc = this.options.config.login.oidc;
      return oidc ? upstreamPrincipal(subject, oidc) : undefined;
    }
    return this.localLogin ? this.options.users?.principalOf(subject) : undefined;
  }

  // ---- delegated sign-in (auth.oauth.login.oidc) ----

  /** The sign-in page's "Sign in with …" link: off to the provider, the pending request sealed in state. */
  private async startUpstreamLogin({ req, res }: OAuthRequest): Promise<void> {
    const params = new URL(req.url ?? '/', this.issuer).searchParams;
    const requestId = params.get(FIELDS.requestId) ?? '';
    let binding: string;
    try {
      // A GET, but it must not be triggerable across sites either: a link elsewhere could start a
      // sign-in in the victim's browser for a request the attacker made.
      binding = this.csrf.verify(
        'external-login',
        requestId,
        req.headers.cookie,
        params.get(FIELDS.csrfToken) ?? undefined,
      );
    } catch (err) {
      if (!(err instanceof CsrfError)) throw err;
      return send(res, 403, PAGE_HEADERS, renderCsrfErrorPage(err));
    }
    const transaction = await this.transactions.open(requestId).catch((err: unknown) => err as OAuthError);
    if (transaction instanceof OAuthError) return this.pageError(res, transaction);
    let location: string;
    try {
      location = await (this.upstream as UpstreamLogin).authorizationUrl(transaction, binding);
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      return this.upstreamErrorPage(res, err);
    }
    redirect(res, location);
  }

  /** The provider sends the browser back here: verify, then carry on as after a local sign-in. */
  private async upstreamCallback(r: OAuthRequest): Promise<void> {
    const { req, res } = r;
    const params = new URL(req.url ?? '/', this.issuer).searchParams;
    const cookie = this.csrf.binding(req.headers.cookie);
    // A binding made just now (no cookie came) cannot match the state's: pass none.
    const binding = cookie.setCookie === undefined ? cookie.value : undefined;
    const outcome = await (this.upstream as UpstreamLogin).complete(params, binding).catch((err: unknown) => {
      if (err instanceof OAuthError) return { ok: false as const, error: err, toClient: false };
      throw err;
    });
    if (!outcome.ok) {
      this.options.audit?.record({
        type: 'auth.failure',
        requestId: r.requestId,
        method: 'oauth',
        reason: outcome.error.error === 'access_denied' ? 'invalid_token' : 'invalid_auth_request',
        message: outcome.error.description,
        status: outcome.error.status,
        clientIp: r.clientIp,
        upstream: '-',
        endpoint: UPSTREAM_LOGIN_PATHS.callback,
        ...('username' in outcome && outcome.username !== undefined ? { username: outcome.username } : {}),
      });
      const transaction = 'transaction' in outcome ? outcome.transaction : undefined;
      if (outcome.toClient && transaction) {
        // The provider said no (cancelled, not allowed there): the client hears it, with state and iss.
        return redirect(
          res,
          authorizationResponseLocation(
            transaction.redirectUri,
            { error: 'access_denied', error_description: outcome.error.description },
            transaction.state,
            this.issuer,
          ),
        );
      }
      return this.upstreamErrorPage(res, outcome.error);
    }
    const { transaction, identity } = outcome;
    const oidc = this.options.config.login.oidc as NonNullable<OAuthConfig['login']['oidc']>;
    // One name, one person: an IdP account named like a local user would share that user's
    // remembered consents and principal id (oauth:<name>), so it is refused rather than merged.
    if (this.options.users?.principalOf(identity.username) !== undefined) {
      const error = new OAuthError(
        'access_denied',
        `the name ${identity.username} belongs to a local user here — sign in with the user name and password instead`,
      );
      this.options.audit?.record({
        type: 'auth.failure',
        requestId: r.requestId,
        method: 'oauth',
        reason: 'invalid_token',
        message: error.description,
        status: error.status,
        clientIp: r.clientIp,
        upstream: '-',
        endpoint: UPSTREAM_LOGIN_PATHS.callback,
        username: identity.username,
      });
      return this.upstreamErrorPage(res, error);
    }
    const user = upstreamPrincipal(identity.username, oidc);
    this.options.audit?.record({
      type: 'auth.success',
      requestId: r.requestId,
      method: 'oauth',
      principal: { id: user.id, kind: user.kind, name: user.name },
      clientIp: r.clientIp,
      upstream: '-',
      endpoint: UPSTREAM_LOGIN_PATHS.callback,
    });
    const client = await this.clients.resolve(transaction.clientId);
    // complete() succeeds only when the browser's binding matched the state's, so there is one.
    return this.signedIn(res, transaction, client, user, binding as string, 'oidc');
  }

  private upstreamErrorPage(res: ServerResponse, error: OAuthError): void {
    const name = this.options.config.login.oidc?.name ?? 'the identity provider';
    const page = renderErrorPage({
      title: `Sign-in with ${name} did not succeed`,
      problem: capitalize(error.description),
      advice:
        'Nothing was signed in or approved. Go back to the application and connect again; if this keeps happening, tell the operator of this server.',
      code: error.error,
    });
    send(res, error.status, PAGE_HEADERS, page);
  }

  /** The scopes a user may grant: their own and their roles', expanded. */
  private grantable(user: Principal): string[] {
    return expandRoles(user.scopes, user.roles ?? [], this.options.roles);
  }

  /** A form POST with its CSRF token verified; on a refusal the error page is sent and undefined returned. */
  private async form(
    { req, res }: OAuthRequest,
    kind: CsrfForm,
  ): Promise<{ fields: URLSearchParams; requestId: string; binding: string } | undefined> {
    const fields = new URLSearchParams(await readBody(req, MAX_FORM_BYTES));
    const requestId = fields.get(FIELDS.requestId) ?? '';
    try {
      const binding = this.csrf.verify(
        kind,
        requestId,
        req.headers.cookie,
        fields.get(FIELDS.csrfToken) ?? undefined,
      );
      return { fields, requestId, binding };
    } catch (err) {
      if (!(err instanceof CsrfError)) throw err;
      send(res, 403, PAGE_HEADERS, renderCsrfErrorPage(err));
      return undefined;
    }
  }

  private pageError(res: ServerResponse, error: OAuthError): void {
    send(res, 400, PAGE_HEADERS, renderAuthorizeErrorPage(error));
  }

  // ---- JSON endpoints ----

  /** Runs a JSON endpoint: its answer, or its refusal as an RFC 6749 error object (and an audit event). */
  private async json(
    r: OAuthRequest,
    endpoint: string,
    work: () => Promise<{ status: number; body?: object }>,
  ): Promise<void> {
    const { res } = r;
    try {
      const { status, body } = await work();
      sendJson(res, status, body);
    } catch (err) {
      const { status, body } = oauthErrorBody(err);
      this.options.audit?.record({
        type: 'oauth.refused',
        requestId: r.requestId,
        clientIp: r.clientIp,
        endpoint,
        error: body.error,
        message: body.error_description,
        ...(err instanceof CodeReplayError || err instanceof RefreshTokenReuseError
          ? { grantRevoked: true }
          : {}),
      });
      // RFC 6749 §5.2: a failed client authentication through the Authorization header gets a challenge.
      const headers: Record<string, string> =
        status === 401 ? { 'www-authenticate': 'Basic realm="portcullis-oauth", charset="UTF-8"' } : {};
      sendJson(res, status, body, headers);
    }
  }

  private async register(r: OAuthRequest): Promise<{ status: number; body: object }> {
    const limited = await this.options.registrationLimiter.consume(r.clientIp);
    if (!limited.allowed) {
      throw new OAuthError(
        'temporarily_unavailable',
        `too many registrations from this address — retry in ${limited.resetSeconds} s`,
        { status: 429 },
      );
    }
    if (!(r.req.headers['content-type'] ?? '').startsWith('application/json'))
      throw new OAuthError('invalid_client_metadata', 'send the registration as application/json');
    let body: unknown;
    try {
      body = JSON.parse(await readBody(r.req, MAX_REGISTRATION_BODY));
    } catch (err) {
      throw new OAuthError(
        'invalid_client_metadata',
        err instanceof SyntaxError
          ? 'the registration is not valid JSON'
          : `the registration is larger than ${MAX_REGISTRATION_BODY} bytes`,
      );
    }
    const registered = await (this.dynamic as DynamicClients).register(body);
    this.options.audit?.record({
      type: 'oauth.client_registered',
      requestId: r.requestId,
      clientIp: r.clientIp,
      clientId: registered.client_id,
      clientName: registered.client_name ?? '',
      redirectUris: registered.redirect_uris,
    });
    return { status: 201, body: registered };
  }

  private async token(r: OAuthRequest): Promise<{ status: number; body: object }> {
    const body = await this.formBody(r);
    const client = await authenticateClient(
      { authorization: r.req.headers.authorization, body },
      this.clients,
    );
    const grantType = single(body, 'grant_type');
    const resource = single(body, 'resource');
    const record = (event: 'authorization_code' | 'refresh_token', scopes: string) =>
      this.options.audit?.record({
        type: 'oauth.token',
        requestId: r.requestId,
        clientIp: r.clientIp,
        grantType: event,
        clientId: client.clientId,
        scopes: scopes.split(' ').filter(Boolean),
      });
    if (grantType === 'authorization_code') {
      const answer = await this.tokens.exchangeCode(
        this.codes,
        {
          code: single(body, 'code'),
          clientId: client.clientId,
          redirectUri: single(body, 'redirect_uri'),
          codeVerifier: single(body, 'code_verifier'),
          resource,
        },
        client,
      );
      record('authorization_code', answer.scope);
      return { status: 200, body: answer };
    }
    if (grantType === 'refresh_token') {
      const answer = await this.tokens.refresh(client, {
        token: single(body, 'refresh_token'),
        resource,
        scopes: parseScopeParameter(single(body, 'scope')),
      });
      record('refresh_token', answer.scope);
      return { status: 200, body: answer };
    }
    throw new OAuthError(
      grantType === undefined ? 'invalid_request' : 'unsupported_grant_type',
      grantType === undefined
        ? 'grant_type is required'
        : `grant_type ${grantType} is not supported — use authorization_code or refresh_token`,
    );
  }

  private async revoke(r: OAuthRequest): Promise<{ status: number }> {
    const body = await this.formBody(r);
    const client = await authenticateClient(
      { authorization: r.req.headers.authorization, body },
      this.clients,
    );
    await this.tokens.revoke(client, single(body, 'token'));
    this.options.audit?.record({
      type: 'oauth.revoked',
      requestId: r.requestId,
      clientIp: r.clientIp,
      clientId: client.clientId,
    });
    return { status: 200 };
  }

  private async formBody({ req }: OAuthRequest): Promise<URLSearchParams> {
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      throw new OAuthError('invalid_request', 'send the request as application/x-www-form-urlencoded');
    return new URLSearchParams(await readBody(req, MAX_FORM_BYTES));
  }
}

/** Every user of the identity provider holds what the config gives them all. */
function upstreamPrincipal(username: string, oidc: NonNullable<OAuthConfig['login']['oidc']>): Principal {
  return { id: `oauth:${username}`, kind: 'oauth', name: username, scopes: oidc.scopes, roles: oidc.roles };
}

function capitalize(text: string): string {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** setHeader, not writeHead's list: a page's CSP must replace the front door's, not join it. */
function send(
  res: ServerResponse,
  status: number,
  headers: ReadonlyArray<readonly [string, string]>,
  body: string,
): void {
  for (const [name, value] of headers) res.setHeader(name, value);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.writeHead(status);
  res.end(body);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: object | undefined,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    // RFC 6749 §5.1: token responses (and everything else here) are never cached.
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** 302 to the client; a page whose form led here must allow that target in its form-action. */
function redirect(res: ServerResponse, location: string, redirectUris: readonly string[] = []): void {
  send(res, 302, [...pageHeaders({ redirectUris }), ['location', location]], '');
}
