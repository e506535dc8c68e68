/**
 * Pre-registered (static) OAuth clients in the PostgreSQL store (oauth_clients): added and revoked
 * by the CLI, read by every instance on each use, so a revocation holds fleet-wide at once.
 */
import type { StaticClientStore } from '../oauth/static-clients.js';
import type { Queryable } from './postgres-pool.js';
import { type ClientRow, toClient } from './rows.js';

export function postgresStaticClientStore(db: Queryable): StaticClientStore {
  return {
    async insert(record) {
      await db.query(
        `INSERT INTO oauth_clients (client_id, name, secret_hash, token_endpoint_auth_method, redirect_uris, grant_types, scopes, created_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          record.clientId,
          record.name,
          record.secretHash,
          record.tokenEndpointAuthMethod,
          record.redirectUris,
          record.grantTypes,
          record.scopes,
          record.createdAt,
          record.revokedAt,
        ],
      );
    },
    async find(clientId) {
      const { rows } = await db.query<ClientRow>('SELECT * FROM oauth_clients WHERE client_id = $1', [
        clientId,
      ]);
      return rows[0] ? toClient(rows[0]) : undefined;
    },
    async list() {
      const { rows } = await db.query<ClientRow>('SELECT * FROM oauth_clients ORDER BY created_at, position');
      return rows.map(toClient);
    },
    async revoke(clientId, at) {
      const { rowCount } = await db.query(
        'UPDATE oauth_clients SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL',
        [at, clientId],
      );
      return rowCount === 1;
    },
  };
}
