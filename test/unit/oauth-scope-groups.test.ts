/**
 * groupScopes: which scopes of a consent fold into a wider one, and the groups by meaning the
 * consent page shows (issue 14). Every scope must come out exactly once, shown or folded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupScopes, meaningOf, type ScopeGroup } from '../../src/oauth/pages/scope-groups.js';
import { scopesSupported } from '../../src/policy/vocabulary.js';

/** Each group as `meaning: scope[+covered,…] …`, for exact comparisons. */
function summary(groups: readonly ScopeGroup[]): string[] {
  return groups.map(
    (g) =>
      `${g.meaning}: ${g.scopes.map((s) => (s.covers.length > 0 ? `${s.scope}[+${s.covers.join(',')}]` : s.scope)).join(' ')}`,
  );
}

function everyScopeOnce(scopes: readonly string[], groups: readonly ScopeGroup[]): void {
  const out = groups.flatMap((g) => g.scopes.flatMap((s) => [s.scope, ...s.covers]));
  assert.deepEqual([...out].sort(), [...new Set(scopes)].sort(), `every one of ${scopes.join(' ')} once`);
}

/** What the demo (one upstream, `everything`, no rules) advertises and mcp-remote asks for: eight scopes. */
const DEMO = scopesSupported(['everything'], []);

describe('groupScopes', () => {
  it("folds the demo's upstream scopes into the generic ones: eight lines become five, in three groups", () => {
    const groups = groupScopes(DEMO, ['everything']);
    assert.deepEqual(summary(groups), [
      'destructive: tools:destructive[+everything:destructive]',
      'write: tools:write[+everything:write]',
      'read: tools:read[+everything:read] resources:read prompts:read',
    ]);
    assert.deepEqual(
      groups.map((g) => g.title),
      ['Delete or overwrite data', 'Change data', 'Read data'],
    );
    everyScopeOnce(DEMO, groups);
  });

  it('folds everything into * and everything:… into everything:*', () => {
    const all = ['tools:read', '*', 'everything:*', 'crm:admin'];
    assert.deepEqual(summary(groupScopes(all, ['everything'])), [
      'everything: *[+tools:read,everything:*,crm:admin]',
    ]);
    const upstream = ['everything:read', 'everything:*', 'everything:destructive'];
    assert.deepEqual(summary(groupScopes(upstream, ['everything'])), [
      'destructive: everything:*[+everything:read,everything:destructive]',
    ]);
    everyScopeOnce(all, groupScopes(all, ['everything']));
  });

  it('tools:* covers the tools scopes and what an upstream level adds to them, not resources', () => {
    const scopes = ['tools:read', 'tools:*', 'everything:write', 'everything:read', 'resources:read'];
    assert.deepEqual(summary(groupScopes(scopes, ['everything'])), [
      'destructive: tools:*[+tools:read,everything:write]',
      'read: everything:read resources:read',
    ]);
  });

  it('u:read folds only when tools:read, resources:read and prompts:read are all there', () => {
    assert.deepEqual(summary(groupScopes(['tools:read', 'everything:read'], ['everything'])), [
      'read: tools:read everything:read',
    ]);
    assert.deepEqual(
      summary(groupScopes(['tools:read', 'resources:read', 'everything:read'], ['everything'])),
      ['read: tools:read resources:read everything:read'],
    );
    assert.deepEqual(
      summary(groupScopes(['everything:read', 'prompts:read', 'resources:read', 'tools:*'], ['everything'])),
      ['destructive: tools:*[+everything:read]', 'read: prompts:read resources:read'],
      'together they grant all that everything:read does; it shows beside tools:read (here tools:*)',
    );
  });

  it("folds only mounted upstreams' scopes: another prefix may be a rule's own scope", () => {
    const scopes = ['tools:write', 'files:write', 'everything:write'];
    assert.deepEqual(summary(groupScopes(scopes, ['everything'])), [
      'write: tools:write[+everything:write]',
      'other: files:write',
    ]);
    assert.deepEqual(summary(groupScopes(scopes, [])), [
      'write: tools:write',
      'other: files:write everything:write',
    ]);
  });

  it('keeps rule scopes apart, folded only into a wildcard that holds them', () => {
    const scopes = ['crm:export', 'crm:*', 'audit:read', 'tools:read'];
    assert.deepEqual(summary(groupScopes(scopes, ['everything'])), [
      'read: tools:read',
      'other: crm:*[+crm:export] audit:read',
    ]);
  });

  it('shows a scope given twice once, and an empty list as no group', () => {
    assert.deepEqual(summary(groupScopes(['tools:read', 'tools:read'], [])), ['read: tools:read']);
    assert.deepEqual(groupScopes([], ['everything']), []);
  });
});

describe('meaningOf', () => {
  it('puts each kind of scope in its group', () => {
    const upstreams = ['files'];
    const cases: Record<string, string> = {
      '*': 'everything',
      'tools:*': 'destructive',
      'files:*': 'destructive',
      'tools:destructive': 'destructive',
      'files:destructive': 'destructive',
      'tools:write': 'write',
      'files:write': 'write',
      'tools:read': 'read',
      'resources:read': 'read',
      'prompts:read': 'read',
      'files:read': 'read',
      'resources:*': 'read',
      'resources:write': 'other',
      'crm:write': 'other',
      'crm:*': 'other',
      'tools:admin': 'other',
      admin: 'other',
      ':read': 'other',
    };
    for (const [scope, meaning] of Object.entries(cases))
      assert.equal(meaningOf(scope, upstreams), meaning, scope);
  });
});
