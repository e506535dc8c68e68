/** `portcullis wrap`: one server behind the gateway with safe defaults and no YAML (issue 14 item 6). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { echoWith } from '../helpers/auth.js';
import { serveCli } from '../helpers/cli.js';
import { INITIALIZE, post } from '../helpers/client.js';
import { EVERYTHING, eventually } from '../helpers/gateway.js';

const CLI = resolve('dist/cli/main.js');
const home = mkdtempSync(join(tmpdir(), 'pcl-wrap-'));
after(() => rmSync(home, { recursive: true, force: true }));
// The per-user data directory, never the real one.
const env = { XDG_DATA_HOME: join(home, 'xdg'), HOME: home };
const dataDir = join(home, 'xdg', 'portcullis');
const run = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
const KEY = /^ {2}(pcl_[A-Za-z0-9_-]{43})$/m;

describe('portcullis wrap', () => {
  it('serves the server on loopback behind a key printed once, with the store and audit trail in the data directory', async () => {
    const first = await serveCli(
      [process.execPath, CLI, 'wrap', '--port', '0', '--', 'node', EVERYTHING, 'stdio'],
      {
        env,
      },
    );
    let key: string;
    try {
      assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      key = KEY.exec(first.stderr())?.[1] as string;
      assert.ok(key, first.stderr());
      await echoWith(first.url, { Authorization: `Bearer ${key}` });
      assert.equal((await post(first.url, INITIALIZE)).status, 401);
      // Log lines reach stdout in batches (src/log/stdout-destination.ts): soon, not at once.
      assert.ok(
        await eventually(() => /"type":"policy\.decision"/.test(first.stdout())),
        'audit events go to stdout',
      );
      assert.match(first.stdout(), /"type":"gateway\.start"/);
    } finally {
      assert.equal(await first.stop(), 0);
    }
    assert.ok(existsSync(join(dataDir, 'portcullis.db')));
    assert.equal(statSync(join(dataDir, 'secret.key')).mode & 0o077, 0);

    const second = await serveCli(
      [process.execPath, CLI, 'wrap', '--port', '0', '--stdio', `node ${EVERYTHING} stdio`],
      {
        env,
      },
    );
    try {
      assert.doesNotMatch(second.stderr(), KEY, 'the key is printed only on the first run');
      assert.match(second.stderr(), /Create an API key with: portcullis wrap --print-config/);
      await echoWith(second.url, { Authorization: `Bearer ${key}` });
    } finally {
      await second.stop();
    }
    const printed = run(['wrap', '--print-config', '--', 'node', EVERYTHING, 'stdio']);
    const file = join(home, 'portcullis.yaml');
    writeFileSync(file, printed.stdout);
    const audit = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--config', file], {
      encoding: 'utf8',
    });
    assert.equal(audit.status, 0, audit.stderr);
  });

  it('--print-config writes the YAML it serves: loopback, a bootstrap key, the data-directory store, audit on', () => {
    const r = run(['wrap', '--print-config', '--name', 'files', '--', 'node', 'server.js', '--root', 'a b']);
    assert.equal(r.status, 0, r.stderr);
    const tree = parse(r.stdout);
    assert.deepEqual(tree, {
      listen: { host: '127.0.0.1', port: 8787 },
      upstreams: {
        files: { command: process.execPath, args: ['server.js', '--root', 'a b'], cwd: process.cwd() },
      },
      store: { sqlite: join(dataDir, 'portcullis.db') },
      auth: { apiKeys: { bootstrapAdmin: true } },
      audit: { stdout: true, store: true },
    });
    assert.equal(parseConfig(r.stdout, home).config.upstreams.files?.command, process.execPath);
    const url = run(['wrap', '--print-config', '--url', 'https://mcp.example.com/mcp']);
    assert.deepEqual(parse(url.stdout).upstreams, { server: { url: 'https://mcp.example.com/mcp' } });
  });

  it('refuses what cannot work, naming the fix', () => {
    const none = run(['wrap']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /name one server: portcullis wrap -- node server\.js/);
    const missing = run(['wrap', '--port', '0', '--', 'nodee', 'server.js']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^config: upstreams\.server\.command: 'nodee' is not on PATH/m);
    const plain = run(['wrap', '--port', '0', '--url', 'http://mcp.example.com/mcp']);
    assert.equal(plain.status, 2);
    assert.match(plain.stderr, /^config: upstreams\.server\.url is plain http:\/\//m);
    const quote = run(['wrap', '--stdio', 'node "server.js']);
    assert.equal(quote.status, 1);
    assert.match(quote.stderr, /--stdio: a quote is not closed/);
  });
});
