/** check-config and start on configs that parse but cannot work (issue 14 item 3), via the built CLI. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { EVERYTHING, eventually } from '../helpers/gateway.js';

const CLI = resolve('dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'pcl-checks-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function writeConfig(yaml: string): string {
  const file = join(dir, `portcullis-${++n}.yaml`);
  writeFileSync(file, `listen: { port: 0 }\nstore: { sqlite: ${join(dir, `p${n}.db`)} }\n${yaml}`);
  return file;
}

const run = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });

const everything = `everything: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }`;

describe('check-config beyond the schema', () => {
  it('notes the tools an aggregated endpoint exposes under a shortened name, and refuses two upstreams with one prefix', () => {
    const long = 'a-very-long-upstream-name-that-leaves-little-room';
    const file = writeConfig(
      `auth: { none: true }\nupstreams:\n  ${everything}\n  ${everything.replace('everything:', `${long}:`)}\n`,
    );
    const r = run(['check-config', '--config', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^note: /mcp exposes the tool ${long}\\.trigger-long-running-operation as ${long}__trig_[0-9a-f]{8} \\(too long\\)$`,
        'm',
      ),
    );
    assert.doesNotMatch(r.stderr, /note: \/mcp exposes the tool everything\./, 'everything__* fit');
    const same = writeConfig(
      `auth: { none: true }\nupstreams:\n  ${everything}\n  other: { command: node, prefix: everything }\n`,
    );
    const refused = run(['check-config', '--config', same]);
    assert.equal(refused.status, 2);
    assert.match(
      refused.stderr,
      /^config: upstreams\.other\.prefix is everything, the same as upstreams\.everything's — each upstream's tools need a prefix of their own on \/mcp$/m,
    );
  });

  it('refuses a stdio command that is not on the PATH the upstream is started with, naming the field and the fix', () => {
    const file = writeConfig(
      `auth: { none: true }\nupstreams:\n  files: { command: nodee, args: [server.js] }\n`,
    );
    const r = run(['check-config', '--config', file]);
    assert.equal(r.status, 2, r.stdout);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^config: upstreams\.files\.command: 'nodee' is not on PATH — the upstream is started with PATH=[^;]*\/usr\/bin[^;]*; install it there, write its absolute path, or set upstreams\.files\.env\.PATH$/m,
    );
  });

  it('refuses a command path that is not an executable file', () => {
    const file = writeConfig(
      `auth: { none: true }\nupstreams:\n  files: { command: ./bin/missing-server }\n`,
    );
    const r = run(['check-config', '--config', file]);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /^config: upstreams\.files\.command: '\.\/bin\/missing-server' is not an executable file — fix the path/m,
    );
  });

  it('warns of a rule requiring a scope no role, user, key or default scope can hold, and still says ok', () => {
    const yaml = (extra: string) =>
      `auth: { apiKeys: {}${extra} }\nupstreams:\n  ${everything}\npolicy:\n  rules:\n    - { tools: ["everything.echo"], require: [billing:approve] }\n`;
    const warned = run(['check-config', '--config', writeConfig(yaml(''))]);
    assert.equal(warned.status, 0, warned.stderr);
    assert.match(
      warned.stderr,
      /^warning: config: policy\.rules\[0\] requires billing:approve, which no role, user, default scope or API key holds yet$/m,
    );
    assert.match(warned.stdout, /ok — 1 upstream\(s\): everything \(1 warning\(s\) above\)/);
    const held = run(['check-config', '--config', writeConfig(yaml(', defaultScopes: ["billing:*"]'))]);
    assert.equal(held.status, 0, held.stderr);
    assert.equal(held.stderr, '');
  });

  it('counts the scopes of stored API keys', () => {
    const file = writeConfig(
      `auth: { apiKeys: {} }\nupstreams:\n  ${everything}\npolicy:\n  rules:\n    - { tools: ["everything.echo"], require: [reports:export] }\n`,
    );
    assert.match(run(['check-config', '--config', file]).stderr, /requires reports:export/);
    assert.equal(
      run(['keys', 'create', '--name', 'r', '--scopes', 'reports:export', '--config', file]).status,
      0,
    );
    assert.equal(run(['check-config', '--config', file]).stderr, '');
  });
});

describe('start with an upstream that cannot start', () => {
  it('serves, but says which upstream is broken instead of a plain "listening"', async () => {
    const file = writeConfig(
      `auth: { none: true }\nupstreams:\n  ${everything}\n  files: { command: nodee }\n`,
    );
    const child = spawn(process.execPath, [CLI, 'start', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    try {
      assert.ok(await eventually(() => /MCP endpoints/.test(stderr), 10_000), stderr);
      assert.doesNotMatch(stderr, /Portcullis is listening\.\n/);
      assert.match(
        stderr,
        /Portcullis is listening, but 1 upstream\(s\) cannot start — fix the config and restart:\n {2}config: upstreams\.files\.command: 'nodee' is not on PATH/,
      );
      assert.match(
        stderr,
        /MCP endpoints:\n {2}http:\/\/127\.0\.0\.1:\d+\/mcp\n {2}http:\/\/127\.0\.0\.1:\d+\/servers\/everything\/mcp\n {2}http:\/\/127\.0\.0\.1:\d+\/servers\/files\/mcp\n/,
        'the aggregated /mcp is listed first',
      );
      // Log lines reach stdout in batches (src/log/stdout-destination.ts): soon, not at once.
      assert.ok(
        await eventually(() =>
          stdout
            .split('\n')
            .some((l) => l.includes('"level":50') && l.includes("upstreams.files.command: 'nodee'")),
        ),
        stdout,
      );
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
