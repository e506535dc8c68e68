/**
 * The PostgreSQL connection pool (node-postgres) every part of the PostgreSQL store runs on.
 * - TLS as configured: on and verified for any host but loopback, unless turned off in the config.
 * - BIGINT columns (epoch ms, seq, count) are read as numbers: they stay below 2^53.
 * - A failure to reach the server, or to hear from it in time, becomes StoreUnavailableError (503):
 *   whatever needed the store is refused, never answered without it. A connection that failed is
 *   closed, not reused; the pool opens new ones on demand, so it reconnects by itself.
 * - The first failure and the recovery are logged once each (a down database is one incident).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { PostgresConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { isLoopbackHost } from '../net/loopback.js';
import { StoreUnavailableError } from './unavailable.js';

export type Row = pg.QueryResultRow;

/** What a statement runs on: the pool, or the one connection of a transaction. */
export interface Queryable {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

export interface PostgresPoolOptions {
  readonly config: PostgresConfig;
  /** Where relative ssl file paths start (the config file's folder). */
  readonly baseDir: string;
  readonly logger?: Logger | undefined;
}

/** SQLSTATE classes that mean the server, not the statement, failed: connection exception,
 * insufficient resources, operator intervention (shutdown, statement timeout), system error. */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58']);

/** How long a ping's answer is reused: a flood of /readyz is not a flood of queries. */
const PING_REUSE_MS = 1000;

const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? Number
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** True when `err` says the connection or the server failed (as opposed to the statement). */
export function isConnectionFailure(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return UNAVAILABLE_CLASSES.has((err.code ?? '').slice(0, 2));
  // A socket error, a timeout, a connection ended: anything but a programming error.
  return !(err instanceof TypeError || err instanceof RangeError);
}

/** host:port/database, for messages: never the user name or password. */
export function describePostgres(url: string): string {
  const parsed = new URL(url);
  const host = parsed.searchParams.get('host') ?? parsed.hostname;
  const database = decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username);
  return `${host}:${parsed.port || 5432}/${database}`;
}

export class PostgresPool implements Queryable {
  /** host:port/database. */
  readonly description: string;
  private readonly clientConfig: pg.ClientConfig;
  private readonly pool: pg.Pool;
  private readonly logger: Logger | undefined;
  private down = false;
  private pinged = { at: -Infinity, ok: false };
  private pinging: Promise<boolean> | undefined;

  constructor(options: PostgresPoolOptions) {
    const { config, baseDir } = options;
    this.description = describePostgres(config.url);
    this.logger = options.logger;
    this.clientConfig = {
      connectionString: config.url,
      ssl: postgresTls(config, baseDir),
      connectionTimeoutMillis: config.connectTimeout,
      // Server side first (the statement is cancelled, the connection stays good); the client-side
      // timeout is for a server that stopped answering at all.
      statement_timeout: config.queryTimeout,
      query_timeout: config.queryTimeout + 1000,
      // A gateway that stalls inside a transaction must not hold the audit chain's lock for long.
      idle_in_transaction_session_timeout: config.queryTimeout,
      keepAlive: true,
      application_name: 'portcullis',
      types: TYPES,
    };
    this.pool = new pg.Pool({ ...this.clientConfig, max: config.poolSize });
    // An idle connection was closed by the server or the network: the pool drops it and opens
    // another when needed. Without a listener, the error would end the process.
    this.pool.on('error', (err) =>
      this.logger?.warn(
        { err: err.message, store: this.description },
        'a PostgreSQL connection was lost — the pool opens a new one when needed',
      ),
    );
  }

  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<pg.QueryResult<R>> {
    return this.run((client) => client.query<R>(sql, params as unknown[] | undefined));
  }

  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.run(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection that died mid-transaction is closed by the pool on release.
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  /**
   * Runs `work` on a connection of its own, outside the pool and without statement timeouts: for
   * migrations, which wait for the advisory lock as long as another instance holds it.
   */
  async session<T>(work: (session: Queryable) => Promise<T>): Promise<T> {
    const client = new pg.Client({ ...this.clientConfig, statement_timeout: 0, query_timeout: 0 });
    // A connection error after connect must not end the process: the next query reports it.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (err) {
      throw this.unavailable(err);
    }
    try {
      return await work(client);
    } catch (err) {
      throw isConnectionFailure(err) ? this.unavailable(err) : err;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Whether the server answers `SELECT 1` now; one query at a time, its answer reused for a second. */
  ping(): Promise<boolean> {
    if (Date.now() - this.pinged.at < PING_REUSE_MS) return Promise.resolve(this.pinged.ok);
    this.pinging ??= this.query('SELECT 1').then(
      () => this.settlePing(true),
      () => this.settlePing(false),
    );
    return this.pinging;
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  private settlePing(ok: boolean): boolean {
    this.pinged = { at: Date.now(), ok };
    this.pinging = undefined;
    return ok;
  }

  private async run<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.unavailable(err);
    }
    try {
      const result = await work(client);
      client.release();
      this.reachable();
      return result;
    } catch (err) {
      const failed = isConnectionFailure(err);
      // A connection that failed is closed rather than handed to the next request.
      client.release(failed ? (err as Error) : undefined);
      throw failed ? this.unavailable(err) : err;
    }
  }

  private unavailable(err: unknown): StoreUnavailableError {
    const detail = `PostgreSQL ${this.description}: ${err instanceof Error ? err.message : String(err)}`;
    if (!this.down) {
      this.down = true;
      this.logger?.error(
        { err: detail },
        'the store cannot be reached — requests that need it are refused with 503 until it answers again',
      );
    }
    return new StoreUnavailableError(detail);
  }

  private reachable(): void {
    if (!this.down) return;
    this.down = false;
    this.logger?.info({ store: this.description }, 'the store answers again');
  }
}

/** node-postgres's ssl option for the config: verified TLS off loopback unless configured otherwise. */
export function postgresTls(config: PostgresConfig, baseDir: string): false | ConnectionOptions {
  const { ssl } = config;
  if (ssl === false) return false;
  if (ssl === undefined) {
    const url = new URL(config.url);
    const host = url.searchParams.get('host') ?? url.hostname;
    // A Unix socket (a path) or loopback never crosses a network.
    return host.startsWith('/') || isLoopbackHost(host) ? false : { rejectUnauthorized: true };
  }
  const read = (field: 'ca' | 'cert' | 'key', path: string | undefined) =>
    path === undefined ? {} : { [field]: readPem(baseDir, field, path) };
  return {
    rejectUnauthorized: ssl.rejectUnauthorized,
    ...(ssl.servername ? { servername: ssl.servername } : {}),
    ...read('ca', ssl.ca),
    ...read('cert', ssl.cert),
    ...read('key', ssl.key),
  };
}

function readPem(baseDir: string, field: string, path: string): string {
  const file = resolve(baseDir, path);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read store.postgres.ssl.${field} ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}) — check the path and its permissions`,
    );
  }
}
