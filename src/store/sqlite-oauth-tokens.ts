/**
 * Grants, refresh tokens and denied access tokens in the SQLite store (oauth_grants,
 * oauth_refresh_tokens, oauth_denied_tokens). Rotating a refresh token is a conditional UPDATE
 * under the write lock, so it is used once even across processes; a revoked grant stays revoked.
 */
import type Database from 'better-sqlite3';
import type { RefreshTokenRecord, TokenStore } from '../oauth/token-store.js';
import { type GrantRow, type RefreshTokenRow, toGrant, toRefreshToken } from './rows.js';

export function sqliteTokenStore(db: Database.Database): TokenStore {
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
