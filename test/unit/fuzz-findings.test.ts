/**
 * Crashes the fuzz targets (test/fuzz/targets.ts) found, each kept as a regression test: the input
 * that crashed, and the clear refusal it gets now.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuthError } from '../../src/auth/auth-error.js';
import { BasicUsers } from '../../src/auth/basic.js';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.js';
import { authSchema } from '../../src/config/auth-schema.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { policySchema } from '../../src/config/policy-schema.js';
import { GatewayError } from '../../src/core/errors.js';
import { ArgumentGuards } from '../../src/policy/guards.js';

const root = mkdtempSync(join(tmpdir(), 'pcl-findings-'));
after(() => rmSync(root, { recursive: true, force: true }));

const pathGuard = () => {
  const config = policySchema.parse({
    tools: { 'files.write_file': { guards: { schema: false, paths: { args: ['path'], roots: [root] } } } },
  });
  const policy = config.tools['files.write_file'];
  assert.ok(policy);
  return new ArgumentGuards('write_file', policy);
};

/** Asserts the call is refused as invalid arguments with this message, not thrown as anything else. */
async function refused(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.code, 'invalid_arguments');
    assert.match(err.message, message);
    return true;
  });
}

describe('path guard: file:// URLs', () => {
  it('refuses a lone % (decodeURIComponent threw a URIError instead of a refusal)', async () => {
    await refused(
      pathGuard().check({ path: `file://${root}/%` }, undefined),
      /argument path is not a well-formed file:\/\/ URL/,
    );
  });

  it('refuses a file:// URL that does not parse at all', async () => {
    await refused(
      pathGuard().check({ path: 'file://[' }, undefined),
      /argument path is not a well-formed file:\/\/ URL/,
    );
  });

  it('still accepts a well-formed file:// URL inside the root', async () => {
    await pathGuard().check({ path: `file://${root}/a%20b.txt` }, undefined);
  });
});

describe('config loader', () => {
  const refusedConfig = (yaml: string) => {
    try {
      parseConfig(yaml, root, {});
    } catch (err) {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      return err.message;
    }
    assert.fail('the config was accepted');
  };

  it('refuses an alias inside its own anchor (it overflowed the stack)', () => {
    assert.equal(
      refusedConfig('&a [*a]'),
      'config: [0] is a YAML alias inside the value it names (*name within &name) — write the value out',
    );
    assert.match(
      refusedConfig('upstreams: &u { everything: { command: node, args: *u } }\nauth: { none: true }'),
      /^config: upstreams\.everything\.args is a YAML alias inside the value it names/,
    );
  });

  it('keeps each problem on one line when the value it quotes holds a newline', () => {
    assert.equal(
      refusedConfig(
        'upstreams: { e: { command: node } }\nauth: { none: true }\nlimits: { perIp: "5/min\\nx" }\n',
      ),
      'config: limits.perIp "5/min\\nx" is not a rate — write it like 300/min, 10/s or 1000/hour',
    );
  });

  it('still accepts an alias that repeats a value defined elsewhere', () => {
    const { config } = parseConfig(
      'upstreams:\n  a: &up { command: node }\n  b: *up\nauth: { none: true }\n',
      root,
      {},
    );
    assert.equal(config.upstreams.b?.command, 'node');
  });
});

describe('url guard: IPv4-compatible IPv6 addresses', () => {
  const urlGuard = () => {
    const policy = policySchema.parse({
      tools: { 'web.fetch': { guards: { schema: false, urls: { args: ['url'] } } } },
    }).tools['web.fetch'];
    assert.ok(policy);
    return new ArgumentGuards('fetch', policy);
  };

  it('refuses ::a.b.c.d, which ipaddr.js calls unicast but a tunnel delivers to a.b.c.d', async () => {
    // The URL parser writes [::127.0.0.1] as [::7f00:1], the form that was let through.
    await refused(
      urlGuard().check({ url: 'http://[::127.0.0.1]/' }, undefined),
      /a reserved address \(::7f00:1\)/,
    );
    await refused(urlGuard().check({ url: 'http://[::a9fe:a9fe]/latest' }, undefined), /a reserved address/);
  });

  it('still allows a public IPv6 address', async () => {
    await urlGuard().check({ url: 'http://[2606:4700::1111]/' }, undefined);
  });
});

describe('basic users: the remembered-pair cache', () => {
  it('does not let a name and password cut at another point pass for a remembered pair', async () => {
    const config = authSchema.parse({
      basic: { users: { 'a\0b': { passwordHash: await hashPassword('c') } } },
    }).basic;
    assert.ok(config);
    const users = new BasicUsers(config, []);
    const from = { clientIp: '127.0.0.1', secure: true };
    assert.equal((await users.verify({ username: 'a\0b', password: 'c', ...from })).name, 'a\0b');
    // "a" + "b\0c" hashed the same as "a\0b" + "c" and signed in from the cache.
    await assert.rejects(users.verify({ username: 'a', password: 'b\0c', ...from }), (err: unknown) => {
      assert.ok(err instanceof AuthError);
      assert.equal(err.message, 'wrong user name or password');
      return true;
    });
  });
});

describe('passwords: trailing NUL bytes', () => {
  it('refuses a password with NUL bytes added (scrypt hashed "pw" and "pw\\0" alike)', async () => {
    const hash = await hashPassword('b');
    assert.equal(await verifyPassword('b', hash), true);
    assert.equal(await verifyPassword('b\0', hash), false);
    assert.equal(await verifyPassword('b\0\0\0', hash), false);
  });

  it('will not hash a password with a NUL byte ("b\\0" would hash like "b")', async () => {
    await assert.rejects(hashPassword('b\0'), /may not contain a NUL byte/);
  });
});
