/** auth.oauth.login: who may sign in on the gateway's authorization pages, resolved against auth.basic. */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';

const UPSTREAM = 'upstreams: { everything: { command: node } }';
const BASIC =
  'basic: { users: { alice: { passwordHash: "$scrypt$ln=15,r=8,p=1$S/oJmDYO0PTR3QLNgcoTIg==$AmJ7idWMroLx/3fQqkXAqnou1g9L6kV5YwsavQ7eSU4=" } } }';
const OIDC = 'oidc: { issuer: "https://login.example.com", clientId: portcullis }';

function parse(auth: string) {
  return parseConfig(`${UPSTREAM}\nauth: ${auth}`, tmpdir(), {});
}

function problem(auth: string): string {
  try {
    parse(auth);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.message;
  }
  assert.fail('the config was accepted');
}

describe('auth.oauth.login', () => {
  it('defaults: local login with Basic users, IdP users get auth.defaultScopes and no role', () => {
    const local = parse(`{ ${BASIC}, oauth: {} }`).config.auth.oauth;
    assert.deepEqual(local?.login, { local: true });
    const both = parse(`{ defaultScopes: [tools:read], ${BASIC}, oauth: { login: { ${OIDC} } } }`).config.auth
      .oauth?.login;
    assert.equal(both?.local, true);
    assert.deepEqual(both?.oidc?.scopes, ['tools:read']);
    assert.deepEqual(both?.oidc?.roles, []);
    assert.deepEqual(both?.oidc?.requestScopes, ['openid', 'profile', 'email']);
    assert.equal(both?.oidc?.name, 'single sign-on');
  });

  it('an identity provider alone needs no Basic users', () => {
    assert.deepEqual(parse(`{ oauth: { login: { ${OIDC} } } }`).config.auth.oauth?.login.local, false);
  });

  it('refuses a config where nobody can sign in, with the fix', () => {
    assert.match(problem('{ oauth: {} }'), /needs people who can sign in .*auth\.oauth\.login\.oidc/);
    assert.match(
      problem(`{ ${BASIC}, oauth: { login: { local: false } } }`),
      /leaves nobody able to sign in/,
    );
    assert.match(problem(`{ oauth: { login: { local: true, ${OIDC} } } }`), /needs auth\.basic\.users/);
  });

  it('refuses a plain-http provider off loopback, and requestScopes without openid', () => {
    assert.match(
      problem(`{ oauth: { login: { oidc: { issuer: "http://idp.example.com", clientId: x } } } }`),
      /plain http:\/\//,
    );
    assert.match(
      problem(
        `{ oauth: { login: { oidc: { issuer: "https://idp.example.com", clientId: x, requestScopes: [email] } } } }`,
      ),
      /must include openid/,
    );
  });
});
