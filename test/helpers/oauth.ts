import assert from 'node:assert/strict';
import { OAuthError, type OAuthErrorCode } from '../../src/oauth/errors.js';

/** Asserts that `action` throws (or rejects with) an OAuthError with this code and a matching description. */
export async function refuses(
  action: (() => unknown) | Promise<unknown>,
  error: OAuthErrorCode,
  description: RegExp | string,
): Promise<OAuthError> {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (err) {
    assert.ok(err instanceof OAuthError, `expected an OAuthError, got ${String(err)}`);
    assert.equal(err.error, error, err.description);
    if (typeof description === 'string') assert.ok(err.description.includes(description), err.description);
    else assert.match(err.description, description);
    return err;
  }
  assert.fail(`accepted, but expected ${error}`);
}

export const SECRET = new TextEncoder().encode('a-test-signing-secret-of-at-least-32-bytes!');
export const ISSUER = 'https://mcp.example.com';
export const RESOURCE = 'https://mcp.example.com/mcp';
