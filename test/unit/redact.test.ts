/**
 * The redaction corpus: every secret form, embedded in JSON, headers, URLs, error messages and
 * multi-line stack traces, must be masked; the look-alikes (order numbers failing Luhn, dates,
 * times, versions, UUIDs, addresses and ports, ids) must survive.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSensitiveKey, luhn, REDACTED, Redactor, secretMasker } from '../../src/audit/redact.js';
import { REDACTED as LOGGER_REDACTED, secretMasker as loggerSecretMasker } from '../../src/log/logger.js';

const SECRET = 'sk-live-7f3a9c2e1b';
const r = new Redactor([SECRET]);

/** `text` masks every `leaks` value and shows the marker. */
function assertMasks(input: string, leaks: readonly string[], redactor = r): string {
  const out = redactor.text(input);
  for (const leak of leaks) assert.ok(!out.includes(leak), `leaks ${JSON.stringify(leak)}: ${out}`);
  assert.ok(out.includes(REDACTED), `shows ${REDACTED}: ${out}`);
  return out;
}

/** `text` leaves `input` exactly as it was. */
function assertKeeps(input: string, redactor = r): void {
  assert.equal(redactor.text(input), input);
}

/** The same value embedded the ways it travels: a JSON field, a JSON line, a header, a URL, an error, a stack. */
function contexts(value: string): Record<string, string> {
  const err = new Error(`upstream refused the call with ${value}`);
  return {
    'JSON field': JSON.stringify({ note: `value ${value} here`, n: 1 }),
    'JSON line (escaped twice)': JSON.stringify({ msg: JSON.stringify({ body: `x ${value} y` }) }),
    'header block': `Accept: application/json\r\nX-Note: ${value}\r\nHost: a`,
    URL: `https://api.example.com/v1/items/${encodeURIComponent(value)}`,
    'error message': `Error: could not call upstream: got ${value} back`,
    'stack trace': err.stack ?? '',
    'multi-line': `first line\n  second ${value}\n\tthird`,
  };
}

const LUHN_CARDS = [
  '4111111111111111', // Visa 16
  '4222222222222', // Visa 13
  '4000000000000000006', // Visa 19
  '5500005555555559', // Mastercard
  '2223003122003222', // Mastercard 2-series
  '378282246310005', // Amex 15
  '6011111111111117', // Discover
  '30569309025904', // Diners 14
  '3566002020360505', // JCB
  '6221260000000000', // UnionPay
];

describe('Redactor.text: registered secrets (from ${env:…}/${file:…})', () => {
  it('masks a secret raw, JSON-escaped, URL-encoded and form-encoded', () => {
    const secret = 'p"a ss/w+rd~1';
    const red = new Redactor([secret]);
    for (const form of [
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      new URLSearchParams({ v: secret }).toString().slice(2),
    ]) {
      assert.equal(red.text(`a ${form} b`), `a ${REDACTED} b`, form);
    }
  });

  for (const [where, text] of Object.entries(contexts(SECRET))) {
    it(`masks a secret in a ${where}`, () => {
      assertMasks(text, [SECRET, encodeURIComponent(SECRET)]);
    });
  }

  it('masks a secret inside a JSON line written by the logger and keeps the line valid JSON', () => {
    const line = JSON.stringify({
      upstream: 'crm',
      headers: { 'x-upstream-key': SECRET },
      msg: `with ${SECRET}`,
    });
    const out = assertMasks(line, [SECRET]);
    assert.deepEqual(JSON.parse(out), {
      upstream: 'crm',
      headers: { 'x-upstream-key': REDACTED },
      msg: `with ${REDACTED}`,
    });
  });

  it('is the one secretMasker the logger uses (moved, not duplicated)', () => {
    assert.equal(loggerSecretMasker, secretMasker);
    assert.equal(LOGGER_REDACTED, REDACTED);
  });
});

