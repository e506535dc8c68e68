/** The README's scope and role tables are the code's vocabulary, printed by `policy scopes`. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { scopeTables } from '../../src/policy/vocabulary.js';

it('the README shows exactly the scope tables the code prints', () => {
  const readme = readFileSync('README.md', 'utf8');
  const block = /<!-- scopes:start -->\n([\s\S]*?)<!-- scopes:end -->/.exec(readme)?.[1];
  assert.equal(block, scopeTables(), 'regenerate with: npx portcullis policy scopes');
});
