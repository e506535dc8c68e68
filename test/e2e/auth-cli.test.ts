/**
 * The authentication side of the portcullis command (the built dist/): `start` with a bootstrap admin key,
 * `keys` against a configured secret, the CLI's refusals, and the config errors for the auth section.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import {
  assertAuthenticated,
  assertRefusal,
  basic,
  CLI,
  cli,
  initialize,
  LeakWatch,
  startAuthGateway,
  tempDir,
} from '../helpers/auth.js';
import { EVERYTHING, eventually, stdioUpstream } from '../helpers/gateway.js';

const watch = new LeakWatch();
const UPSTREAM = stdioUpstream('everything', EVERYTHING, ['stdio']);
const SECRET = 'a-configured-server-secret-of-48-characters-xyz0';
const OTHER_SECRET = 'another-server-secret-that-is-long-enough-123456';

interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  stdout(): string;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** `portcullis start --config file`, resolved once the banner names the endpoint. */
async function start(configFile: string): Promise<Started> {
  const child = spawn(process.execPath, [CLI, 'start', '--config', configFile], {
    env: { PATH: process.env.PATH },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const ready = await eventually(() => /"url": "http:\/\/127\.0\.0\.1:\d+\/mcp"/.test(err), 10_000);
  if (!ready) {
    child.kill('SIGKILL');
    assert.fail(`the gateway did not start:\n${err}`);
  }
  const url = /"url": "(http:\/\/127\.0\.0\.1:\d+\/mcp)"/.exec(err)?.[1] as string;
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

describe('portcullis start with apiKeys.bootstrapAdmin', () => {
  const tmp = tempDir('pcl-cli-boot-');
  const configFile = join(tmp.dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: { host: 127.0.0.1, port: 0 }\nstore: { sqlite: ./state/p.db }\nauth: { apiKeys: { bootstrapAdmin: true } }\nupstreams:\n${UPSTREAM}`,
  );
  after(() => tmp.cleanup());

  it('prints the admin key once on stderr, which works; a restart prints none and the key still works', async () => {
    const first = await start(configFile);
    watch.watch('first start', () => first.stdout().split('\n').filter(Boolean));
    let key: string;
    try {
      assert.match(
        first.stderr(),
        /An admin API key was created \(it is shown only this once; only its hash is stored\):/,
      );
      key = /^ {2}(pcl_[A-Za-z0-9_-]{43})$/m.exec(first.stderr())?.[1] as string;
      assert.ok(key, first.stderr());
      watch.secret(key);
      assert.ok(
        first.stderr().includes(`"Authorization": "Bearer ${key}"`),
        'the client snippet carries the key',
      );
      assert.ok(
        existsSync(join(tmp.dir, 'state', 'secret.key')),
        'the store lives relative to the config file',
      );
      await assertAuthenticated(first.url, { authorization: `Bearer ${key}` });
      // Log lines reach stdout in batches (src/log/stdout-destination.ts): soon, not at once.
      assert.ok(await eventually(() => first.stdout().includes('created the first admin API key')));
    } finally {
      assert.equal(await first.stop(), 0);
    }

    const second = await start(configFile);
    watch.watch('second start', () => second.stdout().split('\n').filter(Boolean));
    try {
      assert.ok(!/pcl_[A-Za-z0-9_-]{43}/.test(second.stderr()), 'no second key is printed');
      assert.match(
        second.stderr(),
        /Create an API key with: npx portcullis keys create --name my-laptop --scopes "\*"/,
      );
      assert.ok(second.stderr().includes('"Authorization": "Bearer <your API key>"'));
      assertRefusal(await initialize(second.url), 401, 'unauthorized', 'authentication is required');
      await assertAuthenticated(second.url, { 'x-api-key': key });
    } finally {
      assert.equal(await second.stop(), 0);
    }
    const pids = second
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; pid?: number });
    assert.equal(
      pids.filter((e) => e.msg === 'upstream process started').length,
      0,
      'no upstream was started',
    );

    // The key's last use was written when the gateway stopped.
    const list = cli(['keys', 'list', '--config', configFile]);
    assert.equal(list.status, 0, list.stderr);
    const row = list.stdout.split('\n').find((l) => /\sadmin\s/.test(l)) ?? '';
    assert.match(row, /^key_[0-9a-f]{12}\s+admin\s+\*\s+-\s+\S+Z\s+-\s+\d{4}-\d\d-\d\dT\S+Z\s+active$/);
    assert.ok(!list.stdout.includes(key.slice(4, 16)));
  });
});

describe("portcullis start with basic.bootstrapAdmin (the demo's OAuth sign-in user)", () => {
  const tmp = tempDir('pcl-cli-boot-user-');
  const configFile = join(tmp.dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: { host: 127.0.0.1, port: 0 }\nstore: { sqlite: ./state/p.db }\nauth: { basic: { bootstrapAdmin: true }, oauth: { registration: open } }\nupstreams:\n${UPSTREAM}`,
  );
  after(() => tmp.cleanup());

  it('prints the admin password once, keeps only its hash (0600), and the password signs in after a restart', async () => {
    const first = await start(configFile);
    watch.watch('first start (admin user)', () => first.stdout().split('\n').filter(Boolean));
    let password: string;
    try {
      assert.match(first.stderr(), /OAuth sign-in is on/);
      password = /user: admin {4}password: ([A-Za-z0-9_-]{24})$/m.exec(first.stderr())?.[1] as string;
      assert.ok(password, first.stderr());
      watch.secret(password);
      const file = join(tmp.dir, 'state', 'admin.password.hash');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const hash = readFileSync(file, 'utf8');
      assert.match(hash, /^\$scrypt\$/);
      assert.ok(!hash.includes(password));
      await assertAuthenticated(first.url, { authorization: basic('admin', password) });
    } finally {
      assert.equal(await first.stop(), 0);
    }
    const second = await start(configFile);
    watch.watch('second start (admin user)', () => second.stdout().split('\n').filter(Boolean));
    try {
      assert.ok(!second.stderr().includes('password:'), 'no password is printed again');
      await assertAuthenticated(second.url, { authorization: basic('admin', password) });
      assertRefusal(
        await initialize(second.url, { authorization: basic('admin', 'not-the-password') }),
        401,
        'invalid_token',
        'wrong user name or password',
      );
    } finally {
      assert.equal(await second.stop(), 0);
    }
  });
});

describe('portcullis keys with a configured auth.secret', () => {
  const tmp = tempDir('pcl-cli-secret-');
  const configFile = join(tmp.dir, 'portcullis.yaml');
  const yaml = (secretVar: string) =>
    `listen: { host: 127.0.0.1, port: 0 }\nstore: { sqlite: ${JSON.stringify(join(tmp.dir, 'p.db'))} }\nauth:\n  secret: \${env:${secretVar}}\n  apiKeys: {}\nupstreams:\n${UPSTREAM}`;
  writeFileSync(configFile, yaml('PCL_SECRET'));
  after(() => tmp.cleanup());

  it('keys the hashes with the configured secret: no secret.key, and another secret knows no key', async () => {
    const r = cli(['keys', 'create', '--name', 'svc', '--config', configFile], undefined, {
      PCL_SECRET: SECRET,
    });
    assert.equal(r.status, 0, r.stderr);
    const key = r.stdout.trim();
    watch.secret(key, SECRET, OTHER_SECRET);
    assert.match(r.stderr, /with scopes \[\], expires -\./);
    assert.ok(!existsSync(join(tmp.dir, 'secret.key')), 'a configured secret needs no secret.key');

    const same = await startAuthGateway(yaml('PCL_SECRET'), { PCL_SECRET: SECRET });
    watch.watch('same-secret gateway', same.logs);
    try {
      await assertAuthenticated(`${same.url}/mcp`, { authorization: `Bearer ${key}` });
    } finally {
      await same.close();
    }
    const rotated = await startAuthGateway(yaml('PCL_SECRET'), { PCL_SECRET: OTHER_SECRET });
    watch.watch('rotated-secret gateway', rotated.logs);
    try {
      const refused = await initialize(`${rotated.url}/mcp`, { authorization: `Bearer ${key}` });
      assertRefusal(refused, 401, 'invalid_token', 'the API key is not known');
    } finally {
      await rotated.close();
    }
  });

  it('refuses a bad --expires, and a config without apiKeys', () => {
    const env = { PCL_SECRET: SECRET };
    const bad = cli(
      ['keys', 'create', '--name', 'x', '--expires', 'soon', '--config', configFile],
      undefined,
      env,
    );
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, '');
    assert.equal(
      bad.stderr,
      'portcullis: --expires "soon" is not a positive duration — write it like 30d or 12h\n',
    );

    const noKeys = join(tmp.dir, 'none.yaml');
    writeFileSync(
      noKeys,
      `listen: { host: 127.0.0.1, port: 0 }\nauth: { none: true }\nupstreams:\n${UPSTREAM}`,
    );
    const disabled = cli(['keys', 'list', '--config', noKeys]);
    assert.equal(disabled.status, 1);
    assert.equal(
      disabled.stderr,
      'portcullis: API keys are not enabled in this config — add auth: { apiKeys: {} }\n',
    );
  });
});

describe('auth config errors', () => {
  const base = `listen: { host: 127.0.0.1, port: 0 }\nupstreams: { everything: { command: node } }\n`;

  function problems(auth: string, env: NodeJS.ProcessEnv = {}): string[] {
    try {
      parseConfig(`${base}auth:\n${auth}`, process.cwd(), env);
    } catch (err) {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
      return err.message.split('\n');
    }
    assert.fail('the config was accepted');
  }

  it('refuses auth.none together with a credential method', () => {
    assert.deepEqual(problems('  none: true\n  apiKeys: {}\n'), [
      'config: auth.none cannot be combined with apiKeys — remove none to require those credentials',
    ]);
    assert.deepEqual(
      problems('  none: true\n  apiKeys: {}\n  jwt: { issuer: "https://idp.example.com" }\n'),
      ['config: auth.none cannot be combined with apiKeys, jwt — remove none to require those credentials'],
    );
  });

  it('refuses a passwordHash that is not one, naming `users hash-password`, without echoing it', () => {
    const plain = 'my-plain-text-password';
    const lines = problems(`  basic: { users: { alice: { passwordHash: "${plain}" } } }\n`);
    assert.deepEqual(lines, [
      'config: auth.basic.users.alice.passwordHash is not a usable password hash (malformed, short digest or salt, or scrypt cost out of bounds) — generate one with: npx portcullis users hash-password',
    ]);
    const tmp = tempDir('pcl-cli-hash-');
    try {
      const file = join(tmp.dir, 'portcullis.yaml');
      writeFileSync(file, `${base}auth:\n  basic: { users: { alice: { passwordHash: "${plain}" } } }\n`);
      const r = cli(['check-config', '--config', file]);
      assert.equal(r.status, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `${lines[0]}\n`);
      assert.ok(!r.stderr.includes(plain));
    } finally {
      tmp.cleanup();
    }
  });

  it('refuses a scrypt hash whose parameters no login could ever pass', () => {
    // Well-formed but outside the bounds verifyPassword enforces: every login would fail with
    // "wrong user name or password" and nothing would say why.
    const salt = Buffer.alloc(16, 1).toString('base64');
    const digest = Buffer.alloc(32, 2).toString('base64');
    for (const params of ['ln=99,r=8,p=1', 'ln=15,r=0,p=1', 'ln=15,r=8,p=99']) {
      const lines = problems(
        `  basic: { users: { alice: { passwordHash: "$scrypt$${params}$${salt}$${digest}" } } }\n`,
      );
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0] ?? '', /^config: auth\.basic\.users\.alice\.passwordHash .*users hash-password/);
    }
  });

  it('refuses symmetric and none JWT algorithms', () => {
    for (const alg of ['HS256', 'none']) {
      assert.deepEqual(problems(`  jwt: { issuer: "https://idp.example.com", algorithms: [${alg}] }\n`), [
        'config: auth.jwt.algorithms[0] must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (symmetric HS* and none are refused)',
      ]);
    }
  });

  it('refuses plain-http identity-provider URLs to a non-loopback host', () => {
    assert.deepEqual(problems('  jwt: { issuer: "http://idp.example.com" }\n'), [
      'config: auth.jwt.issuer is plain http:// to idp.example.com — use https:// (plain http:// is accepted only for loopback)',
    ]);
    assert.deepEqual(
      problems('  jwt: { issuer: "https://idp.example.com", jwksUrl: "http://idp.example.com/jwks" }\n'),
      [
        'config: auth.jwt.jwksUrl is plain http:// to idp.example.com — use https:// (plain http:// is accepted only for loopback)',
      ],
    );
    assert.deepEqual(
      problems(
        '  introspection: { url: "http://10.0.0.5/introspect", clientId: gw, clientSecret: s3cret-value }\n',
      ),
      [
        'config: auth.introspection.url is plain http:// to 10.0.0.5 — use https:// (plain http:// is accepted only for loopback)',
      ],
    );
    // Loopback is fine (the test identity provider runs there).
    parseConfig(`${base}auth:\n  jwt: { issuer: "http://127.0.0.1:4444" }\n`, process.cwd(), {});
  });

  it('refuses a secret shorter than 32 characters, without echoing it', () => {
    const short = 'only-31-characters-long-secret!';
    assert.equal(short.length, 31);
    const lines = problems('  secret: ${env:PCL_SHORT_SECRET}\n  apiKeys: {}\n', { PCL_SHORT_SECRET: short });
    assert.deepEqual(lines, [
      'config: auth.secret must be at least 32 characters — generate one with: openssl rand -base64 48',
    ]);
    parseConfig(`${base}auth:\n  secret: "${short}x"\n  apiKeys: {}\n`, process.cwd(), {});
  });
});

describe('CLI: logs', () => {
  it('no gateway log line holds a key or the server secret', () => {
    watch.assertClean();
  });
});
