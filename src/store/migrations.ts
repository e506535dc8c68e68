/**
 * Versioned schema migrations. Each entry runs once, in order, inside a transaction; the version
 * reached is kept in SQLite's user_version. Never edit a released migration: append a new one.
 */
import type { Database } from 'better-sqlite3';

const MIGRATIONS: readonly string[] = [
  // 1: API keys, looked up by the keyed hash of the key.
  `CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     scopes TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     last_used_at INTEGER,
     revoked_at INTEGER
   )`,
  // 2: roles on API keys.
  `ALTER TABLE api_keys ADD COLUMN roles TEXT NOT NULL DEFAULT '[]'`,
  // 3: the audit trail, a hash chain (src/audit/chain.ts); the other columns index queries.
  `CREATE TABLE audit_events (
     seq INTEGER PRIMARY KEY,
     time INTEGER NOT NULL,
     type TEXT NOT NULL,
     principal TEXT,
     principal_name TEXT,
     upstream TEXT,
     tool TEXT,
     outcome TEXT,
     json TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   );
   CREATE INDEX audit_events_time ON audit_events (time);
   CREATE INDEX audit_events_principal ON audit_events (principal);
   CREATE INDEX audit_events_tool ON audit_events (tool)`,
  // 4: the OAuth authorization server (src/oauth/): static clients, authorization codes, grants,
  // refresh tokens and the access-token denylist (all by hash or id, never a usable secret), and
  // remembered consent. List columns hold JSON arrays.
  `CREATE TABLE oauth_clients (
     client_id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     secret_hash TEXT,
     token_endpoint_auth_method TEXT NOT NULL,
     redirect_uris TEXT NOT NULL,
     grant_types TEXT NOT NULL,
     scopes TEXT,
     created_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE TABLE oauth_codes (
     hash TEXT PRIMARY KEY,
     client_id TEXT NOT NULL,
     redirect_uri TEXT NOT NULL,
     code_challenge TEXT NOT NULL,
     resource TEXT NOT NULL,
     scopes TEXT NOT NULL,
     subject TEXT NOT NULL,
     grant_id TEXT NOT NULL,
     issued_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     used_at INTEGER
   );
   CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);
   CREATE TABLE oauth_grants (
     id TEXT PRIMARY KEY,
     client_id TEXT NOT NULL,
     subject TEXT NOT NULL,
     resource TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE INDEX oauth_grants_expires ON oauth_grants (expires_at);
   CREATE TABLE oauth_refresh_tokens (
     hash TEXT PRIMARY KEY,
     grant_id TEXT NOT NULL,
     client_id TEXT NOT NULL,
     subject TEXT NOT NULL,
     resource TEXT NOT NULL,
     scopes TEXT NOT NULL,
     issued_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     used_at INTEGER
   );
   CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);
   CREATE INDEX oauth_refresh_tokens_expires ON oauth_refresh_tokens (expires_at);
   CREATE TABLE oauth_denied_tokens (
     jti TEXT PRIMARY KEY,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX oauth_denied_tokens_expires ON oauth_denied_tokens (expires_at);
   CREATE TABLE oauth_consents (
     subject TEXT NOT NULL,
     client_id TEXT NOT NULL,
     scopes TEXT NOT NULL,
     granted_at INTEGER NOT NULL,
     PRIMARY KEY (subject, client_id)
   )`,
  // 5: pins (src/policy/pins.ts): per upstream and tool, prompt or resource template, the approved
  // definition and the one last seen, with the fingerprint of each; a rejected one is not reported again.
  `CREATE TABLE tool_pins (
     upstream TEXT NOT NULL,
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     pinned_hash TEXT,
     pinned_definition TEXT,
     pinned_at INTEGER,
     seen_hash TEXT NOT NULL,
     seen_definition TEXT NOT NULL,
     seen_at INTEGER NOT NULL,
     rejected_hash TEXT,
     PRIMARY KEY (upstream, kind, name)
   )`,
  // 6: approvals (src/policy/approvals.ts): held calls, each bound to its caller, upstream, tool,
  // argument hash and policy version; the arguments only as shown (redacted). Used at most once.
  `CREATE TABLE approvals (
     id TEXT PRIMARY KEY,
     principal_id TEXT NOT NULL,
     principal_name TEXT NOT NULL,
     upstream TEXT NOT NULL,
     tool TEXT NOT NULL,
     arguments_hash TEXT NOT NULL,
     arguments_shown TEXT NOT NULL,
     policy_version TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     decided_at INTEGER,
     decided_by TEXT,
     used_at INTEGER
   );
   CREATE INDEX approvals_binding ON approvals (principal_id, upstream, tool, arguments_hash);
   CREATE INDEX approvals_open ON approvals (status, expires_at)`,
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema to version `to` (the latest by default; tests stop earlier to test an upgrade). */
export function migrate(db: Database, to: number = SCHEMA_VERSION): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the store was written by a newer Portcullis (schema ${current}, this one knows ${MIGRATIONS.length}) — upgrade Portcullis`,
    );
  }
  for (let version = current; version < Math.min(to, MIGRATIONS.length); version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
