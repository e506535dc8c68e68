/**
 * Grants, refresh tokens and denied access tokens in the PostgreSQL store (oauth_grants,
 * oauth_refresh_tokens, oauth_denied_tokens). Rotating a refresh token is one statement whose
 * conditional UPDATE decides it: of two instances rotating one token at once, the second waits for
 * the first's row lock, then finds it used and writes nothing (reuse, which revokes the grant). A
 * revoked grant stays revoked whatever a racing redemption saves.
 */
import type { RefreshTokenRecord, TokenStore } from '../oauth/token-store.js';
import type { Queryable } from './postgres-pool.js';
import { type GrantRow, type RefreshTokenRow, toGrant, toRefreshToken } from './rows.js';

const refreshParams = (r: RefreshTokenRecord): unknown[] => [
  r.hash,
  r.grantId,
  r.clientId,
  r.subject,
  r.resource,
  r.scopes,
  r.issuedAt,
  r.expiresAt,
  r.usedAt,
];

const INSERT_REFRESH = `INSERT INTO oauth_refresh_tokens (hash, grant_id, client_id, subject, resource, scopes, issued_at, expires_at, used_at)`;

export function postgresTokenStore(db: Queryable): TokenStore {
  return {
    async saveGrant(grant) {
      // An existing grant (revoked by a racing replay) keeps its revocation; only its expiry grows.
      await db.query(
        `INSERT INTO oauth_grants AS g (id, client_id, subject, resource, created_at, expires_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET expires_at = greatest(g.expires_at, excluded.expires_at)`,
        [
          grant.id,
          grant.clientId,
          grant.subject,
          grant.resource,
          grant.createdAt,
          grant.expiresAt,
          grant.revokedAt,
        ],
      );
    },
    async findGrant(id) {
      const { rows } = await db.query<GrantRow>('SELECT * FROM oauth_grants WHERE id = $1', [id]);
      return rows[0] ? toGrant(rows[0]) : undefined;
    },
    async revokeGrant(id, at, keepUntil) {
      // An unknown grant gets a revoked placeholder; an already revoked one is left as it is.
      await db.query(
        `INSERT INTO oauth_grants AS g (id, client_id, subject, resource, created_at, expires_at, revoked_at)
         VALUES ($1, '', '', '', $2, $3, $2)
         ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at,
           expires_at = greatest(g.expires_at, excluded.expires_at)
         WHERE g.revoked_at IS NULL`,
        [id, at, keepUntil],
      );
    },
    async revokeGrantsOf(subject, clientId, at) {
      const { rowCount } = await db.query(
        'UPDATE oauth_grants SET revoked_at = $1 WHERE subject = $2 AND client_id = $3 AND revoked_at IS NULL',
        [at, subject, clientId],
      );
      return rowCount ?? 0;
    },
    async insertRefreshToken(record) {
      await db.query(`${INSERT_REFRESH} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, refreshParams(record));
    },
    async findRefreshToken(hash) {
      const { rows } = await db.query<RefreshTokenRow>('SELECT * FROM oauth_refresh_tokens WHERE hash = $1', [
        hash,
      ]);
      return rows[0] ? toRefreshToken(rows[0]) : undefined;
    },
    async rotateRefreshToken(hash, next, at) {
      // One statement, so one snapshot and all or nothing: the successor and the grant's new expiry
      // are written only when this call marked the token used.
      const { rows } = await db.query<{ rotated: boolean }>(
        `WITH used AS (
           UPDATE oauth_refresh_tokens SET used_at = $10::bigint WHERE hash = $11 AND used_at IS NULL RETURNING hash
         ), successor AS (
           ${INSERT_REFRESH}
           SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text[], $7::bigint, $8::bigint, $9::bigint
           WHERE EXISTS (SELECT 1 FROM used)
         ), extended AS (
           UPDATE oauth_grants SET expires_at = greatest(expires_at, $8::bigint)
           WHERE id = $2::text AND EXISTS (SELECT 1 FROM used)
         )
         SELECT EXISTS (SELECT 1 FROM used) AS rotated`,
        [...refreshParams(next), at, hash],
      );
      return rows[0]?.rotated === true;
    },
    async denyAccessToken(jti, expiresAt) {
      await db.query(
        `INSERT INTO oauth_denied_tokens AS d (jti, expires_at) VALUES ($1, $2)
         ON CONFLICT (jti) DO UPDATE SET expires_at = greatest(d.expires_at, excluded.expires_at)`,
        [jti, expiresAt],
      );
    },
    async isAccessTokenRevoked(jti, grantId) {
      const { rows } = await db.query<{ revoked: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM oauth_denied_tokens WHERE jti = $1)
             OR EXISTS (SELECT 1 FROM oauth_grants WHERE id = $2 AND revoked_at IS NOT NULL) AS revoked`,
        [jti, grantId],
      );
      return rows[0]?.revoked === true;
    },
    async purgeExpired(now) {
      await db.query(
        `WITH denied AS (DELETE FROM oauth_denied_tokens WHERE expires_at <= $1),
              refresh AS (DELETE FROM oauth_refresh_tokens WHERE expires_at <= $1)
         DELETE FROM oauth_grants WHERE expires_at <= $1`,
        [now],
      );
    },
  };
}
