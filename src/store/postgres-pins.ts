/** Pins in the PostgreSQL store (tool_pins): the same upserts as SQLite's, so first sight and approval agree. */
import type { Queryable } from './postgres-pool.js';
import { type PinRow, toPin } from './rows.js';
import type { PinKey, PinStore } from './store.js';

export function postgresPinStore(db: Queryable): PinStore {
  const byKey = 'upstream = $1 AND kind = $2 AND name = $3';
  // Only the key's own fields: callers may pass a whole PinRecord as the key.
  const key = ({ upstream, kind, name }: PinKey) => [upstream, kind, name];
  return {
    async list(upstream) {
      const { rows } =
        upstream === undefined
          ? await db.query<PinRow>(
              'SELECT * FROM tool_pins ORDER BY upstream COLLATE "C", kind COLLATE "C", name COLLATE "C"',
            )
          : await db.query<PinRow>(
              'SELECT * FROM tool_pins WHERE upstream = $1 ORDER BY kind COLLATE "C", name COLLATE "C"',
              [upstream],
            );
      return rows.map(toPin);
    },
    async saw(k, seen, approve) {
      await db.query(
        `INSERT INTO tool_pins AS p (upstream, kind, name, pinned_hash, pinned_definition, pinned_at, seen_hash, seen_definition, seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (upstream, kind, name) DO UPDATE SET
           seen_hash = excluded.seen_hash, seen_definition = excluded.seen_definition, seen_at = excluded.seen_at,
           pinned_hash = coalesce(excluded.pinned_hash, p.pinned_hash),
           pinned_definition = coalesce(excluded.pinned_definition, p.pinned_definition),
           pinned_at = coalesce(excluded.pinned_at, p.pinned_at)`,
        [
          ...key(k),
          approve ? seen.hash : null,
          approve ? seen.definition : null,
          approve ? seen.at : null,
          seen.hash,
          seen.definition,
          seen.at,
        ],
      );
    },
    async approve(k, at) {
      const { rowCount } = await db.query(
        `UPDATE tool_pins SET pinned_hash = seen_hash, pinned_definition = seen_definition, pinned_at = $4,
           rejected_hash = NULL WHERE ${byKey}`,
        [...key(k), at],
      );
      return rowCount === 1;
    },
    async reject(k) {
      const { rowCount } = await db.query(
        `UPDATE tool_pins SET rejected_hash = seen_hash WHERE ${byKey}`,
        key(k),
      );
      return rowCount === 1;
    },
  };
}
