/** Opens the configured store and its server secret: shared by the gateway and the CLI. */
import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { loadServerSecret } from './server-secret.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export interface OpenedStore {
  readonly store: Store;
  readonly secret: Buffer;
}

export function openStore(config: Config, baseDir: string): OpenedStore {
  const file = resolve(baseDir, config.store.sqlite);
  const secret = loadServerSecret(config.auth.secret, file);
  return { store: openSqliteStore(file), secret };
}
