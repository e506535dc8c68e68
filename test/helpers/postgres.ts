/**
 * Throwaway PostgreSQL databases for the tests: each is created through the `postgres` database of
 * the local server (127.0.0.1:5432, trust auth, user postgres; scripts/provision-tests.sh starts it)
 * under a unique name, and dropped, with whatever still connects to it, when the test is done.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseConfig } from '../../src/config/load.js';
import type { PostgresConfig } from '../../src/config/schema.js';

export const POSTGRES_SERVER = process.env.PORTCULLIS_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';

/** A secret for configs that name store.postgres (which requires auth.secret). */
export const POSTGRES_TEST_SECRET = 'pg-test-secret-0123456789abcdef0123456789abcdef';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** The parsed store.postgres config for `url` (defaults applied, overrides from `extra` YAML). */
  config(extra?: string): PostgresConfig;
  /** Runs one statement as the server's superuser, on the `postgres` database or on this one. */
  admin<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
    on?: 'server' | 'database',
  ): Promise<pg.QueryResult<R>>;
  /** Drops the database and ends every connection to it. */
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `pcl_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], on = 'server') => {
    const client = new pg.Client({
      connectionString: `${POSTGRES_SERVER}/${on === 'server' ? 'postgres' : name}`,
    });
    await client.connect();
    try {
      return await client.query<R>(sql, params);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = `${POSTGRES_SERVER}/${name}`;
  return {
    name,
    url,
    config(extra = '') {
      const yaml = `auth: { apiKeys: {}, secret: ${POSTGRES_TEST_SECRET} }\nupstreams: { x: { command: node } }\nstore:\n  postgres: { url: "${url}"${extra ? `, ${extra}` : ''} }\n`;
      return parseConfig(yaml, process.cwd(), {}).config.store.postgres as PostgresConfig;
    },
    admin,
    async drop() {
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
