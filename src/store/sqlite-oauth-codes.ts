/**
 * Authorization codes in the SQLite store (oauth_codes), by hash: consuming one is a conditional
 * UPDATE and a read in one transaction, so a code is used once even by two processes sharing the
 * file, and a second use is seen (to revoke the grant).
 */
import type Database from 'better-sqlite3';
import type { AuthorizationCodeStore } from '../oauth/codes.js';
import { type CodeRow, toCode } from './rows.js';

export function sqliteAuthorizationCodeStore(db: Database.Database): AuthorizationCodeStore {
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