describe('Redactor.text: credentials by their shape', () => {
  const apiKey = 'pcl_Xy3_kR9-aB4cD5eF6gH7iJ8kL9mN0oP1qR2sT3uV4w';
  const jwt =
    'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWRwIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';
  const bearer = 'opaque-Token_9f8e7d6c5b4a';
  const basic = Buffer.from('alice:correct horse').toString('base64');

  for (const [name, value, leak] of [
    ['a pcl_ API key', apiKey, 'kR9-aB4cD5eF6gH7'],
    ['a JWT', jwt, 'eyJzdWIiOiJhbGljZSIsImlzcyI6'],
    ['a Bearer token', `Bearer ${bearer}`, bearer],
    ['a Basic credential', `Basic ${basic}`, basic],
  ] as const) {
    for (const [where, text] of Object.entries(contexts(value))) {
      it(`masks ${name} in a ${where}`, () => {
        assertMasks(text, [leak]);
      });
    }
  }

  it('keeps the scheme of a Bearer or Basic credential and masks the rest', () => {
    assert.equal(r.text(`sent Bearer ${bearer} to it`), `sent Bearer ${REDACTED} to it`);
    assert.equal(r.text(`sent basic ${basic}`), `sent basic ${REDACTED}`);
  });

  it('masks a JWT without a signature and a five-part JWE', () => {
    assertMasks('unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. end', ['eyJzdWIiOiJ4In0']);
    assertMasks('jwe eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn end', ['Y2lwaGVy', 'dGFn']);
  });

  it('masks Authorization, Proxy-Authorization, Cookie, Set-Cookie and X-API-Key header lines to the end of the line', () => {
    const block = [
      'POST /mcp HTTP/1.1',
      'Host: gw.example.com',
      `Authorization: Bearer ${bearer}`,
      `proxy-authorization: Basic ${basic}`,
      'Cookie: session=s3cr3t-cookie; theme=dark',
      'Set-Cookie: id=a3fWa; Expires=Thu, 21 Oct 2026 07:28:00 GMT; Secure',
      `X-API-Key: ${apiKey}`,
      'Accept: text/event-stream',
      '',
    ].join('\r\n');
    const out = assertMasks(block, [bearer, basic, 's3cr3t-cookie', 'theme=dark', 'a3fWa', apiKey]);
    assert.ok(out.includes('Host: gw.example.com\r\n'));
    assert.ok(out.includes('Accept: text/event-stream'));
    assert.ok(out.includes(`Cookie: ${REDACTED}\r\n`));
  });

  it('masks header lines inside a JSON string (escaped newlines end the value)', () => {
    const line = JSON.stringify({ raw: 'Cookie: a=b; c=d\nAccept: */*' });
    const out = r.text(line);
    assert.deepEqual(JSON.parse(out), { raw: `Cookie: ${REDACTED}\nAccept: */*` });
  });

  it('masks credential-named JSON fields, also in JSON logged inside a JSON string', () => {
    const body = JSON.stringify({
      user: 'bob',
      password: 'hunter22',
      client_secret: 'cs-1',
      refresh_token: 'rt-1',
    });
    const out = assertMasks(body, ['hunter22', 'cs-1', 'rt-1']);
    assert.deepEqual(JSON.parse(out), {
      user: 'bob',
      password: REDACTED,
      client_secret: REDACTED,
      refresh_token: REDACTED,
    });
    const nested = JSON.stringify({ msg: `request body ${body}` });
    const out2 = assertMasks(nested, ['hunter22', 'cs-1', 'rt-1']);
    assert.ok((JSON.parse(out2) as { msg: string }).msg.includes('"user":"bob"'));
  });

  it('masks key=value credentials in form bodies, query strings and error messages', () => {
    const form = 'grant_type=refresh_token&client_id=gw&client_secret=abc%20def&refresh_token=rt.1-2';
    const out = assertMasks(form, ['abc%20def', 'rt.1-2']);
    assert.equal(
      out,
      `grant_type=refresh_token&client_id=gw&client_secret=${REDACTED}&refresh_token=${REDACTED}`,
    );
    assertMasks('Error: login failed for password=hunter22 (api_key: k-123)', ['hunter22', 'k-123']);
  });

  it('masks every form in one multi-line stack trace', () => {
    const err = new Error(
      `POST https://crm.example.com/api?access_token=tok-1 failed\nAuthorization: Bearer ${bearer}\nkey ${apiKey} user alice@example.com`,
    );
    const out = assertMasks(err.stack ?? '', ['tok-1', bearer, apiKey, 'alice@example.com']);
    assert.match(out, /\n {4}at /, 'the frames survive');
  });

  it('leaves WWW-Authenticate challenges and prose about schemes alone', () => {
    assertKeeps(
      'WWW-Authenticate: Bearer error="invalid_token", error_description="the API key is not known", resource_metadata="https://gw/.well-known/oauth-protected-resource/mcp"',
    );
    assertKeeps(
      JSON.stringify({
        h: 'Bearer resource_metadata="https://gw/x", Basic realm="portcullis", charset="UTF-8"',
      }),
    );
    assertKeeps('bearer tokens other than API keys are not accepted by this gateway');
    assertKeeps('Basic authentication is not enabled on this gateway');
    assertKeeps('the Authorization header is not "Bearer <token>"');
    assertKeeps('send an API key (pcl_…) in X-API-Key');
  });

  it('leaves principal ids alone', () => {
    assertKeeps('api-key:key_3f9a0c1d2e4b basic:alice jwt:https://idp.example.com/#user-1 anonymous');
    assertKeeps(JSON.stringify({ principal: { id: 'api-key:key_1', kind: 'api-key', name: 'ci' } }));
  });

  it('leaves fields that merely contain a credential word alone', () => {
    assertKeeps('progressToken=5 next_token=abc tokenCount: 12');
    assertKeeps(JSON.stringify({ progressToken: 'p-1', tokens: 3, secretary: 'ann' }));
  });
});

