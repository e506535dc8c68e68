import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { AuthError } from '../../src/auth/auth-error.js';
import { ANONYMOUS, type Authenticators, authenticate } from '../../src/auth/authenticate.js';
import { readCredential } from '../../src/auth/credentials.js';
import { GatewayError } from '../../src/core/errors.js';
import type { RequestContext } from '../../src/pipeline/context.js';

const KEY = `pcl_${'A'.repeat(20)}b-_${'9'.repeat(20)}`;

/** A request as Node parses it: `headers` and, as it came, `rawHeaders` (alternating names and values). */
function request(headers: IncomingHttpHeaders, url = '/mcp') {
  const rawHeaders = Object.entries(headers).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [String(value)]).flatMap((v) => [name, v]),
  );
  return { url, headers, rawHeaders } as IncomingMessage;
}

function read(headers: IncomingHttpHeaders, url = '/mcp') {
  return readCredential(request(headers, url));
}

/** Asserts readCredential refuses with invalid_request (400) and a message matching `message`. */
function refuses(headers: IncomingHttpHeaders, message: RegExp | string, url = '/mcp'): AuthError {
  try {
    read(headers, url);
  } catch (err) {
    assert.ok(err instanceof AuthError, String(err));
    assert.equal(err.code, 'invalid_request');
    assert.equal(err.status, 400);
    if (typeof message === 'string') assert.ok(err.message.includes(message), err.message);
    else assert.match(err.message, message);
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(headers)} ${url}`);
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('readCredential: the URL query', () => {
  it('refuses each credential-like parameter name, in any case, naming it but not its value', () => {
    for (const name of [
      'api_key',
      'apikey',
      'api-key',
      'key',
      'access_token',
      'token',
      'x-api-key',
      'auth',
      'password',
      'API_KEY',
      'Access_Token',
      'PassWord',
    ]) {
      const err = refuses(
        {},
        `credentials are refused in the URL query ("${name}")`,
        `/mcp?${name}=s3cr3t-value`,
      );
      assert.ok(!err.message.includes('s3cr3t-value'));
      assert.match(err.message, /send the key in an Authorization: Bearer or X-API-Key header/);
    }
  });

  it('refuses a pcl_ value under any name, also percent-encoded, and after other parameters', () => {
    for (const url of [
      `/mcp?q=${KEY}`,
      `/mcp?session=abc&x=${KEY}`,
      `/mcp?x=${encodeURIComponent(KEY).replace('_', '%5F')}`,
    ]) {
      const err = refuses({}, 'credentials are refused in the URL query', url);
      assert.ok(!err.message.includes(KEY.slice(4)), url);
    }
    refuses({}, '("api_key")', '/mcp?api%5Fkey=x');
  });

  it('refuses a key hidden as the parameter name or inside a value, without echoing it', () => {
    for (const url of [`/mcp?${KEY}`, `/mcp?${KEY}=1`, `/mcp?authorization=Bearer%20${KEY}`]) {
      const err = refuses({}, 'credentials are refused in the URL query', url);
      assert.ok(!err.message.includes(KEY.slice(4)), `${url}: ${err.message}`);
    }
  });

  it('refuses a credential in the query even alongside a valid header', () => {
    refuses({ authorization: `Bearer ${KEY}` }, 'credentials are refused in the URL query', '/mcp?token=x');
  });

  it('lets ordinary parameters through', () => {
    assert.equal(read({}, '/mcp?page=2&cursor=abc'), undefined);
    assert.deepEqual(read({ 'x-api-key': KEY }, '/mcp?keyboard=1&monkey=pcl'), { kind: 'api-key', key: KEY });
  });
});

describe('readCredential: headers', () => {
  it('finds nothing when nothing is sent', () => {
    assert.equal(read({}), undefined);
  });

  it('reads X-API-Key, and refuses anything but one pcl_ key in it', () => {
    assert.deepEqual(read({ 'x-api-key': KEY }), { kind: 'api-key', key: KEY });
    refuses({ 'x-api-key': 'not-a-key' }, 'X-API-Key must hold one Portcullis API key (pcl_…)');
    refuses({ 'x-api-key': '' }, 'X-API-Key must hold one Portcullis API key');
    refuses({ 'x-api-key': [KEY, KEY] as unknown as string }, 'this request has 2 X-API-Key headers');
  });

  it('refuses two Authorization headers, two X-API-Key headers, counted in the raw headers', () => {
    const twice = (name: string, a: string, b: string) =>
      ({
        url: '/mcp',
        headers: { [name.toLowerCase()]: a },
        rawHeaders: [name, a, 'Accept', '*/*', name, b],
      }) as unknown as IncomingMessage;
    for (const [req, message] of [
      [twice('Authorization', `Bearer ${KEY}`, 'Bearer other'), 'this request has 2 Authorization headers'],
      [
        twice('authorization', `Basic ${b64('a:b')}`, `Bearer ${KEY}`),
        'this request has 2 Authorization headers',
      ],
      [twice('X-API-Key', KEY, KEY), 'this request has 2 X-API-Key headers'],
      [twice('x-api-key', KEY, 'pcl_other'), 'this request has 2 X-API-Key headers'],
    ] as const) {
      assert.throws(
        () => readCredential(req),
        (err: unknown) => {
          assert.ok(err instanceof AuthError);
          assert.equal(err.status, 400);
          assert.equal(err.message, `send one credential: ${message} — send exactly one`);
          return true;
        },
      );
    }
  });

  it('refuses X-API-Key together with Authorization', () => {
    refuses(
      { 'x-api-key': KEY, authorization: `Bearer ${KEY}` },
      'send one credential: either X-API-Key or Authorization, not both',
    );
    refuses({ 'x-api-key': KEY, authorization: b64('a:b') }, 'not both');
  });

  it('reads Bearer with any case of the scheme: a pcl_ value is an API key, anything else a token', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      assert.deepEqual(read({ authorization: `${scheme} ${KEY}` }), { kind: 'api-key', key: KEY });
      assert.deepEqual(read({ authorization: `${scheme} eyJ.a-b_c.d~e+f/g==` }), {
        kind: 'bearer',
        token: 'eyJ.a-b_c.d~e+f/g==',
      });
    }
    assert.deepEqual(read({ authorization: 'Bearer   spaced-token  ' }), {
      kind: 'bearer',
      token: 'spaced-token',
    });
  });

  it('refuses a Bearer value that is not a token68', () => {
    for (const value of [
      '',
      ' ',
      'two words',
      'quote"d',
      'comma,separated',
      '=leading',
      'a=b',
      'tab\there',
      'ü',
    ]) {
      refuses({ authorization: `Bearer ${value}` }, 'the Authorization header is not "Bearer <token>"');
    }
    refuses({ authorization: 'Bearer' }, 'the Authorization header is not "Bearer <token>"');
  });

  it('reads Basic with any case of the scheme, splitting at the first colon', () => {
    for (const scheme of ['Basic', 'basic', 'BASIC']) {
      assert.deepEqual(read({ authorization: `${scheme} ${b64('alice:pa:ss word')}` }), {
        kind: 'basic',
        username: 'alice',
        password: 'pa:ss word',
      });
    }
    assert.deepEqual(read({ authorization: `Basic ${b64('bob:')}` }), {
      kind: 'basic',
      username: 'bob',
      password: '',
    });
    assert.deepEqual(read({ authorization: `Basic ${b64('zoë:pässword')}` }), {
      kind: 'basic',
      username: 'zoë',
      password: 'pässword',
    });
  });

  it('refuses Basic that is not base64 of user:password', () => {
    refuses({ authorization: 'Basic not base64!' }, 'the Authorization header is not "Basic <base64>"');
    refuses({ authorization: 'Basic' }, 'the Authorization header is not "Basic <base64>"');
    refuses(
      { authorization: `Basic ${b64('no-colon')}` },
      'Basic credentials must be base64 of "user:password"',
    );
    refuses(
      { authorization: `Basic ${b64(':password-only')}` },
      'Basic credentials must be base64 of "user:password"',
    );
  });

  it('refuses other schemes, naming them', () => {
    refuses(
      { authorization: 'Digest username="a"' },
      'the Authorization scheme "digest" is not supported — use Bearer or Basic',
    );
    refuses({ authorization: 'Token abc' }, 'the Authorization scheme "token" is not supported');
    refuses({ authorization: 'Bearer,abc' }, 'is not supported');
  });

  it('never puts a credential sent without a scheme into its message', () => {
    for (const value of [KEY, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl']) {
      const err = refuses({ authorization: value }, 'is not supported');
      assert.ok(
        !err.message.toLowerCase().includes(value.slice(4, 30).toLowerCase()),
        `the message echoes the credential: ${err.message}`,
      );
    }
  });
});

describe('authenticate: challenges', () => {
  const publicUrl = new URL('http://127.0.0.1:8787');
  const ctxFor = (headers: IncomingHttpHeaders, path = '/mcp') =>
    ({
      req: request(headers, path),
      endpoint: { upstream: 'everything', path },
      clientIp: '127.0.0.1',
      secure: false,
    }) as unknown as RequestContext;

  async function refusal(methods: Authenticators, ctx: RequestContext): Promise<GatewayError> {
    try {
      await authenticate(methods)(ctx);
    } catch (err) {
      assert.ok(err instanceof GatewayError, String(err));
      return err;
    }
    assert.fail('accepted');
  }

  it('auth.none makes every caller the anonymous principal, credentials or not', async () => {
    const ctx = ctxFor({ authorization: 'Bearer whatever' });
    await authenticate({ none: true, publicUrl })(ctx);
    assert.equal(ctx.principal, ANONYMOUS);
    assert.deepEqual(ANONYMOUS.scopes, ['*']);
  });

  it('no credential: 401 unauthorized with a bare resource_metadata challenge for the endpoint', async () => {
    const err = await refusal({ none: false, publicUrl }, ctxFor({}, '/servers/files/mcp'));
    assert.equal(err.status, 401);
    assert.equal(err.code, 'unauthorized');
    assert.deepEqual(err.headers, {
      'www-authenticate':
        'Bearer resource_metadata="http://127.0.0.1:8787/.well-known/oauth-protected-resource/servers/files/mcp"',
    });
  });

  it('a method that is not configured: 401 invalid_token saying so', async () => {
    const methods: Authenticators = { none: false, publicUrl };
    const key = await refusal(methods, ctxFor({ 'x-api-key': KEY }));
    assert.equal(key.code, 'invalid_token');
    assert.equal(key.message, 'API keys are not accepted by this gateway');
    const bearer = await refusal(methods, ctxFor({ authorization: 'Bearer abc.def.ghi' }));
    assert.equal(bearer.message, 'bearer tokens other than API keys are not accepted by this gateway');
    const basic = await refusal(methods, ctxFor({ authorization: `Basic ${b64('a:b')}` }));
    assert.equal(basic.message, 'Basic authentication is not enabled on this gateway');
    assert.equal(
      basic.headers['www-authenticate'],
      'Bearer error="invalid_token", error_description="Basic authentication is not enabled on this gateway", resource_metadata="http://127.0.0.1:8787/.well-known/oauth-protected-resource/mcp"',
    );
  });

  it('a malformed request: 400 invalid_auth_request, the description made header-safe', async () => {
    const err = await refusal({ none: false, publicUrl }, ctxFor({ authorization: 'Digest x' }));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_auth_request');
    assert.equal(
      err.headers['www-authenticate'],
      `Bearer error="invalid_request", error_description="the Authorization scheme 'digest' is not supported - use Bearer or Basic", resource_metadata="http://127.0.0.1:8787/.well-known/oauth-protected-resource/mcp"`,
    );
  });
});
