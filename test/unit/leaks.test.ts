/** The suite-wide leak check's detector: it must find what it is there to find, and only that. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialLeaks } from '../helpers/leaks.js';

const at = (line: string) => [{ source: 'gw', line }];

describe('credentialLeaks', () => {
  it('finds a registered secret as is, JSON-escaped, URL-encoded or in another case', () => {
    const secret = 'S3cret "pass"/word';
    for (const line of [
      `{"msg":"x ${secret}"}`,
      `{"msg":"x ${JSON.stringify(secret).slice(1, -1)}"}`,
      `{"url":"/cb?p=${encodeURIComponent(secret)}"}`,
      `{"msg":"${secret.toUpperCase()}"}`,
    ])
      assert.equal(credentialLeaks(at(line), [secret]).length, 1, line);
  });

  it('finds credentials by shape: API keys, JWTs, Bearer and Basic values', () => {
    const jwt = `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.${'x'.repeat(40)}`;
    for (const line of [
      `{"key":"pcl_${'A'.repeat(43)}"}`,
      `{"token":"${jwt}"}`,
      '{"h":"Bearer abcdefghijklmnop"}',
      '{"h":"Basic YWxpY2U6c2VjcmV0cGFzcw=="}',
    ])
      assert.equal(credentialLeaks(at(line), []).length, 1, line);
  });

  it('lets redacted values, challenges and ordinary text pass', () => {
    for (const line of [
      '{"h":"Bearer [REDACTED]","b":"Basic [REDACTED]"}',
      '{"www":"Bearer resource_metadata=\\"https://x/.well-known/oauth-protected-resource/mcp\\""}',
      '{"msg":"authentication is required — send an API key or a bearer token"}',
      '{"principal":"api-key:key_0123456789","msg":"audit policy.decision"}',
      `{"clientId":"pcd_eyJhbGciOiJIUzI1NiJ9.eyJ2IjoxLCJpc3MiOiJ4In0.${'s'.repeat(43)}"}`,
    ])
      assert.deepEqual(credentialLeaks(at(line), ['hunter22']), [], line);
  });
});
