import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatScope, grantScopes, parseScope, parseScopeParameter } from '../../src/oauth/scopes.js';
import { refuses } from '../helpers/oauth.js';

describe('parseScope', () => {
  it('splits on spaces, drops empties and duplicates', () => {
    assert.deepEqual(parseScope('tools:read  files:*  tools:read'), ['tools:read', 'files:*']);
    assert.deepEqual(parseScope(''), []);
  });

  it('refuses quotes, backslashes, control characters and abuse-sized lists', async () => {
    assert.equal(parseScope('a "b"'), undefined);
    assert.equal(parseScope('a\\b'), undefined);
    assert.equal(parseScope('a\tb'), undefined);
    assert.equal(parseScope(Array.from({ length: 101 }, (_, i) => `s${i}`).join(' ')), undefined);
    assert.equal(parseScope('x'.repeat(2001)), undefined);
    await refuses(() => parseScopeParameter('a "b"'), 'invalid_scope', /^scope is malformed/);
    assert.equal(parseScopeParameter(undefined), undefined);
    assert.equal(formatScope(['a', 'b']), 'a b');
  });
});

describe('grantScopes: requested ∩ what the user may grant', () => {
  it('grants the intersection and reports what was dropped', () => {
    assert.deepEqual(grantScopes(['tools:read', 'tools:write', 'admin'], ['tools:read', 'prompts:read']), {
      granted: ['tools:read'],
      dropped: ['tools:write', 'admin'],
    });
  });

  it('follows the wildcard rule: files:* grants files:read and files:*, but files:read never grants files:*', () => {
    assert.deepEqual(grantScopes(['files:read', 'files:*', 'crm:read'], ['files:*']), {
      granted: ['files:read', 'files:*'],
      dropped: ['crm:read'],
    });
    assert.deepEqual(grantScopes(['files:*', '*'], ['files:read']), {
      granted: [],
      dropped: ['files:*', '*'],
    });
    assert.deepEqual(grantScopes(['anything', '*'], ['*']), { granted: ['anything', '*'], dropped: [] });
  });

  it('narrows to the scopes the client registered', () => {
    assert.deepEqual(grantScopes(['tools:read', 'tools:write'], ['*'], ['tools:read']), {
      granted: ['tools:read'],
      dropped: ['tools:write'],
    });
  });

  it('with no scope requested: the client registration, else everything the user holds', () => {
    assert.deepEqual(grantScopes(undefined, ['tools:read', 'files:*'], ['files:read', 'crm:read']), {
      granted: ['files:read'],
      dropped: ['crm:read'],
    });
    assert.deepEqual(grantScopes(undefined, ['tools:read', 'tools:read']), {
      granted: ['tools:read'],
      dropped: [],
    });
    assert.deepEqual(grantScopes(undefined, []), { granted: [], dropped: [] });
  });
});
