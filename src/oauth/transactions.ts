/**
 * A pending authorization request between /authorize, the login form and the consent form, kept in
 * the browser's form as a signed, short-lived token rather than on the server: any instance of a
 * fleet can take the next step, and nothing is stored for requests people abandon. Once the user
 * signed in, the token also names the user and the browser (its CSRF binding), so a consent form
 * can only be submitted by the browser that signed in.
 */
import { createHash } from 'node:crypto';
import { OAuthError } from './errors.js';
import { SignedFormToken } from './signed-form-token.js';

/** Long enough to read a consent page and type a password; short enough to be worthless later. */
const LIFETIME_S = 10 * 60;
const TYP = 'pcl-authz+jwt';

export interface Transaction {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly resource: string;
  readonly scopes: readonly string[] | undefined;
  readonly state: string | undefined;
  /** After sign-in: the user (their name) and a hash of the browser's CSRF binding. */
  readonly subject?: string;
  readonly browser?: string;
}

export class Transactions {
  private readonly tokens: SignedFormToken;

  constructor(key: Uint8Array, issuer: string) {
    this.tokens = new SignedFormToken(key, issuer, TYP, LIFETIME_S);
  }

  seal(transaction: Transaction): Promise<string> {
    return this.tokens.sign({ t: transaction });
  }

  /** The transaction in `token`; invalid_request when it was altered, expired or is not ours. */
  async open(token: string | undefined): Promise<Transaction> {
    if (token === undefined || token === '')
      throw new OAuthError('invalid_request', 'the sign-in form is missing its request — start again');
    const t = (await this.tokens.verify(token))?.t;
    if (t === null || typeof t !== 'object')
      throw new OAuthError(
        'invalid_request',
        'this sign-in request has expired or is not valid — go back to the application and connect again',
      );
    return t as Transaction;
  }
}

/** What a transaction keeps of a CSRF binding: enough to compare, nothing to reuse. */
export function browserHash(binding: string): string {
  return createHash('sha256').update(binding).digest('base64url');
}
