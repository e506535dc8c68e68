import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCodeChallenge, s256Challenge, verifyCodeVerifier } from '../../src/oauth/pkce.js';
import { refuses } from '../helpers/oauth.js';

// RFC 7636 Appendix B.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('checkCodeChallenge', () => {
  it('accepts S256 with a well-formed challenge (RFC 7636 Appendix B)', () => {
    assert.equal(s256Challenge(VERIFIER), CHALLENGE);
    assert.equal(checkCodeChallenge(CHALLENGE, 'S256'), CHALLENGE);
  });

  it('refuses a missing challenge, a missing method, plain and unknown methods, each distinctly', async () => {
    await refuses(
      () => checkCodeChallenge(undefined, 'S256'),
      'invalid_request',
      /^code_challenge is required/,
    );
    await refuses(() => checkCodeChallenge('', 'S256'), 'invalid_request', /^code_challenge is required/);
    await refuses(
      () => checkCodeChallenge(CHALLENGE, undefined),
      'invalid_request',
      'code_challenge_method is required and must be S256 (without it PKCE would fall back to plain)',
    );
    await refuses(
      () => checkCodeChallenge(VERIFIER, 'plain'),
      'invalid_request',
      'code_challenge_method plain is not allowed — use S256',
    );
    await refuses(() => checkCodeChallenge(CHALLENGE, 's256'), 'invalid_request', '"s256" is not supported');
  });

  it('refuses a challenge that cannot be an S256 hash', async () => {
    await refuses(
      () => checkCodeChallenge('short', 'S256'),
      'invalid_request',
      /^code_challenge is malformed/,
    );
    await refuses(() => checkCodeChallenge(`${CHALLENGE}=`, 'S256'), 'invalid_request', /malformed/);
    await refuses(
      () => checkCodeChallenge(CHALLENGE.replace('-', '+'), 'S256'),
      'invalid_request',
      /malformed/,
    );
  });
});

describe('verifyCodeVerifier', () => {
  it('accepts the verifier of the challenge', () => {
    verifyCodeVerifier(VERIFIER, CHALLENGE);
    const long = 'a~b.c_d-'.repeat(16);
    verifyCodeVerifier(long, s256Challenge(long));
  });

  it('refuses a wrong verifier with invalid_grant', async () => {
    await refuses(
      () => verifyCodeVerifier(`${VERIFIER.slice(0, -1)}Y`, CHALLENGE),
      'invalid_grant',
      'code_verifier does not match the code_challenge of the authorization request',
    );
  });

  it('refuses a missing verifier (invalid_request) and malformed ones (invalid_grant)', async () => {
    await refuses(
      () => verifyCodeVerifier(undefined, CHALLENGE),
      'invalid_request',
      /^code_verifier is required/,
    );
    await refuses(() => verifyCodeVerifier('', CHALLENGE), 'invalid_request', /^code_verifier is required/);
    await refuses(
      () => verifyCodeVerifier('a'.repeat(42), CHALLENGE),
      'invalid_grant',
      /43 to 128 characters/,
    );
    await refuses(() => verifyCodeVerifier('a'.repeat(129), CHALLENGE), 'invalid_grant', /malformed/);
    await refuses(() => verifyCodeVerifier(`${'a'.repeat(43)} `, CHALLENGE), 'invalid_grant', /malformed/);
    await refuses(() => verifyCodeVerifier(`${'a'.repeat(42)}+`, CHALLENGE), 'invalid_grant', /malformed/);
  });

  it('refuses the challenge itself sent as the verifier (what plain would accept)', async () => {
    await refuses(() => verifyCodeVerifier(CHALLENGE, CHALLENGE), 'invalid_grant', /does not match/);
  });
});
