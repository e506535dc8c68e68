/**
 * One signing secret, many keys: each use gets its own key derived with HKDF-SHA256 (RFC 5869), so
 * a value made for one purpose (a client id) can never verify as another (an access token), and no
 * key ever has to be stored. Every instance with the same secret derives the same keys, which is
 * what lets registrations and tokens survive restarts and work fleet-wide; changing the secret
 * changes every key, so every signed client and token becomes invalid at once.
 */
import { hkdfSync } from 'node:crypto';

export type KeyPurpose =
  | 'client-id'
  | 'client-secret'
  | 'access-token-hs256'
  | 'csrf'
  | 'refresh-token'
  | 'upstream-login-state'
  | 'authorize-transaction'
  | 'request-state'
  | 'request-state-route'
  | `access-token-es256:${number}:${number}`;

/** Domain separation from the other uses of the server secret (API-key hashing keys it directly). */
const SALT = 'portcullis oauth v1';

/** Shorter secrets are refused at config load; this guards direct callers of the module. */
export const MIN_SECRET_BYTES = 32;

export function deriveKey(secret: Uint8Array, purpose: KeyPurpose): Uint8Array {
  if (secret.byteLength < MIN_SECRET_BYTES) {
    throw new TypeError(`the OAuth signing secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return new Uint8Array(hkdfSync('sha256', secret, SALT, purpose, 32));
}
