/**
 * Sign-in delegated to an external OpenID provider (auth.oauth.login.oidc): the gateway is an
 * OpenID Connect relying party toward it, with the authorization code flow and PKCE (S256).
 *
 * Nothing is stored between the redirect to the provider and its answer: the `state` we send is an
 * encrypted JWT (dir + A256GCM) holding the pending MCP authorization request, our PKCE verifier,
 * the nonce and a hash of the browser's CSRF binding. Encrypted, not only signed, because the
 * browser and the provider both see it and the verifier must stay ours; it lives 10 minutes, and
 * the binding makes a state taken to another browser worthless (login CSRF, a leaked callback URL).
 *
 * The id_token is checked with jose against the provider's JWKS: exact issuer, our client id in
 * `aud` (and as `azp` when there is one), the nonce, exp/iat, asymmetric algorithms only.
 */
import { createHash, type KeyObject, randomBytes } from 'node:crypto';
import {
  createRemoteJWKSet,
  EncryptJWT,
  errors,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtDecrypt,
  jwtVerify,
} from 'jose';
import { JWS_ALGORITHMS } from '../config/auth-schema.js';
import type { OidcLoginConfig } from '../config/oauth-schema.js';
import { insecureUrlReason } from '../config/secure-url.js';
import { OAuthError } from './errors.js';
import { s256Challenge } from './pkce.js';
import { browserHash, type Transaction } from './transactions.js';

/** Our two endpoints of the delegated sign-in (not in the metadata: only browsers use them). */
export const UPSTREAM_LOGIN_PATHS = {
  /** GET, from the sign-in page's button: redirects to the provider. */
  start: '/oauth/login/oidc',
  /** GET, the provider's redirect back: register `<publicUrl>/oauth/callback` there. */
  callback: '/oauth/callback',
} as const;

const STATE_LIFETIME_S = 10 * 60;
const STATE_TYP = 'pcl-upstream-state+jwt';
const FETCH_TIMEOUT_MS = 10_000;
const METADATA_TTL_MS = 60 * 60_000;
const CLOCK_TOLERANCE_S = 30;
/** A principal name: printable, no whitespace (it becomes `oauth:<name>` and a token's `sub`). */
const USERNAME = /^[^\s\p{Cc}]{1,200}$/u;

/** The provider's OpenID discovery document, the fields used here. */
interface ProviderMetadata {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly jwks_uri: string;
  readonly code_challenge_methods_supported?: readonly string[];
  readonly authorization_response_iss_parameter_supported?: boolean;
}

/** Who the provider says signed in. */
export interface UpstreamIdentity {
  readonly username: string;
  readonly subject: string;
  readonly email?: string;
}

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