describe('Redactor.text: URLs', () => {
  it('masks the query string and keeps scheme, host, port, path and fragment', () => {
    assert.equal(
      r.text('GET https://api.example.com:8443/v1/x?key=abc&sig=def#top'),
      `GET https://api.example.com:8443/v1/x?${REDACTED}#top`,
    );
  });

  it('masks user:password in a URL', () => {
    const out = assertMasks('connecting to postgres://app:hunter22@db.internal:5432/app', [
      'hunter22',
      'app:',
    ]);
    assert.equal(out, `connecting to postgres://${REDACTED}@db.internal:5432/app`);
    assertMasks('redis://:pa55word@cache:6379/0', ['pa55word']);
  });

  it('keeps a URL without a query as it is, and a JSON line valid', () => {
    assertKeeps('http://127.0.0.1:8787/servers/everything/mcp');
    const line = JSON.stringify({ url: 'https://h/p?token=x&y=1', msg: 'see "https://h/q?a=b"' });
    const out = r.text(line);
    assert.deepEqual(JSON.parse(out), {
      url: `https://h/p?${REDACTED}`,
      msg: `see "https://h/q?${REDACTED}"`,
    });
  });

  it('is idempotent on an already redacted URL', () => {
    const once = r.text('https://h/p?a=1');
    assert.equal(r.text(once), once);
  });
});

describe('Redactor.text: personal data', () => {
  for (const email of ['alice@example.com', 'a.b+tag@mail.example.co.uk', 'x_y-z@sub.example.io']) {
    for (const [where, text] of Object.entries(contexts(email))) {
      it(`masks the email ${email} in a ${where}`, () => {
        assertMasks(text, [email, encodeURIComponent(email)]);
      });
    }
  }

  it('masks a URL-encoded email', () => {
    assertMasks('user=alice%40example.com done', ['alice%40example.com']);
  });

  for (const phone of [
    '+44 20 7946 0958',
    '+14155552671',
    '+1 (415) 555-2671',
    '+1-415-555-2671',
    '+33 1 23 45 67 89',
    '+49 30 12345678',
    '(415) 555-2671',
    '415-555-2671',
    '415.555.2671',
    '415 555 2671',
    '1-800-555-0199',
    '020 7946 0958',
    '07700 900123',
    '01 23 45 67 89',
    '030-12345678',
  ]) {
    it(`masks the phone number ${phone}`, () => {
      for (const text of [
        `call ${phone} now`,
        JSON.stringify({ phone }),
        `Error: no answer at ${phone}\n    at x (a.js:1:2)`,
      ]) {
        assertMasks(text, [phone]);
      }
    });
  }

  for (const card of LUHN_CARDS) {
    it(`masks the card number ${card} (Luhn passes), plain, spaced and dashed`, () => {
      const spaced = card.replace(/(\d{4})(?=\d)/g, '$1 ');
      const dashed = card.replace(/(\d{4})(?=\d)/g, '$1-');
      for (const form of [card, spaced, dashed]) {
        for (const text of [
          `card ${form}.`,
          JSON.stringify({ pan: form }),
          `Error: charge failed for ${form}\n    at pay (x.js:1:1)`,
        ]) {
          assertMasks(text, [form, card.slice(4, 12)]);
        }
      }
    });
  }

  it('masks a card number written as a bare JSON number in a line', () => {
    assert.deepEqual(JSON.parse(r.text('{"n":4111111111111111,"m":[5500005555555559]}')), {
      n: REDACTED,
      m: [REDACTED],
    });
  });
});

