/**
 * `portcullis store copy`: every table of a SQLite store into a PostgreSQL store, row for row, in
 * one PostgreSQL transaction (all of it or nothing). The tables and columns are read from the two
 * schemas, so a table added by a later migration is copied too — or refused, when this build's
 * PostgreSQL schema does not have it. The audit chain is copied as stored (its hashes are not
 * recomputed), so a broken source is refused rather than laundered, and the copy verifies to the
 * same head. The source is read in one snapshot (a running gateway may keep writing to it).
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { ChainVerdict } from '../audit/chain.js';
import type { PostgresStore } from './postgres.js';
import { AUDIT_LOCK } from './postgres-audit.js';
import type { Queryable } from './postgres-pool.js';
import { openSqliteStore } from './sqlite.js';
import { StoreRefusal } from './unavailable.js';

/** Rows of `table` copied so far, of `total`. */
export type CopyProgress = (table: string, copied: number, total: number) => void;

export interface CopyOptions {
  /** Delete what the target holds first (in the same transaction). Without it, a target with data is refused. */
  readonly replace?: boolean;
  readonly progress?: CopyProgress;
}

export interface CopyResult {
  readonly tables: readonly { readonly table: string; readonly rows: number }[];
  /** The target's audit chain after the copy (the same head as the source's). */
  readonly chain: ChainVerdict;
}

export class CopyRefused extends StoreRefusal {
  override name = 'CopyRefused';
}

const BATCH = 500;

interface PgColumn {
  table_name: string;
  column_name: string;
  data_type: string;
  is_generated: string;
  is_identity: string;
  identity_generation: string | null;
}

export async function copySqliteToPostgres(
  file: string,
  target: PostgresStore,
  options: CopyOptions = {},
): Promise<CopyResult> {
  if (!existsSync(file)) throw new CopyRefused(`no SQLite store at ${file} — check --from`);
  // Brings the source to this build's schema, as any command opening it would.
  const source = openSqliteStore(file);
  const sourceChain = await source.audit.verifyChain();
  await source.close();
  if (!sourceChain.ok) {
    throw new CopyRefused(
      `the audit chain of ${file} is broken at record #${sourceChain.seq} (${sourceChain.reason}) — a copy would carry the break; see: portcullis audit verify`,
    );
  }
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.exec('BEGIN');
    const tables = sqliteTables(db);
    const copied = await target.pool.transaction(async (tx) => {
      const columns = await postgresColumns(tx);
      for (const table of tables)
        if (!columns.has(table))
          throw new CopyRefused(
            `table ${table} of ${file} has no place in PostgreSQL ${target.description} — this Portcullis cannot copy it; upgrade Portcullis`,
          );
      await emptyTarget(tx, [...columns.keys()], target.description, options.replace === true);
      // No instance may append to the chain while it is being filled.
      await tx.query(`SELECT pg_advisory_xact_lock(${AUDIT_LOCK})`);
      const done: { table: string; rows: number }[] = [];
      for (const table of tables)
        done.push({
          table,
          rows: await copyTable(db, tx, table, columns.get(table) as PgColumn[], options.progress),
        });
      return done;
    });
    const chain = await target.audit.verifyChain();
    if (!chain.ok || chain.count !== sourceChain.count || chain.head?.hash !== sourceChain.head?.hash) {
      throw new Error(
        `the copied audit chain does not match the source (${chain.ok ? `head ${chain.head?.hash ?? 'none'}` : `broken at #${chain.seq}: ${chain.reason}`}) — this is a bug; the target keeps the copy for inspection`,
      );
    }
    return { tables: copied, chain };
  } finally {
    db.close();
  }
}

/** The source's tables, in the order they were created (their rows reference nothing across tables). */
function sqliteTables(db: Database.Database): string[] {
  return db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
    )
    .all()
    .map((row) => row.name);
}

/** The target's tables (but schema_version) and their columns. */
async function postgresColumns(tx: Queryable): Promise<Map<string, PgColumn[]>> {
  const { rows } = await tx.query<PgColumn>(
    `SELECT table_name, column_name, data_type, is_generated, is_identity, identity_generation
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name <> 'schema_version'
      ORDER BY table_name, ordinal_position`,
  );
  const tables = new Map<string, PgColumn[]>();
  for (const row of rows) tables.set(row.table_name, [...(tables.get(row.table_name) ?? []), row]);
  return tables;
}

async function emptyTarget(
  tx: Queryable,
  tables: string[],
  description: string,
  replace: boolean,
): Promise<void> {
  if (replace) {
    await tx.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY`);
    return;
  }
  const counts: string[] = [];
  for (const table of tables) {
    const { rows } = await tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
    if ((rows[0]?.n ?? 0) > 0) counts.push(`${table}: ${rows[0]?.n} row(s)`);
  }
  if (counts.length > 0)
    throw new CopyRefused(
      `PostgreSQL ${description} holds data already (${counts.join(', ')}) — copy into an empty database, or pass --replace to delete what it holds first`,
    );
}

/** Copies one table page by page (by rowid), returning how many rows it had. */
async function copyTable(
  db: Database.Database,
  tx: Queryable,
  table: string,
  targetColumns: readonly PgColumn[],
  progress: CopyProgress | undefined,
): Promise<number> {
  const sourceColumns = db
    .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}')`)
    .all()
    .map((c) => c.name);
  const byName = new Map(targetColumns.map((c) => [c.column_name, c]));
  const missing = sourceColumns.filter((c) => !byName.has(c));
  if (missing.length > 0)
    throw new CopyRefused(
      `column ${table}.${missing.join(', ')} has no place in PostgreSQL — upgrade Portcullis`,
    );
  // JSON text in SQLite, text[] in PostgreSQL.
  const lists = new Set(sourceColumns.filter((c) => byName.get(c)?.data_type === 'ARRAY'));
  const total = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const page = db.prepare<[number], Record<string, unknown> & { _rowid: number }>(
    `SELECT rowid AS _rowid, * FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ${BATCH}`,
  );
  let copied = 0;
  let after = 0;
  progress?.(table, 0, total);
  for (;;) {
    const rows = page.all(after);
    if (rows.length === 0) break;
    const params = rows.flatMap((row) =>
      sourceColumns.map((c) =>
        lists.has(c) && typeof row[c] === 'string' ? JSON.parse(row[c] as string) : row[c],
      ),
    );
    const values = rows.map(
      (_, r) => `(${sourceColumns.map((_c, i) => `$${r * sourceColumns.length + i + 1}`).join(', ')})`,
    );
    await tx.query(`INSERT INTO ${table} (${sourceColumns.join(', ')}) VALUES ${values.join(', ')}`, params);
    copied += rows.length;
    after = (rows.at(-1) as { _rowid: number })._rowid;
    progress?.(table, copied, total);
  }
  return copied;
}
