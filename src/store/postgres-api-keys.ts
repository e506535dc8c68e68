/** API keys in the PostgreSQL store (api_keys): found by the keyed hash, revoked by one conditional UPDATE. */
import type { Queryable } from './postgres-pool.js';
import { type ApiKeyRow, toApiKey } from './rows.js';
import type { ApiKeyStore } from './store.js';

export function postgresApiKeyStore(db: Queryable): ApiKeyStore {
  return {
    async insert(record) {
      await db.query(
        `INSERT INTO api_keys (id, name, hash, scopes, roles, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          record.id,
          record.name,
          record.hash,
          record.scopes,
          record.roles,
          record.createdAt,
          record.expiresAt,
        ],
      );
    },
    async findByHash(hash) {
      const { rows } = await db.query<ApiKeyRow>('SELECT * FROM api_keys WHERE hash = $1', [hash]);
      return rows[0] ? toApiKey(rows[0]) : undefined;
    },
    async list() {
      const { rows } = await db.query<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at, id');
      return rows.map(toApiKey);
    },
    async count() {
      const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM api_keys');
      return rows[0]?.n ?? 0;
    },
    async revoke(id, at) {
      const { rowCount } = await db.query(
        'UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL',
        [at, id],
      );
      return rowCount === 1;
    },
    async touch(lastUsed) {
      if (lastUsed.size === 0) return;
      // One statement for the batch; a later time never goes back (another instance may be ahead).
      await db.query(
        `UPDATE api_keys SET last_used_at = greatest(coalesce(api_keys.last_used_at, 0), used.at)
         FROM unnest($1::text[], $2::bigint[]) AS used (id, at) WHERE api_keys.id = used.id`,
        [[...lastUsed.keys()], [...lastUsed.values()]],
      );
    },
  };
}