interface SealedState {
  /** The pending MCP authorization request. */
  readonly t: Transaction;
  /** Our PKCE verifier toward the provider. */
  readonly v: string;
  readonly n: string;
  /** browserHash of the CSRF binding of the browser that was sent away. */
  readonly b: string;
}

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
  private readonly issuer: string;
  private readonly stateKey: Uint8Array;
  private metadata: { value: Promise<ProviderMetadata>; until: number } | undefined;
  private keys: { uri: string; set: JWTVerifyGetKey } | undefined;

  constructor(options: UpstreamLoginOptions) {
    this.config = options.config;
    this.issuer = options.issuer;
    this.stateKey = options.stateKey;
    this.redirectUri = `${options.issuer}${UPSTREAM_LOGIN_PATHS.callback}`;
  }

  /** Where to send the browser (holding CSRF binding `binding`) to sign in at the provider. */
  async authorizationUrl(transaction: Transaction, binding: string): Promise<string> {
    const metadata = await this.discover();
    const verifier = randomBytes(32).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const sealed: SealedState = { t: transaction, v: verifier, n: nonce, b: browserHash(binding) };
    const state = await new EncryptJWT({ s: sealed })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: STATE_TYP })
      .setIssuer(this.issuer)
      .setAudience(this.redirectUri)
      .setIssuedAt()
      .setExpirationTime(`${STATE_LIFETIME_S}s`)
      .encrypt(this.stateKey);
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
    const sealed = await this.openState(params.get('state') ?? undefined);
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
    const metadata = await this.discover();
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
      const idToken = await this.exchange(metadata, code, sealed.v);
      claims = await verifyIdToken(idToken, {
        issuer: metadata.issuer,
        clientId: this.config.clientId,
        nonce: sealed.n,
        keys: this.jwks(metadata.jwks_uri),
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

  private async openState(state: string | undefined): Promise<SealedState | OAuthError> {
    if (state === undefined || state === '') {
      return new OAuthError('invalid_request', 'the identity provider sent the browser back without a state');
    }
    try {
      const { payload } = await jwtDecrypt(state, this.stateKey, {
        issuer: this.issuer,
        audience: this.redirectUri,
        typ: STATE_TYP,
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      const s = payload.s as Partial<SealedState> | undefined;
      if (!s || typeof s.v !== 'string' || typeof s.n !== 'string' || typeof s.b !== 'string' || !s.t) {
        throw new Error('incomplete state');
      }
      return s as SealedState;
    } catch {
      return new OAuthError(
        'invalid_request',
        'this sign-in has expired or its answer was altered — go back to the application and connect again',
      );
    }
  }

  /** The discovery document, cached an hour; a failure is not cached. */
  private discover(): Promise<ProviderMetadata> {
    const now = Date.now();
    if (this.metadata && this.metadata.until > now) return this.metadata.value;
    const value = fetchMetadata(this.config.issuer);
    this.metadata = { value, until: now + METADATA_TTL_MS };
    value.catch(() => {
      if (this.metadata?.value === value) this.metadata = undefined;
    });
    return value;
  }

  private jwks(uri: string): JWTVerifyGetKey {
    if (this.keys?.uri !== uri) {
      // jose caches the set and refetches for an unknown kid (the provider rotated), at most every 30 s.
      const set = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: FETCH_TIMEOUT_MS,
        cooldownDuration: 30_000,
        cacheMaxAge: METADATA_TTL_MS,
      });
      this.keys = { uri, set };
    }
    return this.keys.set;
  }

  /** The code for an id_token at the provider's token endpoint (RFC 6749 §4.1.3 with PKCE). */
  private async exchange(metadata: ProviderMetadata, code: string, verifier: string): Promise<string> {
    const { clientId, clientSecret } = this.config;
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.redirectUri,
      code_verifier: verifier,
      // A public client names itself in the body; a confidential one in the Authorization header.
      ...(clientSecret === undefined ? { client_id: clientId } : {}),
    });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (clientSecret !== undefined) {
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined.
      const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
      headers.authorization = `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
    }
    let res: Response;
    try {
      res = await fetch(metadata.token_endpoint, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch {
      throw new OAuthError(
        'temporarily_unavailable',
        'the identity provider could not be reached — try again',
      );
    }
    const answer = (await res.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown };
    if (!res.ok || typeof answer.id_token !== 'string') {
      const why = typeof answer.error === 'string' ? answer.error.slice(0, 64) : `HTTP ${res.status}`;
      throw new OAuthError('access_denied', `the identity provider did not accept the sign-in code (${why})`);
    }
    return answer.id_token;
  }
}

async function fetchMetadata(issuer: string): Promise<ProviderMetadata> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const unreachable = (why: string) =>
    new OAuthError(
      'temporarily_unavailable',
      `the identity provider's configuration could not be read (${why}) — try again, or tell the operator of this server`,
    );
  let res: Response;
  try {
    res = await fetch(url, {
      redirect: 'manual',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch {
    throw unreachable('no answer');
  }
  if (res.status !== 200) throw unreachable(`HTTP ${res.status}`);
  const metadata = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  // OpenID Connect Discovery §4.3: the document must name exactly the issuer it was read from.
  if (metadata?.issuer !== issuer) throw unreachable('it names another issuer');
  for (const name of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    const value = metadata[name];
    // Same rule as the issuer: https, or plain http only to loopback.
    if (typeof value !== 'string' || insecureUrlReason(value, undefined, false) !== undefined) {
      throw unreachable(`${name} is missing or not https`);
    }
  }
  const methods = metadata.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes('S256')) throw unreachable('it does not support PKCE S256');
  return metadata as unknown as ProviderMetadata;
}

export interface IdTokenExpectations {
  readonly issuer: string;
  readonly clientId: string;
  readonly nonce: string;
  /** The provider's key set (createRemoteJWKSet), or one public key in tests. */
  readonly keys: JWTVerifyGetKey | KeyObject | JWK;
}

/**
 * The claims of `idToken` when it is an id_token the provider issued to us for this sign-in (OpenID
 * Connect Core §3.1.3.7); an OAuthError naming what failed otherwise.
 */
export async function verifyIdToken(idToken: string, expected: IdTokenExpectations): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    const options = {
      issuer: expected.issuer,
      audience: expected.clientId,
      // Asymmetric only: HS* would let anyone holding the client secret forge an id_token.
      algorithms: [...JWS_ALGORITHMS],
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp', 'iat', 'sub'],
    };
    // jwtVerify's overloads take a key or a key function, not their union.
    ({ payload } =
      typeof expected.keys === 'function'
        ? await jwtVerify(idToken, expected.keys, options)
        : await jwtVerify(idToken, expected.keys, options));
  } catch (err) {
    throw new OAuthError('access_denied', describe(err));
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const azp = payload.azp;
  // Several audiences: the token must say it was issued to us (azp); when azp is there it must be us.
  if ((audiences.length > 1 && azp === undefined) || (azp !== undefined && azp !== expected.clientId)) {
    throw new OAuthError('access_denied', 'the id_token was issued to another client (azp)');
  }
  const nonce = payload.nonce;
  if (typeof nonce !== 'string' || !sameString(nonce, expected.nonce)) {
    throw new OAuthError('access_denied', 'the id_token does not belong to this sign-in (nonce)');
  }
  return payload;
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the id_token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'the id_token was issued to another client (aud)';
    if (err.claim === 'iss') return 'the id_token was issued by another identity provider';
    return `the id_token's "${err.claim}" claim is not accepted (${err.reason.replace('_', ' ')})`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return "the id_token's signing algorithm is not accepted";
  if (err instanceof errors.JWKSNoMatchingKey)
    return "no key of the identity provider matches the id_token's kid";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the id_token's signature does not verify";
  if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) {
    return "the identity provider's keys could not be read — try again";
  }
  return 'the id_token is malformed';
}

