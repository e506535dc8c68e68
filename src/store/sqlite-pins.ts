/** Tool pins in the SQLite store (table tool_pins, migration 5). */
import type Database from 'better-sqlite3';
import type { PinRecord, PinStore } from './store.js';

interface PinRow {
  upstream: string;
  name: string;
  pinned_hash: string | null;
  pinned_definition: string | null;
  pinned_at: number | null;
  seen_hash: string;
  seen_definition: string;
  seen_at: number;
  rejected_hash: string | null;
}

const toRecord = (row: PinRow): PinRecord => ({
  upstream: row.upstream,
  name: row.name,
  pinnedHash: row.pinned_hash,
  pinnedDefinition: row.pinned_definition,
  pinnedAt: row.pinned_at,
  seenHash: row.seen_hash,
  seenDefinition: row.seen_definition,
  seenAt: row.seen_at,
  rejectedHash: row.rejected_hash,
});

export function sqlitePinStore(db: Database.Database): PinStore {
  const all = db.prepare<[], PinRow>('SELECT * FROM tool_pins ORDER BY upstream, name');
  const ofUpstream = db.prepare<[string], PinRow>('SELECT * FROM tool_pins WHERE upstream = ? ORDER BY name');
  const saw = db.prepare(
    `INSERT INTO tool_pins (upstream, name, pinned_hash, pinned_definition, pinned_at, seen_hash, seen_definition, seen_at)
     VALUES (@upstream, @name, @pinnedHash, @pinnedDefinition, @pinnedAt, @hash, @definition, @at)
     ON CONFLICT (upstream, name) DO UPDATE SET
       seen_hash = excluded.seen_hash, seen_definition = excluded.seen_definition, seen_at = excluded.seen_at,
       pinned_hash = coalesce(excluded.pinned_hash, pinned_hash),
       pinned_definition = coalesce(excluded.pinned_definition, pinned_definition),
       pinned_at = coalesce(excluded.pinned_at, pinned_at)`,
  );
  const approve = db.prepare(
    `UPDATE tool_pins SET pinned_hash = seen_hash, pinned_definition = seen_definition, pinned_at = ?,
       rejected_hash = NULL WHERE upstream = ? AND name = ?`,
  );
  const reject = db.prepare('UPDATE tool_pins SET rejected_hash = seen_hash WHERE upstream = ? AND name = ?');
  return {
    async list(upstream) {
      return (upstream === undefined ? all.all() : ofUpstream.all(upstream)).map(toRecord);
    },
    async saw(upstream, name, hash, definition, at, approved) {
      saw.run({
        upstream,
        name,
        hash,
        definition,
        at,
        pinnedHash: approved ? hash : null,
        pinnedDefinition: approved ? definition : null,
        pinnedAt: approved ? at : null,
      });
    },
    async approve(upstream, name, at) {
      return approve.run(at, upstream, name).changes === 1;
    },
    async reject(upstream, name) {
      return reject.run(upstream, name).changes === 1;
    },
  };
}
