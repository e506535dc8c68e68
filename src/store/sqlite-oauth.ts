/**
 * The OAuth authorization server's state in the SQLite store (tables of migration 4). Every
 * check-and-set is one conditional UPDATE (a used code or refresh token is never used twice, even by
 * two processes sharing the file); list columns hold JSON arrays, like api_keys.
 */
import type Database from 'better-sqlite3';
import type { GrantType, TokenEndpointAuthMethod } from '../oauth/client-metadata.js';
import type { AuthorizationCodeRecord, AuthorizationCodeStore } from '../oauth/codes.js';
import { type ConsentRecord, type ConsentStore, coversScopes, unionScopes } from '../oauth/consents.js';
import type { StaticClientRecord, StaticClientStore } from '../oauth/static-clients.js';
import type { GrantRecord, RefreshTokenRecord, TokenStore } from '../oauth/token-store.js';
import type { OAuthStore } from './store.js';

export function sqliteOAuthStore(db: Database.Database): OAuthStore {
  return {
    clients: sqliteStaticClientStore(db),
    codes: sqliteAuthorizationCodeStore(db),
    tokens: sqliteTokenStore(db),
    consents: sqliteConsentStore(db),
  };
}

interface ClientRow {
  client_id: string;
  name: string;
  secret_hash: string | null;
  token_endpoint_auth_method: string;
  redirect_uris: string;
  grant_types: string;
  scopes: string | null;
  created_at: number;
  revoked_at: number | null;
}

