/** `portcullis policy explain` against a real upstream, and read-only mode shown at start and in /readyz. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { EVERYTHING, gatewayYaml, startTestGateway, stdioUpstream } from '../helpers/gateway.js';

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
