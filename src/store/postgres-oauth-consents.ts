/**
 * Remembered consents in the PostgreSQL store (oauth_consents). A new approval is unioned in by one
 * upsert, under the row's lock, so two approvals at once (on two instances) both count. The union
 * is sorted by code point (COLLATE "C"), as unionScopes sorts.
 */
import { type ConsentStore, coversScopes } from '../oauth/consents.js';
import type { Queryable } from './postgres-pool.js';
import { type ConsentRow, toConsent } from './rows.js';

export function postgresConsentStore(db: Queryable): ConsentStore {
  return {
    async covers(subject, clientId, scopes) {
      const { rows } = await db.query<ConsentRow>(
        'SELECT * FROM oauth_consents WHERE subject = $1 AND client_id = $2',
        [subject, clientId],
      );
      return rows[0] !== undefined && coversScopes(toConsent(rows[0]).scopes, scopes);
    },
    async remember(subject, clientId, scopes, at) {
      await db.query(
        `INSERT INTO oauth_consents AS c (subject, client_id, scopes, granted_at)
         VALUES ($1, $2, ARRAY(SELECT s FROM unnest($3::text[]) AS s GROUP BY s ORDER BY s COLLATE "C"), $4)
         ON CONFLICT (subject, client_id) DO UPDATE SET
           scopes = ARRAY(SELECT s FROM unnest(c.scopes || excluded.scopes) AS s GROUP BY s ORDER BY s COLLATE "C"),
           granted_at = excluded.granted_at`,
        [subject, clientId, scopes, at],
      );
    },
    async revoke(subject, clientId) {
      const { rowCount } = await db.query(
        'DELETE FROM oauth_consents WHERE subject = $1 AND client_id = $2',
        [subject, clientId],
      );
      return rowCount === 1;
    },
    async list(subject) {
      const { rows } =
        subject === undefined
          ? await db.query<ConsentRow>(
              'SELECT * FROM oauth_consents ORDER BY subject COLLATE "C", client_id COLLATE "C"',
            )
          : await db.query<ConsentRow>(
              'SELECT * FROM oauth_consents WHERE subject = $1 ORDER BY client_id COLLATE "C"',
              [subject],
            );
      return rows.map(toConsent);
    },
  };
}
