/**
 * Scope strings and the grant rule of issue 7: a client gets the scopes it asked for that the user
 * may grant, never more; what was asked and dropped is reported so the consent page can say so.
 */
import { ScopeSet } from '../policy/scopes.js';
import { OAuthError } from './errors.js';

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** More than this many requested scopes is abuse, not a real client. */
export const MAX_SCOPES = 100;
export const MAX_SCOPE_LENGTH = 2000;

/** The scope tokens of a space-delimited scope string, de-duplicated in order; undefined when malformed. */
export function parseScope(value: string): string[] | undefined {
  if (value.length > MAX_SCOPE_LENGTH) return undefined;
  const tokens = value.split(' ').filter((t) => t !== '');
  if (tokens.length > MAX_SCOPES || !tokens.every((t) => SCOPE_TOKEN.test(t))) return undefined;
  return [...new Set(tokens)];
}

/** The `scope` request parameter (undefined when absent); invalid_scope when malformed. */
export function parseScopeParameter(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const scopes = parseScope(value);
  if (!scopes) {
    throw new OAuthError(
      'invalid_scope',
      `scope is malformed — send space-separated scope names (at most ${MAX_SCOPES}, no quotes or backslashes)`,
    );
  }
  return scopes;
}

export interface ScopeGrant {
  /** What the token will carry. */
  readonly granted: readonly string[];
  /** Asked for, but beyond what the user (or the client's registration) allows. */
  readonly dropped: readonly string[];
}

/**
 * granted = requested ∩ what the user may grant (∩ what the client registered, when it did).
 * Wildcards follow the policy's rule: a user holding `files:*` may grant `files:read` or `files:*`,
 * but a user holding only `files:read` cannot grant `files:*`. A request naming no scope asks for
 * what the client registered, or else for everything the user holds (RFC 6749 §3.3 lets the server
 * choose the default).
 *
 * @param userScopes the user's scopes with roles already expanded
 * @param clientScopes the scopes the client registered, or undefined when it registered none
 */
export function grantScopes(
  requested: readonly string[] | undefined,
  userScopes: readonly string[],
  clientScopes?: readonly string[],
): ScopeGrant {
  const user = new ScopeSet(userScopes);
  const client = clientScopes === undefined ? undefined : new ScopeSet(clientScopes);
  const asked = requested ?? clientScopes ?? [...new Set(userScopes)];
  const granted: string[] = [];
  const dropped: string[] = [];
  for (const scope of asked) {
    if (user.holds(scope) && (client === undefined || client.holds(scope))) granted.push(scope);
    else dropped.push(scope);
  }
  return { granted, dropped };
}

/** The scope string of a token response or token claim. */
export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}