describe('Redactor.text: look-alikes survive', () => {
  const survivors = [
    'order 4111 1111 1111 1112 shipped', // Luhn fails
    'order 1234-5678-9012-3456', // Luhn fails
    'ref 4111111111111112', // Luhn fails
    'invoice 5105 1051 0510 5101', // Luhn fails
    'at 2026-11-23T10:00:00.000Z', // ISO date-time
    'on 2026-11-23 10:00:00 and 2026-11-23', // dates and times
    'at 10:00:00.123 and 23:59', // times
    'versions 1.2.3, v20.19.43, 10.4.0-rc.1, 2026.8.31', // versions
    'id 123e4567-e89b-12d3-a456-426614174000', // UUID
    'id 12345678-1234-5678-1234-567812345678', // all-digit UUID
    'id 41111111-1111-1111-1111-111111111111', // UUID whose digits pass Luhn in pieces
    'listen http://127.0.0.1:8787 and [::1]:8787 and 192.168.100.200:443', // addresses and ports
    'pid 12345 port 8787 status 429', // small numbers
    'expires 1764000000000 (ms) or 1764000000 (s)', // epoch timestamps
    'sha256 3f9a0c1d2e4b5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a', // hex
    'key_3f9a0c1d2e4b', // key ids
    'dates 01-12-2026 10:30 and 23 11 2026', // national dates
    'package @modelcontextprotocol/server-everything@2026.8.31', // scoped package
    'amount 1,234,567.89 USD', // money
    'offset +05:30 and +1 more', // timezone and prose
  ];
  for (const text of survivors) {
    it(`keeps: ${text}`, () => {
      assertKeeps(text);
      assertKeeps(JSON.stringify({ text }));
    });
  }
});

describe('Redactor options and levels', () => {
  it('pii: false leaves emails, phones and cards, and still masks secrets and credentials', () => {
    const red = new Redactor([SECRET], { pii: false });
    const text = `alice@example.com +14155552671 4111111111111111 ${SECRET} pcl_abcdefgh`;
    assert.equal(red.text(text), `alice@example.com +14155552671 4111111111111111 ${REDACTED} ${REDACTED}`);
  });

  it("level 'credentials' does the same for one call", () => {
    assert.equal(r.text('alice@example.com pcl_abcdefgh', 'credentials'), `alice@example.com ${REDACTED}`);
  });

  it('masks a string the same way every time it is seen (strings found clean are remembered, per level)', () => {
    const red = new Redactor([SECRET]);
    // Clean at 'credentials', not at 'full': seen first at the level that leaves it alone.
    assert.equal(red.text('bob@example.com', 'credentials'), 'bob@example.com');
    assert.equal(red.text('bob@example.com'), REDACTED);
    assert.equal(red.text('bob@example.com', 'credentials'), 'bob@example.com');
    for (let i = 0; i < 3; i++) {
      assert.equal(red.text(`key ${SECRET}`), `key ${REDACTED}`);
      assert.equal(red.text('pcl_abcdefgh', 'credentials'), REDACTED);
      assert.equal(red.text('tools/call'), 'tools/call');
      assert.deepEqual(red.value({ password: 'x', who: 'bob@example.com', m: 'tools/call' }), {
        password: REDACTED,
        who: REDACTED,
        m: 'tools/call',
      });
    }
  });

  it('still masks every string when more distinct clean strings come than it remembers', () => {
    const red = new Redactor([SECRET]);
    for (let i = 0; i < 10_000; i++) assert.equal(red.text(`id-${i}`), `id-${i}`);
    assert.equal(red.text(`id-1 ${SECRET}`), `id-1 ${REDACTED}`);
    assert.equal(red.text('id-9999'), 'id-9999');
  });
});

