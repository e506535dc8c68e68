/**
 * Authorization codes in the PostgreSQL store (oauth_codes), by hash. Consuming one is a single
 * statement: a conditional UPDATE decides first use and the same statement reads the record. Two
 * instances redeeming one code at once both reach the row; the second UPDATE waits for the first
 * to commit, then finds used_at set and changes nothing — so exactly one sees firstUse, and the
 * other reports the replay (whose grant the caller revokes).
 */
import type { AuthorizationCodeStore } from '../oauth/codes.js';
import type { Queryable } from './postgres-pool.js';
import { type CodeRow, toCode } from './rows.js';

export function postgresAuthorizationCodeStore(db: Queryable): AuthorizationCodeStore {
  return {
    async insert(record) {
      await db.query(
        `INSERT INTO oauth_codes (hash, client_id, redirect_uri, code_challenge, resource, scopes, subject, grant_id, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          record.hash,
          record.clientId,
          record.redirectUri,
          record.codeChallenge,
          record.resource,
          record.scopes,
          record.subject,
          record.grantId,
          record.issuedAt,
          record.expiresAt,
        ],
      );
    },
    async consume(hash, at) {
      const { rows } = await db.query<CodeRow & { first_use: boolean }>(
        `WITH used AS (UPDATE oauth_codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL RETURNING hash)
         SELECT oauth_codes.*, EXISTS (SELECT 1 FROM used) AS first_use FROM oauth_codes WHERE hash = $1`,
        [hash, at],
      );
      const row = rows[0];
      return row ? { record: toCode(row), firstUse: row.first_use } : undefined;
    },
    async purgeExpired(now) {
      const { rowCount } = await db.query('DELETE FROM oauth_codes WHERE expires_at <= $1', [now]);
      return rowCount ?? 0;
    },
  };
}
