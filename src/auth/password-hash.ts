/**
 * The encoded form of a Basic user's password hash, `$scrypt$ln=…,r=…,p=…$<salt>$<digest>`, and the
 * bounds every accepted hash must keep: a real salt, the full 32-byte digest (a shorter one would
 * let wrong passwords through), and a cost that neither makes the hash trivial nor lets one login
 * attempt take gigabytes of memory.
 */
const ENCODED =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

export const DIGEST_BYTES = 32;
const MIN_SALT_BYTES = 16;
/** scrypt needs 128·N·r bytes; 64 MiB caps one verification. */
const MAX_MEMORY = 64 * 1024 * 1024;

export interface PasswordHash {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly digest: Buffer;
}

export function scryptMemory(ln: number, r: number): number {
  return 128 * 2 ** ln * r;
}

/** The parsed hash, or undefined when it is malformed or outside the bounds. */
export function parsePasswordHash(encoded: string): PasswordHash | undefined {
  const match = ENCODED.exec(encoded);
  if (!match) return undefined;
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const salt = Buffer.from(match[4] as string, 'base64');
  const digest = Buffer.from(match[5] as string, 'base64');
  if (ln < 10 || r < 1 || p < 1 || p > 4 || scryptMemory(ln, r) > MAX_MEMORY) return undefined;
  if (salt.length < MIN_SALT_BYTES || digest.length !== DIGEST_BYTES) return undefined;
  return { ln, r, p, salt, digest };
}
