/**
 * `portcullis store migrate|copy`: the store's schema brought to this build's ahead of a rollout
 * (every instance would also do it at start, under the same advisory lock), and a SQLite store
 * moved into PostgreSQL for a fleet. Nothing printed carries a credential: a PostgreSQL store is
 * named by host, port and database only.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type PostgresConfig, postgresSchema } from '../config/schema.js';
import { CopyRefused, copySqliteToPostgres } from '../store/copy.js';
import { SCHEMA_VERSION } from '../store/migrations.js';
import { openPostgresStore, type PostgresStore } from '../store/postgres.js';
import { openSqliteStore } from '../store/sqlite.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

async function openTarget(config: PostgresConfig, baseDir: string): Promise<PostgresStore> {
  try {
    return await openPostgresStore({ config, baseDir });
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** --to URL (better from a variable than typed: "$PORTCULLIS_DATABASE_URL"), else the config's store.postgres. */
function targetConfig(to: string | undefined, configured: PostgresConfig | undefined): PostgresConfig {
  if (to === undefined) {
    if (!configured)
      fail('no target — set store.postgres in the config, or pass --to postgres://user@host:5432/database');
    return configured;
  }
  const parsed = postgresSchema.safeParse(configured ? { ...configured, url: to } : to);
  if (!parsed.success) fail(`--to ${parsed.error.issues[0]?.message ?? 'is not a PostgreSQL URL'}`);
  return parsed.data;
}

export function registerStore(program: Command): void {
  const store = program
    .command('store')
    .description('the store itself: its schema, and moving a SQLite store into PostgreSQL');

  store
    .command('migrate')
    .description("bring the config's store to this build's schema (PostgreSQL: under an advisory lock)")
    .option(...CONFIG_OPTION)
    .action(async (options: { config: string }) => {
      const { config, baseDir } = loadOrExit(options.config);
      if (config.store.postgres) {
        const target = await openTarget(config.store.postgres, baseDir);
        const { from, to } = target.migrated;
        process.stdout.write(
          from === to
            ? `PostgreSQL ${target.description} is at schema version ${to}: nothing to do\n`
            : `PostgreSQL ${target.description}: schema version ${from} -> ${to}\n`,
        );
        await target.close();
        return;
      }
      const file = resolve(baseDir, config.store.sqlite);
      try {
        await openSqliteStore(file).close();
      } catch (err) {
        fail(`cannot open the store ${file}: ${(err as Error).message}`);
      }
      process.stdout.write(`SQLite ${file} is at schema version ${SCHEMA_VERSION}\n`);
    });

  store
    .command('copy')
    .description('copy a SQLite store, audit chain intact, into an empty PostgreSQL store')
    .option('--from <file>', "the SQLite store (default: the config's store.sqlite)")
    .option('--to <url>', "the PostgreSQL store (default: the config's store.postgres)")
    .option('--replace', 'delete what the PostgreSQL store holds first (in the same transaction)')
    .option(...CONFIG_OPTION)
    .action(async (options: { config: string; from?: string; to?: string; replace?: boolean }) => {
      const { config, baseDir } = loadOrExit(options.config);
      const file = options.from ? resolve(options.from) : resolve(baseDir, config.store.sqlite);
      const target = await openTarget(targetConfig(options.to, config.store.postgres), baseDir);
      try {
        const result = await copySqliteToPostgres(file, target, {
          replace: options.replace === true,
          progress: (table, copied, total) => {
            if (copied === total || copied % 5000 === 0)
              process.stderr.write(`  ${table}: ${copied}/${total}\n`);
          },
        });
        const rows = result.tables.reduce((n, t) => n + t.rows, 0);
        const head = result.chain.ok ? result.chain.head?.hash.slice(0, 16) : undefined;
        process.stdout.write(
          `Copied ${rows} rows in ${result.tables.length} tables from ${file} to PostgreSQL ${target.description}; ` +
            `the audit chain verifies (${result.chain.ok ? result.chain.count : 0} records${head ? `, head ${head}…` : ''})\n`,
        );
      } catch (err) {
        fail(
          err instanceof CopyRefused
            ? err.message
            : `the copy failed and was rolled back: ${(err as Error).message}`,
        );
      } finally {
        await target.close();
      }
    });
}
