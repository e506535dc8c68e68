/**
 * The `state` sent through the identity provider, so nothing is stored between the redirect and
 * its answer: an encrypted JWT (dir + A256GCM) holding the pending MCP authorization request, our
 * PKCE verifier, the nonce and a hash of the browser's CSRF binding. Encrypted, not only signed,
 * because the browser and the provider both see it and the verifier must stay ours; it lives 10
 * minutes, bound to our issuer and callback URL.
 */
import { EncryptJWT, jwtDecrypt } from 'jose';
import { OAuthError } from './errors.js';
import type { Transaction } from './transactions.js';

const STATE_LIFETIME_S = 10 * 60;
const STATE_TYP = 'pcl-upstream-state+jwt';

export interface SealedState {
  /** The pending MCP authorization request. */
  readonly t: Transaction;
  /** Our PKCE verifier toward the provider. */
  readonly v: string;
  readonly n: string;
  /** browserHash of the CSRF binding of the browser that was sent away. */
  readonly b: string;
}

export class UpstreamLoginState {
  constructor(
    /** deriveKey(secret, 'upstream-login-state'). */
    private readonly key: Uint8Array,
    private readonly issuer: string,
    /** Our callback URL: a state is good only there. */
    private readonly redirectUri: string,
  ) {}

  seal(sealed: SealedState): Promise<string> {
    return new EncryptJWT({ s: sealed })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: STATE_TYP })
      .setIssuer(this.issuer)
      .setAudience(this.redirectUri)
      .setIssuedAt()
      .setExpirationTime(`${STATE_LIFETIME_S}s`)
      .encrypt(this.key);
  }

  async open(state: string | undefined): Promise<SealedState | OAuthError> {
    if (state === undefined || state === '') {
      return new OAuthError('invalid_request', 'the identity provider sent the browser back without a state');
    }
    try {
      const { payload } = await jwtDecrypt(state, this.key, {
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
}
