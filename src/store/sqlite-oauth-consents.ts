/**
 * Remembered consents in the SQLite store (oauth_consents), one row per user and client with the
 * scopes as a JSON array; a new approval is unioned in under the write lock, so two at once both count.
 */
import type Database from 'better-sqlite3';
import { type ConsentStore, coversScopes, unionScopes } from '../oauth/consents.js';
import { type ConsentRow, list, toConsent } from './rows.js';

export function sqliteConsentStore(db: Database.Database): ConsentStore {
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
      const union = unionScopes(existing ? list(existing.scopes) : [], scopes);
      upsert.run(subject, clientId, JSON.stringify(union), at);
    },
  );
  return {
    async covers(subject, clientId, scopes) {
      const row = find.get(subject, clientId);
      return row !== undefined && coversScopes(list(row.scopes), scopes);
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
