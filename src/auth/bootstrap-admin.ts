/**
 * auth.basic.bootstrapAdmin: a user `admin` for a first look at a fresh gateway, whose random
 * password is shown once and whose hash is kept in admin.password.hash beside the store
 * (owner-only), as secret.key is. Deleting the file makes the next start create a new password.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parsePasswordHash } from './password-hash.js';
import { hashPassword } from './passwords.js';

export const BOOTSTRAP_ADMIN = 'admin';
/** The roles the bootstrap user holds (policy.roles; the default `admin` role holds `*`). */
export const BOOTSTRAP_ADMIN_ROLES: readonly string[] = ['admin'];

/** The admin's password hash, and the password itself when this call created it. */
export async function bootstrapAdmin(
  storeFile: string,
): Promise<{ passwordHash: string; password?: string }> {
  const file = join(dirname(storeFile), 'admin.password.hash');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const password = randomBytes(18).toString('base64url');
  let created = true;
  try {
    // 'wx': a second process starting at the same time keeps the first one's password.
    writeFileSync(file, `${await hashPassword(password)}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    created = false;
  }
  if ((statSync(file).mode & 0o077) !== 0)
    throw new Error(`${file} is readable by other users — run: chmod 600 ${file}`);
  const passwordHash = readFileSync(file, 'utf8').trim();
  if (parsePasswordHash(passwordHash) === undefined)
    throw new Error(`${file} holds no valid password hash — delete it to create a new admin password`);
  return created ? { passwordHash, password } : { passwordHash };
}
