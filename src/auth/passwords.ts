/**
 * Password hashes for Basic users: scrypt (node:crypto), encoded with its parameters so they can be
 * raised later without invalidating existing hashes: $scrypt$ln=15,r=8,p=1$<salt>$<hash>.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { DIGEST_BYTES, parsePasswordHash, scryptMemory } from './password-hash.js';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: object,
) => Promise<Buffer>;

/** OWASP's scrypt floor is N=2^17 at r=8; 2^15 keeps a verification near 100 ms on small hosts. */
const DEFAULT = { ln: 15, r: 8, p: 1 } as const;

function maxmem(ln: number, r: number): number {
  return scryptMemory(ln, r) * 2;
}

export async function hashPassword(password: string): Promise<string> {
  if (password.includes('\0'))
    throw new Error(
      'a password may not contain a NUL byte: its hash would also take the password cut at the NUL',
    );
  const salt = randomBytes(16);
  const { ln, r, p } = DEFAULT;
  const hash = await scryptAsync(password, salt, DIGEST_BYTES, { N: 2 ** ln, r, p, maxmem: maxmem(ln, r) });
  return `$scrypt$ln=${ln},r=${r},p=${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Constant-time check of `password` against an encoded hash; false for anything malformed or out of bounds. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const hash = parsePasswordHash(encoded);
  // scrypt keys an HMAC, which pads short keys with zero bytes: "pw" and "pw\0" would both pass.
  if (!hash || password.includes('\0')) return false;
  const actual = await scryptAsync(password, hash.salt, DIGEST_BYTES, {
    N: 2 ** hash.ln,
    r: hash.r,
    p: hash.p,
    maxmem: maxmem(hash.ln, hash.r),
  });
  return timingSafeEqual(actual, hash.digest);
}
