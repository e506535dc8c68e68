/**
 * Pre-registered (static) OAuth clients in the SQLite store (oauth_clients): added and revoked by
 * the CLI, read by the authorization server; revoking is one conditional UPDATE, so it happens once.
 * Redirect URIs, grant types and scopes are JSON arrays, like api_keys' lists.
 */
import type Database from 'better-sqlite3';
import type { GrantType, TokenEndpointAuthMethod } from '../oauth/client-metadata.js';
import type { StaticClientRecord, StaticClientStore } from '../oauth/static-clients.js';

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
