/**
 * The server secret keying API-key hashes: the config's auth.secret, or a random 256-bit value
 * generated once into secret.key beside the store (owner-only). A fleet must share it, so set
 * auth.secret there. Changing it invalidates every API key at once.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function loadServerSecret(configured: string | undefined, storeFile: string): Buffer {
  if (configured !== undefined) return Buffer.from(configured, 'utf8');
  const file = join(dirname(storeFile), 'secret.key');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    // 'wx' fails if another process (the CLI, a second gateway) created it first: then read theirs.
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((statSync(file).mode & 0o077) !== 0) {
    throw new Error(`${file} is readable by other users — run: chmod 600 ${file}`);
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32)
    throw new Error(
      `${file} holds no valid secret — delete it to generate a new one (this invalidates every API key)`,
    );
  return Buffer.from(secret, 'utf8');
}
