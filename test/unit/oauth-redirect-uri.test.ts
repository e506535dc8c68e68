import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkRedirectUri,
  isLoopbackRedirectUri,
  matchRedirectUri,
  redirectUriMatches,
  redirectUriProblem,
} from '../../src/oauth/redirect-uri.js';
import { refuses } from '../helpers/oauth.js';

describe('redirectUriProblem: the forms a client may register', () => {
  it('accepts https, loopback http on any port, and private-use schemes', () => {
    for (const uri of [
      'https://claude.ai/api/mcp/auth_callback',
      'https://app.example.com:8443/cb?x=1',
      'http://127.0.0.1/callback',
      'http://127.0.0.1:33418',
      'http://[::1]:5000/cb',
      'http://localhost:6274/oauth/callback',
      'com.example.app:/oauth2redirect',
      'cursor://anysphere.cursor-mcp/oauth/callback',
    ]) {
      assert.equal(redirectUriProblem(uri), undefined, uri);
    }
  });

  it('refuses plain http to anything but loopback, naming the host and the fix', () => {
    assert.match(
      redirectUriProblem('http://app.example.com/cb') ?? '',
      /^is plain http:\/\/ to app\.example\.com — use https:\/\/, or http:\/\/ only to a loopback address/,
    );
    assert.match(redirectUriProblem('http://10.0.0.5:8080/cb') ?? '', /plain http:\/\/ to 10\.0\.0\.5:8080/);
    assert.match(
      redirectUriProblem('http://127.0.0.2/cb') ?? '',
      /plain http/,
      'only the three loopback names',
    );
    assert.match(redirectUriProblem('http://localhost.evil.com/cb') ?? '', /plain http/);
  });

  it('refuses a fragment, even an empty one', () => {
    assert.match(redirectUriProblem('https://app.example.com/cb#x') ?? '', /#fragment/);
    assert.match(redirectUriProblem('https://app.example.com/cb#') ?? '', /#fragment/);
    assert.match(redirectUriProblem('http://127.0.0.1:3000/cb#frag') ?? '', /#fragment/);
  });

  it('refuses schemes a browser runs itself, credentials, relative URIs and odd characters', () => {
    assert.match(redirectUriProblem('javascript:alert(1)') ?? '', /javascript: scheme/);
    assert.match(redirectUriProblem('data:text/html,hi') ?? '', /data: scheme/);
    assert.match(redirectUriProblem('file:///etc/passwd') ?? '', /file: scheme/);
    assert.match(redirectUriProblem('https://user:pw@app.example.com/cb') ?? '', /user name or password/);
    assert.match(redirectUriProblem('/callback') ?? '', /not an absolute URI/);
    assert.match(redirectUriProblem(' https://app.example.com/cb') ?? '', /whitespace/);
    assert.match(redirectUriProblem('https://app.example.com/c\tb') ?? '', /control character/);
    assert.match(redirectUriProblem('https:\\\\app.example.com/cb') ?? '', /backslash/);
    assert.match(redirectUriProblem('') ?? '', /empty/);
    assert.match(redirectUriProblem(`https://app.example.com/${'a'.repeat(600)}`) ?? '', /longer than 512/);
  });

  it('checkRedirectUri throws invalid_redirect_uri quoting the URI', async () => {
    await refuses(
      () => checkRedirectUri('http://evil.example/cb'),
      'invalid_redirect_uri',
      /^redirect URI "http:\/\/evil\.example\/cb" is plain http/,
    );
    assert.equal(checkRedirectUri('https://ok.example/cb'), 'https://ok.example/cb');
  });
});

describe('matchRedirectUri: exact match, loopback port free', () => {
  const registered = ['https://app.example.com/cb', 'http://127.0.0.1/callback', 'http://localhost:8080/cb'];

  it('accepts an exact match', () => {
    assert.equal(matchRedirectUri('https://app.example.com/cb', registered), 'https://app.example.com/cb');
  });

  it('lets the port of a loopback URI differ, and only the port (RFC 8252 §7.3)', () => {
    assert.equal(
      matchRedirectUri('http://127.0.0.1:51234/callback', registered),
      'http://127.0.0.1:51234/callback',
    );
    assert.equal(matchRedirectUri('http://localhost:3000/cb', registered), 'http://localhost:3000/cb');
    assert.equal(redirectUriMatches('http://127.0.0.1:1/callback?x', 'http://127.0.0.1:2/callback'), false);
    assert.equal(redirectUriMatches('http://localhost:1/callback', 'http://127.0.0.1/callback'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1:1/x/../callback', 'http://127.0.0.1/callback'), false);
  });

  it('refuses a foreign redirect URI, listing the registered ones', async () => {
    await refuses(
      () => matchRedirectUri('https://evil.example/cb', registered),
      'invalid_request',
      'redirect_uri "https://evil.example/cb" is not registered for this client — it must equal one of: "https://app.example.com/cb"',
    );
  });

  it('refuses near misses: other path, added query, trailing slash, other case, https port', async () => {
    for (const uri of [
      'https://app.example.com/cb/',
      'https://app.example.com/cb?x=1',
      'https://APP.example.com/cb',
      'https://app.example.com:443/cb',
      'https://app.example.com/CB',
    ]) {
      await refuses(() => matchRedirectUri(uri, registered), 'invalid_request', 'is not registered');
    }
  });

  it('refuses a presented URI with a fragment or a non-loopback http URI before matching', async () => {
    await refuses(
      () => matchRedirectUri('https://app.example.com/cb#x', registered),
      'invalid_request',
      '#fragment',
    );
    await refuses(
      () => matchRedirectUri('http://app.example.com/cb', ['http://app.example.com/cb']),
      'invalid_request',
      'plain http',
    );
  });

  it('isLoopbackRedirectUri recognises the three loopback forms only', () => {
    assert.equal(isLoopbackRedirectUri('http://127.0.0.1:4000/cb'), true);
    assert.equal(isLoopbackRedirectUri('http://[::1]/cb'), true);
    assert.equal(isLoopbackRedirectUri('http://localhost'), true);
    assert.equal(isLoopbackRedirectUri('https://localhost/cb'), false);
    assert.equal(isLoopbackRedirectUri('com.example.app:/cb'), false);
  });
});
