/**
 * The id_token a delegated sign-in ends with, checked with jose against the provider's keys (OpenID
 * Connect Core §3.1.3.7): exact issuer, our client id in `aud` (and as `azp` when there is one), the
 * nonce of this sign-in, exp/iat, asymmetric algorithms only. Each failure says what failed.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { errors, type JWK, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { JWS_ALGORITHMS } from '../config/auth-schema.js';
import { OAuthError } from './errors.js';

const CLOCK_TOLERANCE_S = 30;

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
