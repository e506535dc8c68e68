/** Scope typos are caught against the policy's vocabulary (issue 14 item 4). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_SCOPE as ADMIN_API_SCOPE } from '../../src/http/admin-api.js';
import { ADMIN_SCOPE, knownScopes, unknownScopeProblem } from '../../src/policy/vocabulary.js';

const known = knownScopes(['files'], [{ require: ['billing:approve'] }]);

describe('unknownScopeProblem', () => {
  it('accepts the standard, per-upstream, rule, admin and wildcard scopes', () => {
    for (const scope of [
      'tools:read',
      'tools:destructive',
      'prompts:read',
      'files:write',
      'billing:approve',
      'admin',
      '*',
      'tools:*',
      'files:*',
      'billing:*',
    ])
      assert.equal(unknownScopeProblem(scope, known), undefined, scope);
  });

  it('refuses a typo with the nearest known scope', () => {
    assert.equal(
      unknownScopeProblem('tool:read', known),
      '"tool:read" is not a scope this gateway knows, so it would grant nothing — did you mean tools:read?',
    );
    assert.match(unknownScopeProblem('fils:*', known) ?? '', /did you mean files:\*\?$/);
    assert.match(unknownScopeProblem('billing:aprove', known) ?? '', /did you mean billing:approve\?$/);
  });

  it('lists the vocabulary when nothing is close', () => {
    assert.match(
      unknownScopeProblem('deploy:production', known) ?? '',
      /— known scopes: tools:read, .*admin, tools:approve.*<prefix>:\* and \* \(npx portcullis policy scopes\)$/,
    );
    assert.notEqual(unknownScopeProblem('nothing:*', known), undefined);
  });

  it("names the admin API's own scope", () => {
    assert.equal(ADMIN_SCOPE, ADMIN_API_SCOPE);
  });
});
