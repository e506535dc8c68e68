/**
 * The package works outside the clone (issue 14 item 7): `npm pack` makes the tarball, which is
 * unpacked into an empty folder as npm installs it, with the package's declared dependencies — and
 * only those — linked from this clone's node_modules (so the test sends nothing to a registry; each
 * dependency's own dependencies resolve from its real location). From there, through the `bin`
 * the package declares: `portcullis --version`, `portcullis wrap …` and `portcullis start --config …`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { echoWith } from '../helpers/auth.js';
import { serveCli } from '../helpers/cli.js';

const repo = process.cwd();
const home = mkdtempSync(join(tmpdir(), 'pcl-pack-'));
const app = join(home, 'app');
const bin = join(app, 'node_modules', '.bin', 'portcullis');
after(() => rmSync(home, { recursive: true, force: true }));

interface Manifest {
  version: string;
  bin: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

before(() => {
  // --ignore-scripts: dist/ is built before the tests run; a rebuild here would rewrite it under them.
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', home], {
      encoding: 'utf8',
    }),
  ) as { filename: string }[];
  const tarball = join(home, packed[0]?.filename as string);
  const installed = join(app, 'node_modules', 'portcullis');
  mkdirSync(installed, { recursive: true });
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest;
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
    const source = join(repo, 'node_modules', name);
    if (!existsSync(source)) continue; // an optional dependency this machine did not install
    mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true });
    symlinkSync(source, join(app, 'node_modules', name));
  }
  const target = join(installed, manifest.bin.portcullis as string);
  mkdirSync(dirname(bin), { recursive: true });
  symlinkSync(target, bin);
  // npm makes the bin executable; the file itself must start with the node shebang to run.
  chmodSync(target, 0o755);
  assert.match(readFileSync(target, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

const everything = () =>
  join(app, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
const env = { XDG_DATA_HOME: join(home, 'xdg'), HOME: home };

describe('the packed package, installed in an empty folder', () => {
  it('portcullis --version prints the version of package.json', () => {
    const r = spawnSync(bin, ['--version'], { cwd: app, encoding: 'utf8', env: { PATH: process.env.PATH } });
    assert.equal(r.status, 0, r.stderr);
    const { version } = JSON.parse(readFileSync(resolve(repo, 'package.json'), 'utf8')) as Manifest;
    assert.equal(r.stdout, `${version}\n`);
  });

  it('portcullis wrap serves a server', async () => {
    const served = await serveCli([bin, 'wrap', '--port', '0', '--', 'node', everything(), 'stdio'], {
      cwd: app,
      env,
    });
    try {
      const key = /^ {2}(pcl_\S+)$/m.exec(served.stderr())?.[1] as string;
      await echoWith(served.url, { Authorization: `Bearer ${key}` });
    } finally {
      assert.equal(await served.stop(), 0);
    }
  });

  it('portcullis start --config serves the config', async () => {
    const file = join(app, 'portcullis.yaml');
    writeFileSync(
      file,
      `listen: { port: 0 }\nauth: { apiKeys: { bootstrapAdmin: true } }\nupstreams:\n  everything: { command: node, args: [${JSON.stringify(everything())}, stdio] }\n`,
    );
    const served = await serveCli([bin, 'start', '--config', file], { cwd: app });
    try {
      const key = /^ {2}(pcl_\S+)$/m.exec(served.stderr())?.[1] as string;
      await echoWith(served.url, { Authorization: `Bearer ${key}` });
      assert.ok(
        existsSync(join(app, 'data', 'portcullis.db')),
        'the store is beside the config, not in the clone',
      );
    } finally {
      assert.equal(await served.stop(), 0);
    }
  });
});
