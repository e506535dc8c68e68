/** `upstreams.<name>.warm`: off by default, a small whole number for a stdio command, refused for a URL. */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';

const NONE = 'auth: { none: true }\n';

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, tmpdir(), {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.message.split('\n');
  }
  assert.fail('the config was accepted');
}

describe('config: warm', () => {
  it('is 0 (no pool) unless set', () => {
    const { config } = parseConfig(`upstreams: { files: { command: node } }\n${NONE}`, tmpdir(), {});
    assert.equal(config.upstreams.files?.warm, 0);
  });

  it('takes a whole number of children for a stdio command', () => {
    const { config } = parseConfig(`upstreams: { files: { command: node, warm: 4 } }\n${NONE}`, tmpdir(), {});
    assert.equal(config.upstreams.files?.warm, 4);
  });

  it('is refused for a URL upstream, which has no process to start ahead', () => {
    assert.deepEqual(
      problems(`upstreams: { crm: { url: "https://crm.example.com/mcp", warm: 2 } }\n${NONE}`),
      [
        'config: upstreams.crm.warm only applies to a stdio command — an HTTP upstream has no process to start ahead; remove warm',
      ],
    );
  });

  it('refuses what is not a small whole number, saying what to write', () => {
    const at = (value: string) =>
      problems(`upstreams: { files: { command: node, warm: ${value} } }\n${NONE}`);
    assert.deepEqual(at('-1'), ['config: upstreams.files.warm must be 0 or more (0 turns the pool off)']);
    assert.deepEqual(at('1.5'), [
      'config: upstreams.files.warm must be a whole number of children, e.g. 2 (0 turns the pool off)',
    ]);
    assert.deepEqual(at('"two"'), [
      'config: upstreams.files.warm must be a whole number of children, e.g. 2 (0 turns the pool off)',
    ]);
    assert.deepEqual(at('33'), [
      'config: upstreams.files.warm must be at most 32 — each warm child is a running process holding its memory',
    ]);
  });
});
