/**
 * Pre-registered (static) OAuth clients in the SQLite store (oauth_clients): added and revoked by
 * the CLI, read by the authorization server; revoking is one conditional UPDATE, so it happens once.
 * Redirect URIs, grant types and scopes are JSON arrays, like api_keys' lists.
 */
import type Database from 'better-sqlite3';
import type { StaticClientStore } from '../oauth/static-clients.js';
import { type ClientRow, toClient } from './rows.js';

export function sqliteStaticClientStore(db: Database.Database): StaticClientStore {
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
