/**
 * The PostgreSQL schema, versioned: each migration runs once, in order, in its own transaction, and
 * the version reached is a row in schema_version. Every instance applies what is missing at start
 * (and `portcullis store migrate` does it ahead of a rollout) while holding a session advisory lock,
 * so instances starting together apply each migration once and the others wait, then find it done.
 * Never edit a released migration: append a new one. (SQLite has its own list, src/store/migrations.ts:
 * version 1 here is what SQLite reached in five steps.)
 */
import type { Queryable } from './postgres-pool.js';

/** pg_advisory_lock key of schema migrations: "portcull" in ASCII; any other user of the key only waits. */
export const MIGRATION_LOCK = '8101820098873224300';

const MIGRATIONS: readonly string[] = [
  // 1: API keys (by the keyed hash of the key), the audit hash chain (src/audit/chain.ts; the
  // other columns index queries), the OAuth authorization server's state (all by hash or id, never
  // a usable secret), and pins. Times are epoch milliseconds; lists are text[]. `position` keeps
  // the order clients were added in.
  `CREATE TABLE api_keys (
     id text PRIMARY KEY,
     name text NOT NULL,
     hash text NOT NULL UNIQUE,
     scopes text[] NOT NULL,
     roles text[] NOT NULL DEFAULT '{}',
     created_at bigint NOT NULL,
     expires_at bigint,
     last_used_at bigint,
     revoked_at bigint
   );
   CREATE TABLE audit_events (
     seq bigint PRIMARY KEY,
     time bigint NOT NULL,
     type text NOT NULL,
     principal text,
     principal_name text,
     upstream text,
     tool text,
     outcome text,
     json text NOT NULL,
     prev_hash text NOT NULL,
     hash text NOT NULL
   );
   CREATE INDEX audit_events_time ON audit_events (time);
   CREATE INDEX audit_events_principal ON audit_events (principal);
   CREATE INDEX audit_events_tool ON audit_events (tool);
   CREATE TABLE oauth_clients (
     client_id text PRIMARY KEY,
     name text NOT NULL,
     secret_hash text,
     token_endpoint_auth_method text NOT NULL,
     redirect_uris text[] NOT NULL,
     grant_types text[] NOT NULL,
     scopes text[],
     created_at bigint NOT NULL,
     revoked_at bigint,
     position bigint GENERATED ALWAYS AS IDENTITY
   );
   CREATE TABLE oauth_codes (
     hash text PRIMARY KEY,
     client_id text NOT NULL,
     redirect_uri text NOT NULL,
     code_challenge text NOT NULL,
     resource text NOT NULL,
     scopes text[] NOT NULL,
     subject text NOT NULL,
     grant_id text NOT NULL,
     issued_at bigint NOT NULL,
     expires_at bigint NOT NULL,
     used_at bigint
   );
   CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);
   CREATE TABLE oauth_grants (
     id text PRIMARY KEY,
     client_id text NOT NULL,
     subject text NOT NULL,
     resource text NOT NULL,
     created_at bigint NOT NULL,
     expires_at bigint NOT NULL,
     revoked_at bigint
   );
   CREATE INDEX oauth_grants_expires ON oauth_grants (expires_at);
   CREATE INDEX oauth_grants_subject_client ON oauth_grants (subject, client_id);
   CREATE TABLE oauth_refresh_tokens (
     hash text PRIMARY KEY,
     grant_id text NOT NULL,
     client_id text NOT NULL,
     subject text NOT NULL,
     resource text NOT NULL,
     scopes text[] NOT NULL,
     issued_at bigint NOT NULL,
     expires_at bigint NOT NULL,
     used_at bigint
   );
   CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);
   CREATE INDEX oauth_refresh_tokens_expires ON oauth_refresh_tokens (expires_at);
   CREATE TABLE oauth_denied_tokens (
     jti text PRIMARY KEY,
     expires_at bigint NOT NULL
   );
   CREATE INDEX oauth_denied_tokens_expires ON oauth_denied_tokens (expires_at);
   CREATE TABLE oauth_consents (
     subject text NOT NULL,
     client_id text NOT NULL,
     scopes text[] NOT NULL,
     granted_at bigint NOT NULL,
     PRIMARY KEY (subject, client_id)
   );
   CREATE TABLE tool_pins (
     upstream text NOT NULL,
     kind text NOT NULL,
     name text NOT NULL,
     pinned_hash text,
     pinned_definition text,
     pinned_at bigint,
     seen_hash text NOT NULL,
     seen_definition text NOT NULL,
     seen_at bigint NOT NULL,
     rejected_hash text,
     PRIMARY KEY (upstream, kind, name)
   )`,
];

/** The schema version this build writes. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

export interface Migrated {
  readonly from: number;
  readonly to: number;
}

/** The version the database is at: 0 when no Portcullis schema is there. */
export async function schemaVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_version') IS NOT NULL AS exists",
  );
  if (!rows[0]?.exists) return 0;
  const version = await db.query<{ version: number }>(
    'SELECT coalesce(max(version), 0) AS version FROM schema_version',
  );
  return version.rows[0]?.version ?? 0;
}

/**
 * Brings the schema to version `to` (the latest by default; tests stop earlier to test an
 * upgrade), holding the migration lock. `session` must be one connection: the lock is its session's.
 */
export async function migratePostgres(session: Queryable, to = POSTGRES_SCHEMA_VERSION): Promise<Migrated> {
  await session.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
  try {
    // Under the lock: two instances creating it at once would collide in the catalog.
    await session.query(
      'CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
    );
    const from = await schemaVersion(session);
    if (from > MIGRATIONS.length) {
      throw new Error(
        `the PostgreSQL store was written by a newer Portcullis (schema ${from}, this one knows ${MIGRATIONS.length}) — upgrade Portcullis`,
      );
    }
    const target = Math.min(to, MIGRATIONS.length);
    for (let version = from; version < target; version++) {
      await session.query('BEGIN');
      try {
        await session.query(MIGRATIONS[version] as string);
        await session.query('INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)', [
          version + 1,
          Date.now(),
        ]);
        await session.query('COMMIT');
      } catch (err) {
        await session.query('ROLLBACK').catch(() => {});
        throw err;
      }
    }
    return { from, to: Math.max(from, target) };
  } finally {
    await session.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => {});
  }
}
