/** Which calls policy.approval holds, and what an approval is bound to. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { policySchema } from '../../src/config/policy-schema.js';
import { argumentsHash, policyVersion, sameBinding } from '../../src/policy/approval-binding.js';
import { ApprovalRules } from '../../src/policy/approval-rules.js';

describe('approval rules', () => {
  const rules = new ApprovalRules([
    { tools: ['files.move_*'] },
    { class: 'destructive', tools: ['db.*'] },
    { when: { remove_absent: true, 'options.force': 'yes' } },
    { class: 'write', tools: ['crm.*'] },
  ]);

  it('match by tool pattern, whatever the class', () => {
    assert.equal(rules.match('files', 'move_file', 'read', {})?.index, 1);
    assert.equal(rules.match('files', 'write_file', 'destructive', {}), undefined);
  });

  it('match by class as the policy judges it: destructive, or write for anything not read-only', () => {
    assert.equal(rules.match('db', 'drop', 'destructive', {})?.index, 2);
    assert.equal(rules.match('db', 'insert', 'write', {}), undefined);
    assert.equal(rules.match('crm', 'update', 'write', {})?.index, 4);
    assert.equal(rules.match('crm', 'purge', 'destructive', {})?.index, 4);
    assert.equal(rules.match('crm', 'read', 'read', {}), undefined);
  });

  it('match argument conditions by value, dotted paths included, and never a missing argument', () => {
    const args = { remove_absent: true, options: { force: 'yes' } };
    assert.equal(rules.match('loomio', 'manage_memberships', 'write', args)?.index, 3);
    assert.match(
      rules.match('loomio', 'x', 'write', args)?.reason ?? '',
      /rule 3: remove_absent = true, options.force = "yes"/,
    );
    assert.equal(rules.match('loomio', 'x', 'write', { ...args, remove_absent: 'true' }), undefined);
    assert.equal(rules.match('loomio', 'x', 'write', { remove_absent: true }), undefined);
    assert.equal(rules.match('loomio', 'x', 'write', { remove_absent: true, options: [] }), undefined);
    assert.equal(rules.match('loomio', 'x', 'write', undefined), undefined);
  });

  it('the config refuses a rule with no condition, an empty when, a bad webhook URL, and wait > ttl', () => {
    const problems = (approval: unknown) => {
      const parsed = policySchema.safeParse({ approval });
      return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.match(
      problems({ rules: [{}] }).join('\n'),
      /approval.rules.0: names no tools, class or argument condition/,
    );
    assert.match(problems({ rules: [{ when: {} }] }).join('\n'), /approval.rules.0.when: is empty/);
    assert.match(problems({ rules: [{ class: 'read' }] }).join('\n'), /approval.rules.0.class/);
    assert.match(
      problems({ webhook: { url: 'http://chat.example.com/hook', secret: 'x'.repeat(32) } }).join('\n'),
      /approval.webhook.url: is plain http:\/\/ to chat.example.com/,
    );
    assert.match(
      problems({ webhook: { url: 'https://chat.example.com/hook', secret: 'short' } }).join('\n'),
      /secret: is too short/,
    );
    assert.match(problems({ ttl: '10s', wait: '1m' }).join('\n'), /approval.wait: is longer than ttl/);
    const defaults = policySchema.parse({}).approval;
    assert.deepEqual(
      { rules: defaults.rules, ttl: defaults.ttl, wait: defaults.wait, selfApproval: defaults.selfApproval },
      { rules: [], ttl: 300_000, wait: 30_000, selfApproval: false },
    );
  });

  it('a config file error names the whole path', () => {
    assert.throws(
      () =>
        parseConfig(
          'listen: { port: 0 }\nauth: { none: true }\nupstreams: { a: { command: node } }\npolicy: { approval: { rules: [{ class: nope }] } }\n',
          process.cwd(),
          {},
        ),
      /policy\.approval\.rules\[0\]\.class Invalid option: expected one of "write"\|"destructive"/,
    );
  });
});

describe('approval binding', () => {
  it('hashes arguments canonically: key order does not matter, any value does', () => {
    assert.equal(
      argumentsHash({ a: 1, b: { c: [1, 2], d: 'x' } }),
      argumentsHash({ b: { d: 'x', c: [1, 2] }, a: 1 }),
    );
    assert.notEqual(argumentsHash({ a: 1 }), argumentsHash({ a: 2 }));
    assert.notEqual(argumentsHash({ a: [1, 2] }), argumentsHash({ a: [2, 1] }));
    assert.notEqual(argumentsHash({ a: '1' }), argumentsHash({ a: 1 }));
    assert.equal(argumentsHash(undefined), argumentsHash({}));
    assert.match(argumentsHash({}), /^[0-9a-f]{64}$/);
  });

  it('versions the policy: any change to it is another version', () => {
    const base = policySchema.parse({ approval: { rules: [{ class: 'destructive' }] } });
    assert.equal(
      policyVersion(base),
      policyVersion(policySchema.parse({ approval: { rules: [{ class: 'destructive' }] } })),
    );
    assert.notEqual(policyVersion(base), policyVersion({ ...base, readOnly: true }));
    assert.notEqual(policyVersion(base), policyVersion(policySchema.parse({})));
  });

  it('binds every field', () => {
    const b = { principalId: 'p', upstream: 'u', tool: 't', argumentsHash: 'h', policyVersion: 'v' };
    assert.equal(sameBinding(b, { ...b }), true);
    for (const key of Object.keys(b)) assert.equal(sameBinding(b, { ...b, [key]: 'other' }), false, key);
  });
});
