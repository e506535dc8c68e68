/** `portcullis policy explain` against a real upstream, and read-only mode shown at start and in /readyz. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { EVERYTHING, eventually, gatewayYaml, startTestGateway, stdioUpstream } from '../helpers/gateway.js';

const CLI = resolve('dist/cli/main.js');

describe('policy explain', () => {
  it('prints every tool, resource and prompt with the decision and the rule, and warns of a rule that matches nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcl-explain-'));
    try {
      const file = join(dir, 'portcullis.yaml');
      writeFileSync(
        file,
        `listen: { port: 0 }\nauth: { none: true }\nupstreams:\n  everything: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }\npolicy:\n  rules:\n    - { resources: ["demo://resource/static/*"], require: [docs:read] }\n    - { tools: ["nothing.*"], require: [x:y] }\n`,
      );
      const r = spawnSync(
        process.execPath,
        [CLI, 'policy', 'explain', '--config', file, '--scopes', 'tools:read,resources:read'],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split('\n');
      assert.ok(lines.includes('Caller: scopes [tools:read, resources:read]'));
      const line = (kind: string, name: string) =>
        lines.find((l) => l.trim().startsWith(kind) && l.includes(` ${name} `)) ?? '';
      assert.match(line('tool', 'echo'), /allowed\s+class read$/);
      assert.match(
        line('tool', 'trigger-sampling-request'),
        /denied\s+class write: needs tools:write or everything:write$/,
      );
      assert.match(
        line('resource', 'demo://resource/static/document/features.md'),
        /denied\s+resources \+ rule 1: needs docs:read$/,
      );
      assert.match(line('template', 'demo://resource/dynamic/text/{resourceId}'), /allowed\s+resources$/);
      assert.match(
        line('prompt', 'simple-prompt'),
        /denied\s+prompts: needs prompts:read or everything:read$/,
      );
      assert.ok(lines.includes('warning: policy.rules[1] matches nothing any upstream offers'), r.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('read-only mode', () => {
  it('is announced at start and shown in /readyz', async () => {
    const gw = await startTestGateway(
      gatewayYaml(stdioUpstream('everything', EVERYTHING, ['stdio']), 'policy: { readOnly: true }\n'),
    );
    try {
      const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { readOnly: boolean };
      assert.equal(ready.readOnly, true);
      assert.ok(gw.logs.some((l) => l.includes('read-only mode: tools that are not read-only are removed')));
    } finally {
      await gw.close();
    }
  });
});

describe('the policy check at start', () => {
  it('warns of a rule requiring a scope nobody holds and of a rule that matches nothing', async () => {
    const policy =
      'policy:\n  rules:\n    - { tools: ["everything.echo"], require: [unheld:scope] }\n    - { prompts: ["ghost.*"], require: [prompts:read] }\n';
    const gw = await startTestGateway(
      gatewayYaml(stdioUpstream('everything', EVERYTHING, ['stdio']), policy),
    );
    try {
      assert.ok(
        gw.logs.some((l) =>
          l.includes(
            'policy.rules[0] requires unheld:scope, which no role, user, default scope or API key holds yet',
          ),
        ),
      );
      assert.ok(
        !gw.logs.some((l) => l.includes('policy.rules[1] requires')),
        'prompts:read is held by the viewer role',
      );
      assert.ok(
        await eventually(
          () => gw.logs.some((l) => l.includes('policy.rules[1] matches nothing any upstream offers')),
          10_000,
        ),
      );
      assert.ok(!gw.logs.some((l) => l.includes('policy.rules[0] matches nothing')), 'rule 0 matches echo');
    } finally {
      await gw.close();
    }
  });
});

describe('roles on API keys', () => {
  it('keys create --roles stores the role, explain --key expands it, and an unknown role is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcl-roles-'));
    try {
      const file = join(dir, 'portcullis.yaml');
      writeFileSync(
        file,
        `listen: { port: 0 }\nauth: { apiKeys: {} }\nstore: { sqlite: ${join(dir, 'p.db')} }\nupstreams:\n  everything: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }\n`,
      );
      const run = (args: string[]) =>
        spawnSync(process.execPath, [CLI, ...args, '--config', file], { encoding: 'utf8' });
      const bad = run(['keys', 'create', '--name', 'x', '--roles', 'superuser']);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /--roles: "superuser" is not a role — known roles: viewer, editor, admin/);
      const made = run(['keys', 'create', '--name', 'reader', '--roles', 'viewer']);
      assert.equal(made.status, 0, made.stderr);
      const id = /Created (key_[0-9a-f]+)/.exec(made.stderr)?.[1] as string;
      assert.match(run(['keys', 'list']).stdout, new RegExp(`${id}\\s+reader\\s+-\\s+viewer\\s`));
      const explained = run(['policy', 'explain', '--key', id]);
      assert.equal(explained.status, 0, explained.stderr);
      assert.match(explained.stdout, new RegExp(`Caller: API key ${id} "reader" \\[role viewer\\]`));
      assert.match(explained.stdout, /tool\s+echo\s+allowed/);
      assert.match(explained.stdout, /tool\s+gzip-file-as-resource\s+denied/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