describe('Redactor.value', () => {
  it('returns a redacted deep copy and leaves the input untouched', () => {
    const input = {
      principal: 'alice',
      args: { path: '/srv/docs/a.txt', note: `mail alice@example.com with ${SECRET}` },
      list: ['4111 1111 1111 1111', 'order 1234'],
      n: 4111111111111111,
      at: 1764000000000,
      ok: true,
      none: null,
    };
    const copy = structuredClone(input);
    const out = r.value(input);
    assert.deepEqual(input, copy, 'input unchanged');
    assert.deepEqual(out, {
      principal: 'alice',
      args: { path: '/srv/docs/a.txt', note: `mail ${REDACTED} with ${REDACTED}` },
      list: [REDACTED, 'order 1234'],
      n: REDACTED, // a card number held as a number
      at: 1764000000000, // epoch milliseconds start with 1: not a card
      ok: true,
      none: null,
    });
  });

  it('masks credential-named fields whole, whatever their case, spelling or type', () => {
    const out = r.value({
      headers: {
        Authorization: 'Bearer x',
        cookie: 'a=b',
        'X-API-Key': 'pcl_1234',
        'x-request-id': 'r-1',
      },
      password: 'p',
      PASSWORD: 'p',
      token: 12345,
      secret: { nested: 'object' },
      clientSecret: 'c',
      client_secret: 'c',
      refresh_token: 'r',
      access_token: 'a',
      accessToken: 'a',
      api_key: 'k',
      empty: null,
      token_missing: null,
      progressToken: 'p-1',
    });
    assert.deepEqual(out, {
      headers: { Authorization: REDACTED, cookie: REDACTED, 'X-API-Key': REDACTED, 'x-request-id': 'r-1' },
      password: REDACTED,
      PASSWORD: REDACTED,
      token: REDACTED,
      secret: REDACTED,
      clientSecret: REDACTED,
      client_secret: REDACTED,
      refresh_token: REDACTED,
      access_token: REDACTED,
      accessToken: REDACTED,
      api_key: REDACTED,
      empty: null,
      token_missing: null,
      progressToken: 'p-1',
    });
  });

  it('redacts object keys like text', () => {
    assert.deepEqual(r.value({ 'alice@example.com': 1 }), { [REDACTED]: 1 });
  });

  it('turns Errors, Maps, Sets, Dates and typed arrays into JSON-safe values', () => {
    const out = r.value({
      err: new Error(`boom ${SECRET}`),
      map: new Map([['k', 'alice@example.com']]),
      set: new Set(['x']),
      at: new Date('2026-11-23T10:00:00.000Z'),
      bytes: new Uint8Array(3),
      big: 10n,
      fn: () => 1,
    }) as Record<string, unknown>;
    const err = out.err as { name: string; message: string; stack: string };
    assert.equal(err.name, 'Error');
    assert.equal(err.message, `boom ${REDACTED}`);
    assert.ok(!err.stack.includes(SECRET));
    assert.deepEqual(out.map, { k: REDACTED });
    assert.deepEqual(out.set, ['x']);
    assert.equal(out.at, '2026-11-23T10:00:00.000Z');
    assert.equal(out.bytes, '[3 bytes]');
    assert.equal(out.big, '10');
    assert.ok(!('fn' in out));
    JSON.stringify(out);
  });

  it('cuts cycles and very deep nesting short', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    assert.deepEqual(r.value(a), { name: 'a', self: '[Circular]' });
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 40; i++) deep = { d: deep };
    assert.ok(JSON.stringify(r.value(deep)).includes('[Truncated]'));
    const shared = { v: 1 };
    assert.deepEqual(
      r.value({ x: shared, y: shared }),
      { x: { v: 1 }, y: { v: 1 } },
      'shared is not circular',
    );
  });

  it("level 'credentials' keeps who-did-it fields readable", () => {
    assert.deepEqual(
      r.value({ id: 'jwt:https://idp#alice@example.com', name: 'alice@example.com' }, 'credentials'),
      {
        id: 'jwt:https://idp#alice@example.com',
        name: 'alice@example.com',
      },
    );
  });
});

describe('helpers', () => {
  it('luhn', () => {
    for (const card of LUHN_CARDS) assert.ok(luhn(card), card);
    for (const n of ['4111111111111112', '1234567812345678', '12a4']) assert.ok(!luhn(n), n);
  });

  it('isSensitiveKey', () => {
    for (const k of [
      'Authorization',
      'x-api-key',
      'X_API_KEY',
      'client_secret',
      'refreshToken',
      'Set-Cookie',
    ])
      assert.ok(isSensitiveKey(k), k);
    for (const k of ['progressToken', 'tokens', 'name', 'secretary', 'x-request-id'])
      assert.ok(!isSensitiveKey(k), k);
  });
});
