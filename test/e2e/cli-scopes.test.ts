/** keys create and policy explain check scopes, and explain the bootstrap user and revoked keys (issue 14 item 4). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { EVERYTHING } from '../helpers/gateway.js';

const CLI = resolve('dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'pcl-scopes-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'portcullis.yaml');
writeFileSync(
  file,
  `listen: { port: 0 }\nstore: { sqlite: ${join(dir, 'p.db')} }\nauth:\n  apiKeys: {}\n  basic: { bootstrapAdmin: true }\nupstreams:\n  everything: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }\n`,
);
const run = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args, '--config', file], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });

describe('scopes on the command line', () => {
  it('keys create refuses an unknown scope with a did-you-mean, and makes no key', () => {
    const r = run(['keys', 'create', '--name', 'typo', '--scopes', 'tools:write,tool:read']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'portcullis: --scopes: "tool:read" is not a scope this gateway knows, so it would grant nothing — did you mean tools:read?\n',
    );
    assert.doesNotMatch(run(['keys', 'list']).stdout, /typo/);
  });

  it('keys create accepts standard, per-upstream, wildcard and admin scopes', () => {
    const r = run(['keys', 'create', '--name', 'ops', '--scopes', 'tools:read,everything:*,admin']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^pcl_/);
  });

  it('policy explain --scopes flags an unknown scope', () => {
    const r = run(['policy', 'explain', '--scopes', 'tool:read']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^warning: --scopes: "tool:read" is not a scope this gateway knows, so it would grant nothing — did you mean tools:read\?$/m,
    );
    assert.match(r.stdout, /tool\s+echo\s+denied/);
  });

  it('policy explain --user admin explains the bootstrap admin user', () => {
    const r = run(['policy', 'explain', '--user', 'admin']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Caller: Basic user admin \[role admin\]$/m);
    assert.match(r.stdout, /tool\s+gzip-file-as-resource\s+allowed/);
    const nobody = run(['policy', 'explain', '--user', 'root']);
    assert.equal(nobody.status, 1);
    assert.match(
      nobody.stderr,
      /no Basic user named root in auth\.basic\.users \(nor the bootstrap user admin\)/,
    );
  });

  it('policy explain --key says a revoked key is revoked', () => {
    const made = run(['keys', 'create', '--name', 'old', '--scopes', 'tools:read']);
    const id = /Created (key_[0-9a-f]+)/.exec(made.stderr)?.[1] as string;
    assert.match(run(['policy', 'explain', '--key', id]).stdout, /tool\s+echo\s+allowed/);
    assert.equal(run(['keys', 'revoke', id]).status, 0);
    const r = run(['policy', 'explain', '--key', id]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      `API key ${id} "old" is revoked: the gateway refuses every request with it, so it may use nothing.\n`,
    );
  });
});
