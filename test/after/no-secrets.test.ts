/**
 * Runs after the whole unit and e2e suite (scripts/run-tests.mjs): every log line and stored audit
 * record of every test gateway must be free of every secret the suite used — config secrets from
 * ${env:…}/${file:…}, passwords, API keys, tokens — and of anything shaped like a credential.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { credentialLeaks } from '../helpers/leaks.js';

const dir = process.env.PORTCULLIS_CAPTURE_DIR;

describe('no secret in any log line or audit record of the whole suite', () => {
  it('finds a capture of the suite to check', () => {
    assert.ok(dir && existsSync(dir), 'PORTCULLIS_CAPTURE_DIR names the suite capture (run: npm test)');
  });

  it('finds none of the secrets the suite used, nor any credential by its shape', () => {
    if (!dir) return assert.fail('no capture directory');
    const files = readdirSync(dir).filter((f) => f.startsWith('gateway-'));
    const lines = files.flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => ({ source: f, line })),
    );
    const secrets = readFileSync(join(dir, 'secrets.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as string);
    // A capture that missed the suite would pass vacuously: require a real one.
    assert.ok(lines.length > 1000, `the suite's gateways wrote ${lines.length} lines`);
    assert.ok(new Set(secrets).size > 20, `the suite registered ${new Set(secrets).size} secrets`);
    assert.ok(
      lines.some(({ line }) => line.includes('"audit":') || line.includes('"type":"policy.decision"')),
      'audit events are among the captured lines',
    );
    assert.deepEqual(credentialLeaks(lines, secrets), []);
  });
});
