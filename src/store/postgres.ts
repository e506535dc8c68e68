/**
 * The PostgreSQL store (store.postgres): everything the SQLite store holds, in one database that
 * a fleet of gateways and the CLI share. Opening it applies the missing migrations under an
 * advisory lock (postgres-migrations.ts); every sub-store runs on one pool (postgres-pool.ts),
 * whose failures to reach the server surface as StoreUnavailableError. Nothing is cached here:
 * each check reads the shared rows, so a revocation on one instance holds on all at once.
 */
import type { PostgresConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { postgresApiKeyStore } from './postgres-api-keys.js';
import { postgresAuditStore } from './postgres-audit.js';
import {
  type Migrated,
  migratePostgres,
  POSTGRES_SCHEMA_VERSION,
  schemaVersion,
} from './postgres-migrations.js';
import { postgresOAuthStore } from './postgres-oauth.js';
import { postgresPinStore } from './postgres-pins.js';
import { PostgresPool } from './postgres-pool.js';
import type { Store } from './store.js';
import { StoreUnavailableError } from './unavailable.js';

export interface PostgresStoreOptions {
  readonly config: PostgresConfig;
  readonly baseDir: string;
  readonly logger?: Logger | undefined;
  /**
   * true (the default): apply missing migrations. false: only check that the schema is this
   * build's, and fail naming `portcullis store migrate` when it is not.
   */
  readonly migrate?: boolean;
}

export interface PostgresStore extends Store {
  /** host:port/database, for messages (never a credential). */
  readonly description: string;
  /** What opening migrated. */
  readonly migrated: Migrated;
  /** The pool, for the copy command and tests. */
  readonly pool: PostgresPool;
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const pool = new PostgresPool(options);
  try {
    const migrated =
      options.migrate === false
        ? await checkSchema(pool)
        : await pool.session((session) => migratePostgres(session));
    return {
      description: pool.description,
      migrated,
      pool,
      apiKeys: postgresApiKeyStore(pool),
      audit: postgresAuditStore(pool),
      oauth: postgresOAuthStore(pool),
      pins: postgresPinStore(pool),
      ping: () => pool.ping(),
      close: () => pool.close(),
    };
  } catch (err) {
    await pool.close();
    // At start, the reason is for the operator: the 503 wording is for clients of a running gateway.
    if (err instanceof StoreUnavailableError)
      throw new Error(
        `cannot reach the store, ${err.detail} — check store.postgres (url, ssl) and that the server runs`,
      );
    throw err;
  }
}

async function checkSchema(pool: PostgresPool): Promise<Migrated> {
  const version = await schemaVersion(pool);
  if (version === POSTGRES_SCHEMA_VERSION) return { from: version, to: version };
  throw new Error(
    version === 0
      ? `PostgreSQL ${pool.description} holds no Portcullis store yet — run: portcullis store migrate`
      : version < POSTGRES_SCHEMA_VERSION
        ? `PostgreSQL ${pool.description} is at schema ${version}, this Portcullis needs ${POSTGRES_SCHEMA_VERSION} — run: portcullis store migrate`
        : `PostgreSQL ${pool.description} was written by a newer Portcullis (schema ${version}, this one knows ${POSTGRES_SCHEMA_VERSION}) — upgrade Portcullis`,
  );
}
