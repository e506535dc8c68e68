/**
 * Opens the configured store and its server secret: shared by the gateway and the CLI, so every
 * command works on whichever store the config names (store.postgres, else the store.sqlite file).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { openPostgresStore } from './postgres.js';
import { describePostgres } from './postgres-pool.js';
import { loadServerSecret } from './server-secret.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export interface OpenedStore {
  readonly store: Store;
  readonly secret: Buffer;
}

export interface OpenStoreOptions {
  /** For the store's own trouble (a PostgreSQL server lost and back). */
  readonly logger?: Logger | undefined;
}

/** The configured store, created (SQLite) or migrated (PostgreSQL) as needed. */
export function openStore(
  config: Config,
  baseDir: string,
  options: OpenStoreOptions = {},
): Promise<OpenedStore> {
  return open(config, baseDir, options, false) as Promise<OpenedStore>;
}

/**
 * The configured store only if it exists, for commands that read it: undefined for a SQLite file
 * not created yet; for PostgreSQL, an error naming `portcullis store migrate` when the schema is
 * missing or older than this build's (nothing is created or migrated).
 */
export function openExistingStore(
  config: Config,
  baseDir: string,
  options: OpenStoreOptions = {},
): Promise<OpenedStore | undefined> {
  return open(config, baseDir, options, true);
}

async function open(
  config: Config,
  baseDir: string,
  options: OpenStoreOptions,
  existing: boolean,
): Promise<OpenedStore | undefined> {
  const file = resolve(baseDir, config.store.sqlite);
  const { postgres } = config.store;
  if (!postgres && existing && !existsSync(file)) return undefined;
  // With PostgreSQL, auth.secret is required (config schema): no secret.key file is read or made.
  const secret = loadServerSecret(config.auth.secret, file);
  const store = postgres
    ? await openPostgresStore({ config: postgres, baseDir, logger: options.logger, migrate: !existing })
    : openSqliteStore(file);
  return { store, secret };
}

/** What the config's store is, for messages: the SQLite file, or PostgreSQL host:port/database. */
export function describeStore(config: Config, baseDir: string): string {
  return config.store.postgres
    ? `PostgreSQL ${describePostgres(config.store.postgres.url)}`
    : resolve(baseDir, config.store.sqlite);
}
