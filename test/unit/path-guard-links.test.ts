/**
 * The path guard follows every symlink on a path, one component at a time, dangling ones included
 * (issue 15, item 2): a link to a file not yet made is judged by where it points, a link in the
 * middle of the path by its target, loops and more than 40 links are refused. Real temp dirs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { policySchema } from '../../src/config/policy-schema.js';
import { ArgumentGuards, MAX_LINKS, resolveLinks } from '../../src/policy/guards.js';

describe('resolveLinks and the path guard', () => {
  let base: string;
  let pub: string;
  let priv: string;
  let guards: ArgumentGuards;

  before(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'pcl-links-')));
    pub = join(base, 'public');
    priv = join(base, 'private');
    mkdirSync(join(pub, 'inner'), { recursive: true });
    mkdirSync(priv);
    writeFileSync(join(priv, 'old.txt'), 'secret');
    symlinkSync('../private/new.txt', join(pub, 'link')); // dangling: new.txt does not exist
    symlinkSync(join(priv, 'new.txt'), join(pub, 'abs-link')); // dangling, absolute
    symlinkSync('../private', join(pub, 'dir')); // a directory out, in the middle of a path
    symlinkSync('hop2', join(pub, 'hop1')); // a chain ending in a dangling link out
    symlinkSync('inner/../dir/x.txt', join(pub, 'hop2'));
    symlinkSync('inner/fresh.txt', join(pub, 'alias')); // dangling, but inside
    symlinkSync('loop-b', join(pub, 'loop-a'));
    symlinkSync('loop-a', join(pub, 'loop-b'));
    symlinkSync('../../private/old.txt', join(pub, 'inner', 'up')); // relative to the link's own dir
    // A chain of MAX_LINKS links is allowed, one more is not.
    for (let i = 0; i < MAX_LINKS + 1; i++) symlinkSync(`c${i + 1}`, join(pub, `c${i}`));
    writeFileSync(join(pub, `c${MAX_LINKS + 1}`), 'end');
    const policy = policySchema.parse({
      tools: { 'files.write_file': { guards: { paths: { args: ['path'], roots: [pub] } } } },
    });
    guards = new ArgumentGuards('write_file', policy.tools['files.write_file'] as never);
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  it('judges a dangling link by where it points', async () => {
    assert.equal(await resolveLinks(join(pub, 'link')), join(priv, 'new.txt'));
    assert.equal(await resolveLinks(join(pub, 'abs-link')), join(priv, 'new.txt'));
    assert.equal(await resolveLinks(join(pub, 'alias')), join(pub, 'inner', 'fresh.txt'));
  });

  it('follows links in the middle of a path, chains, and targets relative to the link', async () => {
    assert.equal(await resolveLinks(join(pub, 'dir', 'sub', 'new.txt')), join(priv, 'sub', 'new.txt'));
    assert.equal(await resolveLinks(join(pub, 'hop1')), join(priv, 'x.txt'));
    assert.equal(await resolveLinks(join(pub, 'inner', 'up')), join(priv, 'old.txt'));
    assert.equal(
      await resolveLinks(join(pub, 'inner', 'nothing', 'deeper')),
      join(pub, 'inner', 'nothing', 'deeper'),
    );
    assert.equal(await resolveLinks(join(pub, 'c1')), join(pub, `c${MAX_LINKS + 1}`));
  });

  it('refuses a loop and more than 40 links', async () => {
    await assert.rejects(resolveLinks(join(pub, 'loop-a')), /more than 40 symbolic links/);
    await assert.rejects(resolveLinks(join(pub, 'c0')), /more than 40 symbolic links/);
  });

  it('the guard refuses writes through dangling links out, and allows the one that stays inside', async () => {
    for (const path of [
      join(pub, 'link'),
      join(pub, 'abs-link'),
      join(pub, 'hop1'),
      join(pub, 'dir', 'new.txt'),
    ]) {
      await assert.rejects(
        guards.check({ path, content: 'x' }, undefined),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'invalid_arguments', path);
          assert.match(err.message, /argument path is outside the allowed roots/, path);
          return true;
        },
      );
    }
    await assert.rejects(
      guards.check({ path: join(pub, 'loop-a') }, undefined),
      /tool 'write_file': argument path passes through more than 40 symbolic links \(a loop\?\)/,
    );
    await guards.check({ path: join(pub, 'alias'), content: 'x' }, undefined);
    await guards.check({ path: join(pub, 'inner', 'new.txt'), content: 'x' }, undefined);
  });
});
