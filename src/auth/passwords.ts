/**
 * Password hashes for Basic users: scrypt (node:crypto), encoded with its parameters so they can be
 * raised later without invalidating existing hashes: $scrypt$ln=15,r=8,p=1$<salt>$<hash>.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { PASSWORD_HASH } from '../config/auth-schema.js';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: object,
) => Promise<Buffer>;

/** OWASP's scrypt floor is N=2^17 at r=8; 2^15 keeps a verification near 100 ms on small hosts. */
const DEFAULT = { ln: 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function maxmem(ln: number, r: number): number {
  return 128 * 2 ** ln * r * 2;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { ln, r, p } = DEFAULT;
  const hash = await scryptAsync(password, salt, KEY_LENGTH, { N: 2 ** ln, r, p, maxmem: maxmem(ln, r) });
  return `$scrypt$ln=${ln},r=${r},p=${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Constant-time check of `password` against an encoded hash; false for anything malformed. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = PASSWORD_HASH.exec(encoded);
  if (!match) return false;
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(match[4] as string, 'base64');
  const expected = Buffer.from(match[5] as string, 'base64');
  const actual = await scryptAsync(password, salt, expected.length, {
    N: 2 ** ln,
    r,
    p,
    maxmem: maxmem(ln, r),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
