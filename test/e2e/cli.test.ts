/** The portcullis command as a user runs it (the built dist/, as npm start and npx run it). */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { connect } from '../helpers/client.js';
import { EVERYTHING, eventually, isAlive } from '../helpers/gateway.js';

const CLI = resolve('dist/cli/main.js');

function writeConfig(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pcl-cli-')), 'portcullis.yaml');
  writeFileSync(file, yaml);
  return file;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  });
}

describe('portcullis check-config', () => {
  it('accepts the demo config', () => {
    const r = run(['check-config', '--config', 'portcullis.yaml']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /portcullis\.yaml: ok — 1 upstream\(s\): everything/);
  });

  it('exits 2 with one line per problem, each naming the field and the fix', () => {
    const file = writeConfig(
      'listen: { prot: 1 }\nupstreams:\n  files: { args: [x] }\n  crm: { url: "http://crm.example.com/mcp", headers: { Authorization: "${env:CRM_TOKEN}" } }\n',
    );
    const r = run(['check-config', '--config', file]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.trim().split('\n'), [
      'config: upstreams.crm.headers.Authorization environment variable CRM_TOKEN is not set — export it before starting, or use ${file:PATH}',
    ]);
    const r2 = run(['check-config', '--config', file], { CRM_TOKEN: 'x-token' });
    assert.equal(r2.status, 2);
    const lines = r2.stderr.trim().split('\n');
    assert.ok(lines.includes('config: listen has an unknown setting "prot" — did you mean port?'), r2.stderr);
    assert.ok(
      lines.some((l) => l.startsWith('config: upstreams.files.command is missing — set command')),
      r2.stderr,
    );
    assert.ok(
      lines.some((l) => l.startsWith('config: upstreams.crm.url is plain http:// to crm.example.com')),
      r2.stderr,
    );
    assert.ok(
      lines.some((l) => l.startsWith('config: auth configures no authentication')),
      r2.stderr,
    );
    assert.ok(!r2.stderr.includes('x-token'), 'a secret value is never echoed back');
  });

  it('names a missing config file', () => {
    const r = run(['check-config', '--config', '/nonexistent/p.yaml']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /config: cannot read \/nonexistent\/p\.yaml \(ENOENT\) — create it/);
  });
});

describe('portcullis start', () => {
  it('serves the upstream, prints the URL and a client snippet, and stops cleanly on SIGTERM', async () => {
    const file = writeConfig(
      `listen: { port: 0 }\nauth: { none: true }\nupstreams:\n  everything: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }\n`,
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
      assert.ok(
        await eventually(() => /"url": "http:\/\/127\.0\.0\.1:\d+\/mcp"/.test(stderr), 10_000),
        stderr,
      );
      const url = /"url": "(http:\/\/127\.0\.0\.1:\d+\/mcp)"/.exec(stderr)?.[1] as string;
      assert.equal((await fetch(new URL('/healthz', url))).status, 200);
      const c = await connect(url);
      assert.deepEqual((await c.client.callTool({ name: 'echo', arguments: { message: 'cli' } })).content, [
        { type: 'text', text: 'Echo: cli' },
      ]);
      const started = stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string; pid?: number });
      assert.ok(started.some((e) => e.msg === 'portcullis started'));
      assert.ok(
        started.some((e) => e.msg.startsWith('authentication is OFF')),
        'the no-auth mode is announced',
      );
      const pid = started.find((e) => e.msg === 'upstream process started')?.pid as number;
      assert.ok(isAlive(pid));
      child.kill('SIGTERM');
      const code = await new Promise((r) => child.once('exit', r));
      assert.equal(code, 0);
      assert.ok(await eventually(() => !isAlive(pid)), 'the upstream child is stopped with the gateway');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('exits 1 with the fix when the port is taken', async () => {
    const first = writeConfig(
      `listen: { port: 0 }\nauth: { none: true }\nupstreams: { a: { command: node } }\n`,
    );
    const holder = spawn(process.execPath, [CLI, 'start', '--config', first], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let out = '';
    holder.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      assert.ok(await eventually(() => /127\.0\.0\.1:(\d+)\/mcp/.test(out), 10_000));
      const port = /127\.0\.0\.1:(\d+)\/mcp/.exec(out)?.[1];
      const second = writeConfig(
        `listen: { port: ${port} }\nauth: { none: true }\nupstreams: { a: { command: node } }\n`,
      );
      const r = run(['start', '--config', second]);
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `port ${port} on 127\\.0\\.0\\.1 is already in use — stop the other process or set listen\\.port`,
        ),
      );
    } finally {
      holder.kill('SIGTERM');
      await new Promise((r) => holder.once('exit', r));
    }
  });
});