/** Compares digests, so the time taken says nothing about how much of the nonce matched. */
function sameString(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest('base64url');
  return digest(a) === digest(b);
}

/**
 * The user name: the configured claim, else preferred_username, else a verified email, else sub.
 * An unverified email is never a name: anyone can type someone else's address at some providers.
 */
export function identityOf(claims: JWTPayload, config: OidcLoginConfig): UpstreamIdentity | OAuthError {
  const text = (name: string) => {
    const value = claims[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const email = text('email');
  const username = config.usernameClaim
    ? text(config.usernameClaim)
    : (text('preferred_username') ?? (claims.email_verified === true ? email : undefined) ?? text('sub'));
  if (username === undefined || !USERNAME.test(username)) {
    return new OAuthError(
      'access_denied',
      `the identity provider gave no usable user name (claim ${config.usernameClaim ?? 'preferred_username, email or sub'})`,
    );
  }
  return { username, subject: String(claims.sub), ...(email !== undefined ? { email } : {}) };
}

/** Why `claims` are refused by allowedDomains, or undefined when they pass (or none are set). */
export function domainRefusalOf(
  claims: JWTPayload,
  allowedDomains: readonly string[] | undefined,
): string | undefined {
  if (allowedDomains === undefined) return undefined;
  const email = typeof claims.email === 'string' ? claims.email : '';
  const at = email.lastIndexOf('@');
  if (at < 1) return 'the identity provider did not say which email address this account has';
  if (claims.email_verified !== true) {
    return 'the identity provider has not verified this account’s email address';
  }
  const domain = email.slice(at + 1).toLowerCase();
  if (!allowedDomains.includes(domain)) return `accounts of ${domain} may not sign in here`;
  return undefined;
}