const toClient = (row: ClientRow): StaticClientRecord => ({
  clientId: row.client_id,
  name: row.name,
  secretHash: row.secret_hash,
  tokenEndpointAuthMethod: row.token_endpoint_auth_method as TokenEndpointAuthMethod,
  redirectUris: JSON.parse(row.redirect_uris) as string[],
  grantTypes: JSON.parse(row.grant_types) as GrantType[],
  scopes: row.scopes === null ? null : (JSON.parse(row.scopes) as string[]),
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

function sqliteStaticClientStore(db: Database.Database): StaticClientStore {
  const insert = db.prepare(
    `INSERT INTO oauth_clients (client_id, name, secret_hash, token_endpoint_auth_method, redirect_uris, grant_types, scopes, created_at, revoked_at)
     VALUES (@clientId, @name, @secretHash, @tokenEndpointAuthMethod, @redirectUris, @grantTypes, @scopes, @createdAt, @revokedAt)`,
  );
  const find = db.prepare<[string], ClientRow>('SELECT * FROM oauth_clients WHERE client_id = ?');
  const all = db.prepare<[], ClientRow>('SELECT * FROM oauth_clients ORDER BY created_at, rowid');
  const revoke = db.prepare<[number, string]>(
    'UPDATE oauth_clients SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL',
  );
  return {
    async insert(record) {
      insert.run({
        ...record,
        redirectUris: JSON.stringify(record.redirectUris),
        grantTypes: JSON.stringify(record.grantTypes),
        scopes: record.scopes === null ? null : JSON.stringify(record.scopes),
      });
    },
    async find(clientId) {
      const row = find.get(clientId);
      return row ? toClient(row) : undefined;
    },
    async list() {
      return all.all().map(toClient);
    },
    async revoke(clientId, at) {
      return revoke.run(at, clientId).changes === 1;
    },
  };
}

interface CodeRow {
  hash: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  resource: string;
  scopes: string;
  subject: string;
  grant_id: string;
  issued_at: number;
  expires_at: number;
  used_at: number | null;
}

const toCode = (row: CodeRow): AuthorizationCodeRecord => ({
  hash: row.hash,
  clientId: row.client_id,
  redirectUri: row.redirect_uri,
  codeChallenge: row.code_challenge,
  resource: row.resource,
  scopes: JSON.parse(row.scopes) as string[],
  subject: row.subject,
  grantId: row.grant_id,
  issuedAt: row.issued_at,
  expiresAt: row.expires_at,
});

function sqliteAuthorizationCodeStore(db: Database.Database): AuthorizationCodeStore {
  const insert = db.prepare(
    `INSERT INTO oauth_codes (hash, client_id, redirect_uri, code_challenge, resource, scopes, subject, grant_id, issued_at, expires_at)
     VALUES (@hash, @clientId, @redirectUri, @codeChallenge, @resource, @scopes, @subject, @grantId, @issuedAt, @expiresAt)`,
  );
  const use = db.prepare<[number, string]>(
    'UPDATE oauth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL',
  );
  const find = db.prepare<[string], CodeRow>('SELECT * FROM oauth_codes WHERE hash = ?');
  const purge = db.prepare<[number]>('DELETE FROM oauth_codes WHERE expires_at <= ?');
  // The UPDATE decides first use (one row changed); the SELECT in the same transaction reads the record.
  const consume = db.transaction((hash: string, at: number) => {
    const firstUse = use.run(at, hash).changes === 1;
    const row = find.get(hash);
    return row ? { record: toCode(row), firstUse } : undefined;
  });
  return {
    async insert(record) {
      insert.run({ ...record, scopes: JSON.stringify(record.scopes) });
    },
    async consume(hash, at) {
      return consume.immediate(hash, at);
    },
    async purgeExpired(now) {
      return purge.run(now).changes;
    },
  };
}

interface GrantRow {
  id: string;
  client_id: string;
  subject: string;
  resource: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

const toGrant = (row: GrantRow): GrantRecord => ({
  id: row.id,
  clientId: row.client_id,
  subject: row.subject,
  resource: row.resource,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});

interface RefreshTokenRow {
  hash: string;
  grant_id: string;
  client_id: string;
  subject: string;
  resource: string;
  scopes: string;
  issued_at: number;
  expires_at: number;
  used_at: number | null;
}

const toRefreshToken = (row: RefreshTokenRow): RefreshTokenRecord => ({
  hash: row.hash,
  grantId: row.grant_id,
  clientId: row.client_id,
  subject: row.subject,
  resource: row.resource,
  scopes: JSON.parse(row.scopes) as string[],
  issuedAt: row.issued_at,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
});

function sqliteTokenStore(db: Database.Database): TokenStore {
  // An existing grant (revoked by a racing replay) keeps its revocation; only its expiry grows.
  const saveGrant = db.prepare(
    `INSERT INTO oauth_grants (id, client_id, subject, resource, created_at, expires_at, revoked_at)
     VALUES (@id, @clientId, @subject, @resource, @createdAt, @expiresAt, @revokedAt)
     ON CONFLICT (id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
  );
  const findGrant = db.prepare<[string], GrantRow>('SELECT * FROM oauth_grants WHERE id = ?');
  // An unknown grant gets a revoked placeholder; an already revoked one is left as it is.
  const revokeGrant = db.prepare<{ id: string; at: number; keepUntil: number }>(
    `INSERT INTO oauth_grants (id, client_id, subject, resource, created_at, expires_at, revoked_at)
     VALUES (@id, '', '', '', @at, @keepUntil, @at)
     ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = max(expires_at, excluded.expires_at)
     WHERE revoked_at IS NULL`,
  );
  const revokeGrantsOf = db.prepare<[number, string, string]>(
    'UPDATE oauth_grants SET revoked_at = ? WHERE subject = ? AND client_id = ? AND revoked_at IS NULL',
  );
  const insertRefreshToken = db.prepare(
    `INSERT INTO oauth_refresh_tokens (hash, grant_id, client_id, subject, resource, scopes, issued_at, expires_at, used_at)
     VALUES (@hash, @grantId, @clientId, @subject, @resource, @scopes, @issuedAt, @expiresAt, @usedAt)`,
  );
  const findRefreshToken = db.prepare<[string], RefreshTokenRow>(
    'SELECT * FROM oauth_refresh_tokens WHERE hash = ?',
  );
  const useRefreshToken = db.prepare<[number, string]>(
    'UPDATE oauth_refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL',
  );
  const extendGrant = db.prepare<[number, string]>(
    'UPDATE oauth_grants SET expires_at = max(expires_at, ?) WHERE id = ?',
  );
  const deny = db.prepare<[string, number]>(
    `INSERT INTO oauth_denied_tokens (jti, expires_at) VALUES (?, ?)
     ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
  );
  const isRevoked = db.prepare<[string, string], { revoked: number }>(
    `SELECT EXISTS (SELECT 1 FROM oauth_denied_tokens WHERE jti = ?)
         OR EXISTS (SELECT 1 FROM oauth_grants WHERE id = ? AND revoked_at IS NOT NULL) AS revoked`,
  );
  const purgeDenied = db.prepare<[number]>('DELETE FROM oauth_denied_tokens WHERE expires_at <= ?');
  const purgeRefreshTokens = db.prepare<[number]>('DELETE FROM oauth_refresh_tokens WHERE expires_at <= ?');
  const purgeGrants = db.prepare<[number]>('DELETE FROM oauth_grants WHERE expires_at <= ?');

  const toRefreshRow = (record: RefreshTokenRecord) => ({ ...record, scopes: JSON.stringify(record.scopes) });
  const rotate = db.transaction((hash: string, next: RefreshTokenRecord, at: number): boolean => {
    if (useRefreshToken.run(at, hash).changes !== 1) return false;
    insertRefreshToken.run(toRefreshRow(next));
    extendGrant.run(next.expiresAt, next.grantId);
    return true;
  });
  const purge = db.transaction((now: number) => {
    purgeDenied.run(now);
    purgeRefreshTokens.run(now);
    purgeGrants.run(now);
  });

  return {
    async saveGrant(grant) {
      saveGrant.run(grant);
    },
    async findGrant(id) {
      const row = findGrant.get(id);
      return row ? toGrant(row) : undefined;
    },
    async revokeGrant(id, at, keepUntil) {
      revokeGrant.run({ id, at, keepUntil });
    },
    async revokeGrantsOf(subject, clientId, at) {
      return revokeGrantsOf.run(at, subject, clientId).changes;
    },
    async insertRefreshToken(record) {
      insertRefreshToken.run(toRefreshRow(record));
    },
    async findRefreshToken(hash) {
      const row = findRefreshToken.get(hash);
      return row ? toRefreshToken(row) : undefined;
    },
    async rotateRefreshToken(hash, next, at) {
      // IMMEDIATE: the write lock is taken before the check, so a second process waits, then loses.
      return rotate.immediate(hash, next, at);
    },
    async denyAccessToken(jti, expiresAt) {
      deny.run(jti, expiresAt);
    },
    async isAccessTokenRevoked(jti, grantId) {
      return isRevoked.get(jti, grantId)?.revoked === 1;
    },
    async purgeExpired(now) {
      purge(now);
    },
  };
}

interface ConsentRow {
  subject: string;
  client_id: string;
  scopes: string;
  granted_at: number;
}

const toConsent = (row: ConsentRow): ConsentRecord => ({
  subject: row.subject,
  clientId: row.client_id,
  scopes: JSON.parse(row.scopes) as string[],
  grantedAt: row.granted_at,
});

function sqliteConsentStore(db: Database.Database): ConsentStore {
  const find = db.prepare<[string, string], ConsentRow>(
    'SELECT * FROM oauth_consents WHERE subject = ? AND client_id = ?',
  );
  const upsert = db.prepare<[string, string, string, number]>(
    `INSERT INTO oauth_consents (subject, client_id, scopes, granted_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (subject, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
  );
  const revoke = db.prepare<[string, string]>(
    'DELETE FROM oauth_consents WHERE subject = ? AND client_id = ?',
  );
  const all = db.prepare<[], ConsentRow>('SELECT * FROM oauth_consents ORDER BY subject, client_id');
  const ofSubject = db.prepare<[string], ConsentRow>(
    'SELECT * FROM oauth_consents WHERE subject = ? ORDER BY client_id',
  );
  // Read, union and write under the write lock, so two approvals at once both count.
  const remember = db.transaction(
    (subject: string, clientId: string, scopes: readonly string[], at: number) => {
      const existing = find.get(subject, clientId);
      const union = unionScopes(existing ? (JSON.parse(existing.scopes) as string[]) : [], scopes);
      upsert.run(subject, clientId, JSON.stringify(union), at);
    },
  );
  return {
    async covers(subject, clientId, scopes) {
      const row = find.get(subject, clientId);
      return row !== undefined && coversScopes(JSON.parse(row.scopes) as string[], scopes);
    },
    async remember(subject, clientId, scopes, at) {
      remember.immediate(subject, clientId, scopes, at);
    },
    async revoke(subject, clientId) {
      return revoke.run(subject, clientId).changes === 1;
    },
    async list(subject) {
      return (subject === undefined ? all.all() : ofSubject.all(subject)).map(toConsent);
    },
  };
}
