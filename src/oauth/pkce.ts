/**
 * PKCE (RFC 7636), S256 only as OAuth 2.1 §4.1.1 and the MCP authorization spec require: `plain`
 * would hand the verifier to anyone who sees the authorization request. A missing method is refused
 * too, because RFC 7636 §4.3 defaults it to `plain`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { OAuthError } from './errors.js';

/** RFC 7636 §4.1: 43–128 characters of ALPHA / DIGIT / "-" / "." / "_" / "~". */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** BASE64URL(SHA256(verifier)) is always 43 characters without padding. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** The code_challenge of an authorization request, checked; invalid_request names what is wrong. */
export function checkCodeChallenge(challenge: string | undefined, method: string | undefined): string {
  if (challenge === undefined || challenge === '') {
    throw new OAuthError(
      'invalid_request',
      'code_challenge is required — this server requires PKCE with code_challenge_method=S256',
    );
  }
  if (method === undefined || method === '') {
    throw new OAuthError(
      'invalid_request',
      'code_challenge_method is required and must be S256 (without it PKCE would fall back to plain)',
    );
  }
  if (method === 'plain') {
    throw new OAuthError(
      'invalid_request',
      'code_challenge_method plain is not allowed — use S256 (the SHA-256 of the code_verifier)',
    );
  }
  if (method !== 'S256') {
    throw new OAuthError(
      'invalid_request',
      `code_challenge_method ${JSON.stringify(method)} is not supported — use S256`,
    );
  }
  if (!S256_CHALLENGE.test(challenge)) {
    throw new OAuthError(
      'invalid_request',
      'code_challenge is malformed — it must be the unpadded base64url SHA-256 of the code_verifier (43 characters)',
    );
  }
  return challenge;
}

/** The S256 challenge for a verifier (used by tests and by clients of our own, e.g. toward an IdP). */
export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** Passes when `verifier` hashes to `challenge`; otherwise the token request's error (RFC 7636 §4.6). */
export function verifyCodeVerifier(verifier: string | undefined, challenge: string): void {
  if (verifier === undefined || verifier === '') {
    throw new OAuthError(
      'invalid_request',
      'code_verifier is required — send the PKCE verifier of this code',
    );
  }
  if (!VERIFIER.test(verifier)) {
    throw new OAuthError(
      'invalid_grant',
      'code_verifier is malformed — it must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~',
    );
  }
  const actual = Buffer.from(s256Challenge(verifier), 'ascii');
  const expected = Buffer.from(challenge, 'ascii');
  // Both are 43 ASCII characters for a stored S256 challenge; the length check only guards misuse.
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new OAuthError(
      'invalid_grant',
      'code_verifier does not match the code_challenge of the authorization request',
    );
  }
}
