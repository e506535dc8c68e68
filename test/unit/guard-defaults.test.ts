/**
 * A guarded argument left out is judged by what the upstream will use instead (issue 15, item 3):
 * the inputSchema's `default` (or a parent object's default), and refused when there is none —
 * unless the guard says `required: false`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { policySchema } from '../../src/config/policy-schema.js';
import { ArgumentGuards } from '../../src/policy/guards.js';
import { Policy } from '../../src/policy/policy.js';

const guardsOf = (guards: unknown) =>
  new ArgumentGuards(
    'fetch',
    policySchema.parse({ tools: { 'u.fetch': { guards } } }).tools['u.fetch'] as never,
  );

const SCHEMA = {
  type: 'object',
  properties: {
    url: { type: 'string', default: 'http://169.254.169.254/latest/meta-data/' },
    target: { type: 'string' },
    nested: {
      type: 'object',
      default: { href: 'http://10.0.0.1/' },
      properties: { href: { type: 'string' } },
    },
    deep: { type: 'object', properties: { href: { type: 'string', default: 'ftp://example.com/' } } },
    list: { type: 'array', default: ['https://8.8.8.8/ok', 'http://127.0.0.1/'] },
    file: { type: 'string', default: '/etc/passwd' },
  },
};

const refusedWith = (pattern: RegExp) => (err: Error & { code?: string }) => {
  assert.equal(err.code, 'invalid_arguments');
  assert.match(err.message, pattern);
  return true;
};

describe('guarded arguments left out', () => {
  it('judges a left-out URL by its schema default', async () => {
    const g = guardsOf({ schema: false, urls: { args: ['url'] } });
    await assert.rejects(
      g.check({}, SCHEMA),
      refusedWith(/argument url \(left out: its schema default\) points at a linkLocal address/),
    );
    await assert.rejects(g.check(undefined, SCHEMA), /linkLocal address/);
    // null is left out too: the upstream treats it as absent
    await assert.rejects(g.check({ url: null }, SCHEMA), /left out: its schema default/);
    await g.check({ url: 'https://8.8.8.8/' }, SCHEMA);
  });

  it('refuses a default outside the allow-list', async () => {
    const g = guardsOf({
      schema: false,
      urls: { args: ['url'], allow: ['https://downloads.example.com/*'] },
    });
    await assert.rejects(
      g.check({}, SCHEMA),
      /argument url \(left out: its schema default\) is not an allowed URL/,
    );
  });

  it('judges nested arguments by the parent object’s default and by their own', async () => {
    await assert.rejects(
      guardsOf({ schema: false, urls: { args: ['nested.href'] } }).check({}, SCHEMA),
      /argument nested\.href \(left out: its schema default\) points at a private address/,
    );
    await assert.rejects(
      guardsOf({ schema: false, urls: { args: ['deep.href'] } }).check({ deep: {} }, SCHEMA),
      /argument deep\.href \(left out: its schema default\) must be an http\(s\) URL/,
    );
  });

  it('judges every item of an array default', async () => {
    await assert.rejects(
      guardsOf({ schema: false, urls: { args: ['list'] } }).check({}, SCHEMA),
      /argument list \(left out: its schema default\) points at a loopback address/,
    );
  });

  it('judges a left-out path by its default', async () => {
    await assert.rejects(
      guardsOf({ schema: false, paths: { args: ['file'], roots: ['/srv/docs'] } }).check({}, SCHEMA),
      /argument file \(left out: its schema default\) is outside the allowed roots/,
    );
  });

  it('refuses a left-out argument without a default, unless the guard says required: false', async () => {
    for (const guards of [
      { schema: false, urls: { args: ['target'] } },
      { schema: false, paths: { args: ['target'], roots: ['/srv'] } },
      { schema: false, urls: { args: ['missing.from.schema'] } },
    ]) {
      await assert.rejects(
        guardsOf(guards).check({}, SCHEMA),
        refusedWith(/is guarded and was left out, and the tool's input schema gives it no default — send it/),
      );
      // no schema known at all: nothing to fall back on either
      await assert.rejects(guardsOf(guards).check({}, undefined), /was left out/);
    }
    await guardsOf({ schema: false, urls: { args: ['target'], required: false } }).check({}, SCHEMA);
    await guardsOf({ schema: false, paths: { args: ['target'], roots: ['/srv'], required: false } }).check(
      {},
      SCHEMA,
    );
    // required: false allows absence only: a default is still judged
    await assert.rejects(
      guardsOf({ schema: false, urls: { args: ['url'], required: false } }).check({}, SCHEMA),
      /linkLocal/,
    );
  });

  it('an empty array sent is not left out', async () => {
    await guardsOf({ schema: false, urls: { args: ['list'] } }).check({ list: [] }, SCHEMA);
  });

  it('the config refuses a required that is not a boolean', () => {
    assert.throws(() =>
      policySchema.parse({ tools: { 'u.f': { guards: { urls: { args: ['x'], required: 'no' } } } } }),
    );
  });
});

describe('schema: true for every tool (issue 14 item 8)', () => {
  const ECHO = { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] };

  it('checks a tool policy.tools does not name against its inputSchema', async () => {
    const policy = new Policy(policySchema.parse({}));
    await assert.rejects(
      policy.guardsFor('everything', 'echo').check({ message: 42 }, ECHO),
      refusedWith(/^tool 'echo': arguments do not match its input schema: \/message must be string$/),
    );
    await policy.guardsFor('everything', 'echo').check({ message: 'hi' }, ECHO);
  });

  it('guards.schema: false opts one tool out, and only that one', async () => {
    const policy = new Policy(
      policySchema.parse({ tools: { 'everything.echo': { guards: { schema: false } } } }),
    );
    await policy.guardsFor('everything', 'echo').check({ message: 42 }, ECHO);
    await assert.rejects(policy.guardsFor('other', 'echo').check({ message: 42 }, ECHO), /must be string/);
  });
});
