/**
 * Sign-in delegated to an external OpenID provider (auth.oauth.login.oidc): the gateway is an
 * OpenID Connect relying party toward it, with the authorization code flow and PKCE (S256).
 *
 * Nothing is stored between the redirect to the provider and its answer: the `state` we send is an
 * encrypted JWT (upstream-login-state.ts) holding the pending request, our PKCE verifier, the nonce
 * and a hash of the browser's CSRF binding; the binding makes a state taken to another browser
 * worthless (login CSRF, a leaked callback URL). The provider is read by upstream-discovery.ts, the
 * code exchanged by upstream-code-exchange.ts, the id_token checked by upstream-id-token.ts and the
 * user named by upstream-identity.ts; this file is the order they run in.
 */
import { randomBytes } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { OidcLoginConfig } from '../config/oauth-schema.js';
import { OAuthError } from './errors.js';
import { s256Challenge } from './pkce.js';
import { browserHash, type Transaction } from './transactions.js';
import { exchangeCode } from './upstream-code-exchange.js';
import { ProviderDiscovery } from './upstream-discovery.js';
import { verifyIdToken } from './upstream-id-token.js';
import { domainRefusalOf, identityOf, type UpstreamIdentity } from './upstream-identity.js';
import { type SealedState, UpstreamLoginState } from './upstream-login-state.js';

/** Our two endpoints of the delegated sign-in (not in the metadata: only browsers use them). */
export const UPSTREAM_LOGIN_PATHS = {
  /** GET, from the sign-in page's button: redirects to the provider. */
  start: '/oauth/login/oidc',
  /** GET, the provider's redirect back: register `<publicUrl>/oauth/callback` there. */
  callback: '/oauth/callback',
} as const;

/** What the provider's answer at /oauth/callback comes to. */
export type CallbackOutcome =
  /** A verified sign-in for this pending request, from the browser that started it. */
  | { readonly ok: true; readonly transaction: Transaction; readonly identity: UpstreamIdentity }
  /**
   * A refusal. With `toClient`, the provider said no (the person cancelled, or is not allowed at
   * the provider): the MCP client hears access_denied at its redirect URI. Otherwise an error page:
   * the request cannot be trusted, or the failure is the gateway's or the provider's to fix.
   */
  | {
      readonly ok: false;
      readonly error: OAuthError;
      readonly transaction?: Transaction;
      readonly toClient: boolean;
      readonly username?: string;
    };

export interface UpstreamLoginOptions {
  readonly config: OidcLoginConfig;
  /** Our issuer (public origin); the redirect URI is `<issuer>/oauth/callback`. */
  readonly issuer: string;
  /** deriveKey(secret, 'upstream-login-state'): encrypts the state sent through the provider. */
  readonly stateKey: Uint8Array;
}

export class UpstreamLogin {
  readonly redirectUri: string;
  private readonly config: OidcLoginConfig;
  private readonly state: UpstreamLoginState;
  private readonly provider: ProviderDiscovery;

  constructor(options: UpstreamLoginOptions) {
    this.config = options.config;
    this.redirectUri = `${options.issuer}${UPSTREAM_LOGIN_PATHS.callback}`;
    this.state = new UpstreamLoginState(options.stateKey, options.issuer, this.redirectUri);
    this.provider = new ProviderDiscovery(options.config.issuer);
  }

  /** Where to send the browser (holding CSRF binding `binding`) to sign in at the provider. */
  async authorizationUrl(transaction: Transaction, binding: string): Promise<string> {
    const metadata = await this.provider.discover();
    const verifier = randomBytes(32).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const sealed: SealedState = { t: transaction, v: verifier, n: nonce, b: browserHash(binding) };
    const state = await this.state.seal(sealed);
    const url = new URL(metadata.authorization_endpoint);
    const params = {
      response_type: 'code',
      client_id: this.config.clientId,
      redirect_uri: this.redirectUri,
      scope: this.config.requestScopes.join(' '),
      state,
      nonce,
      code_challenge: s256Challenge(verifier),
      code_challenge_method: 'S256',
    };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return url.href;
  }

  /**
   * The provider's answer (the query of GET /oauth/callback) in the browser holding `binding` (its
   * CSRF cookie's value, undefined when it sent none): a verified identity, or why not.
   */
  async complete(params: URLSearchParams, binding: string | undefined): Promise<CallbackOutcome> {
    const sealed = await this.state.open(params.get('state') ?? undefined);
    if (sealed instanceof OAuthError) return { ok: false, error: sealed, toClient: false };
    const transaction = sealed.t;
    const refuse = (description: string, username?: string): CallbackOutcome => ({
      ok: false,
      error: new OAuthError('access_denied', description),
      transaction,
      toClient: false,
      ...(username !== undefined ? { username } : {}),
    });
    // Before anything else: a state (or a whole callback URL) carried to another browser is dead.
    if (binding === undefined || browserHash(binding) !== sealed.b) {
      return refuse(
        'this sign-in was started in another browser (or its cookie was cleared) — go back to the application and connect again',
      );
    }
    const metadata = await this.provider.discover();
    // RFC 9207: when the provider names itself, it must be the one we sent the browser to (mix-up);
    // one that promises to name itself must do so.
    const iss = params.get('iss');
    const issRequired = metadata.authorization_response_iss_parameter_supported === true;
    if ((iss !== null && iss !== metadata.issuer) || (iss === null && issRequired)) {
      return refuse('the answer came from another identity provider than the one this sign-in went to');
    }
    const error = params.get('error');
    if (error !== null) {
      const said = params.get('error_description');
      return {
        ok: false,
        error: new OAuthError(
          'access_denied',
          `the identity provider refused the sign-in (${error.slice(0, 64)}${said ? `: ${said.slice(0, 200)}` : ''})`,
        ),
        transaction,
        toClient: true,
      };
    }
    const code = params.get('code');
    if (code === null || code === '') return refuse('the identity provider sent back no code');
    let claims: JWTPayload;
    try {
      const idToken = await exchangeCode({
        metadata,
        config: this.config,
        redirectUri: this.redirectUri,
        code,
        verifier: sealed.v,
      });
      claims = await verifyIdToken(idToken, {
        issuer: metadata.issuer,
        clientId: this.config.clientId,
        nonce: sealed.n,
        keys: this.provider.jwks(metadata.jwks_uri),
      });
    } catch (err) {
      if (err instanceof OAuthError) return refuse(err.description);
      throw err;
    }
    const identity = identityOf(claims, this.config);
    if (identity instanceof OAuthError) return refuse(identity.description);
    const domainRefusal = domainRefusalOf(claims, this.config.allowedDomains);
    if (domainRefusal) return refuse(domainRefusal, identity.username);
    return { ok: true, transaction, identity };
  }
}
