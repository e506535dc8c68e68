import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { parsePasswordHash } from '../../src/auth/password-hash.js';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.js';

const SALT = Buffer.alloc(16, 7);

/** A hash in the `users hash-password` encoding, with chosen (cheap) parameters and digest length. */
function encode(password: string, ln: number, r: number, p: number, keylen = 32): string {
  const digest = scryptSync(password, SALT, keylen, { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r });
  return `$scrypt$ln=${ln},r=${r},p=${p}$${SALT.toString('base64')}$${digest.toString('base64')}`;
}

describe('hashPassword / verifyPassword', () => {
  it('writes $scrypt$ln=15,r=8,p=1 with a 16-byte salt and a 32-byte digest, which the config accepts', async () => {
    const hash = await hashPassword('correct horse battery staple');
    assert.match(hash, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    assert.ok(parsePasswordHash(hash), 'the hash parses within the accepted bounds');
    assert.ok(!hash.includes('correct horse'));
  });

  it('round-trips, and refuses a wrong password, a different case and an extra character', async () => {
    const hash = await hashPassword('correct horse battery staple');
    const candidates = [
      'correct horse battery staple',
      'Correct horse battery staple',
      'correct horse battery staple ',
      '',
    ];
    const results = await Promise.all(candidates.map((c) => verifyPassword(c, hash)));
    assert.deepEqual(results, [true, false, false, false]);
  });

  it('salts every hash: the same password never hashes the same twice', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    assert.notEqual(a, b);
    assert.notEqual(a.split('$')[3], b.split('$')[3]);
  });

  it('round-trips unicode and colons', async () => {
    const password = 'pä:ss—wörd 🔐 with: colons';
    const hash = await hashPassword(password);
    const results = await Promise.all([
      verifyPassword(password, hash),
      verifyPassword(password.normalize('NFD'), hash),
    ]);
    assert.deepEqual(results, [true, false]);
  });

  it('verifies hashes written with other accepted parameters (they can be raised later)', async () => {
    assert.equal(await verifyPassword('pw', encode('pw', 10, 8, 1)), true);
    assert.equal(await verifyPassword('pw', encode('pw', 11, 4, 2)), true);
    assert.equal(await verifyPassword('pw2', encode('pw', 10, 8, 1)), false);
  });

  it('answers false, never throws, for a malformed hash', async () => {
    const good = encode('pw', 10, 8, 1);
    const [, , params, salt, digest] = good.split('$');
    const flipped = `${digest?.[0] === 'A' ? 'B' : 'A'}${digest?.slice(1)}`;
    for (const bad of [
      '',
      'pw',
      '$scrypt$',
      `$scrypt$${params}$${salt}`,
      `$scrypt$${params}$${salt}$`,
      `$scrypt$${params}$$${digest}`,
      `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${digest}`,
      `$scrypt$ln=10,r=8$${salt}$${digest}`,
      `$scrypt$N=1024,r=8,p=1$${salt}$${digest}`,
      `$scrypt$${params}$${salt}$${digest}!`,
      `$scrypt$${params}$${salt}$${digest} `,
      ` ${good}`,
      `$scrypt$${params}$${salt}$${flipped}`,
      `$scrypt$${params}$${Buffer.alloc(16, 8).toString('base64')}$${digest}`,
    ]) {
      assert.equal(await verifyPassword('pw', bad), false, bad);
    }
  });

  it('refuses absurd parameters at once, without running scrypt', async () => {
    const salt = SALT.toString('base64');
    const digest = Buffer.alloc(32, 1).toString('base64');
    for (const params of [
      'ln=9,r=8,p=1',
      'ln=0,r=8,p=1',
      'ln=21,r=8,p=1',
      'ln=99,r=8,p=1',
      'ln=15,r=0,p=1',
      'ln=15,r=33,p=1',
      'ln=15,r=99,p=1',
      'ln=15,r=8,p=0',
      'ln=15,r=8,p=17',
      'ln=15,r=8,p=99',
    ]) {
      const started = performance.now();
      assert.equal(await verifyPassword('pw', `$scrypt$${params}$${salt}$${digest}`), false, params);
      assert.ok(performance.now() - started < 20, `${params} ran scrypt`);
    }
  });

  it('refuses a hash whose digest is shorter than the 32 bytes hash-password writes', async () => {
    // With a 1-byte digest one wrong password in 256 would pass; a truncated hash must fail closed.
    for (const keylen of [1, 4, 16]) {
      assert.equal(
        await verifyPassword('pw', encode('pw', 10, 8, 1, keylen)),
        false,
        `${keylen}-byte digest`,
      );
    }
  });

  it('refuses hashes whose scrypt cost would take more than 64 MiB per login, and a short salt', () => {
    const salt = Buffer.alloc(16, 1).toString('base64');
    const digest = Buffer.alloc(32, 2).toString('base64');
    assert.ok(
      parsePasswordHash(`$scrypt$ln=15,r=8,p=1$${salt}$${digest}`),
      'the default cost (32 MiB) is accepted',
    );
    assert.equal(
      parsePasswordHash(`$scrypt$ln=20,r=32,p=1$${salt}$${digest}`),
      undefined,
      '4 GiB per login is refused',
    );
    assert.equal(
      parsePasswordHash(`$scrypt$ln=17,r=8,p=1$${salt}$${digest}`),
      undefined,
      '128 MiB per login is refused',
    );
    assert.equal(
      parsePasswordHash(`$scrypt$ln=15,r=8,p=1$${Buffer.alloc(8, 1).toString('base64')}$${digest}`),
      undefined,
    );
  });
});
