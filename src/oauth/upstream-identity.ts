/**
 * Who a verified id_token names: the user name the gateway will know them by (a claim the config
 * picks, else the usual ones, never an unverified email), and whether auth.oauth.login.oidc's
 * allowedDomains let their verified email's domain in.
 */
import type { JWTPayload } from 'jose';
import type { OidcLoginConfig } from '../config/oauth-schema.js';
import { OAuthError } from './errors.js';

/** A principal name: printable, no whitespace (it becomes `oauth:<name>` and a token's `sub`). */
const USERNAME = /^[^\s\p{Cc}]{1,200}$/u;

/** Who the provider says signed in. */
export interface UpstreamIdentity {
  readonly username: string;
  readonly subject: string;
  readonly email?: string;
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
