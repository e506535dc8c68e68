/** Pins in the SQLite store (table tool_pins, migration 5). */
import type Database from 'better-sqlite3';
import { type PinRow, pinKeyParams, toPin } from './rows.js';
import type { PinStore } from './store.js';

export function sqlitePinStore(db: Database.Database): PinStore {
  const all = db.prepare<[], PinRow>('SELECT * FROM tool_pins ORDER BY upstream, kind, name');
  const ofUpstream = db.prepare<[string], PinRow>(
    'SELECT * FROM tool_pins WHERE upstream = ? ORDER BY kind, name',
  );
  const saw = db.prepare(
    `INSERT INTO tool_pins (upstream, kind, name, pinned_hash, pinned_definition, pinned_at, seen_hash, seen_definition, seen_at)
     VALUES (@upstream, @kind, @name, @pinnedHash, @pinnedDefinition, @pinnedAt, @hash, @definition, @at)
     ON CONFLICT (upstream, kind, name) DO UPDATE SET
       seen_hash = excluded.seen_hash, seen_definition = excluded.seen_definition, seen_at = excluded.seen_at,
       pinned_hash = coalesce(excluded.pinned_hash, pinned_hash),
       pinned_definition = coalesce(excluded.pinned_definition, pinned_definition),
       pinned_at = coalesce(excluded.pinned_at, pinned_at)`,
  );
  const approve = db.prepare(
    `UPDATE tool_pins SET pinned_hash = seen_hash, pinned_definition = seen_definition, pinned_at = @at,
       rejected_hash = NULL WHERE upstream = @upstream AND kind = @kind AND name = @name`,
  );
  const reject = db.prepare(
    'UPDATE tool_pins SET rejected_hash = seen_hash WHERE upstream = @upstream AND kind = @kind AND name = @name',
  );
  return {
    async list(upstream) {
      return (upstream === undefined ? all.all() : ofUpstream.all(upstream)).map(toPin);
    },
    async saw(key, seen, approved) {
      saw.run({
        ...pinKeyParams(key),
        hash: seen.hash,
        definition: seen.definition,
        at: seen.at,
        pinnedHash: approved ? seen.hash : null,
        pinnedDefinition: approved ? seen.definition : null,
        pinnedAt: approved ? seen.at : null,
      });
    },
    async approve(key, at) {
      return approve.run({ ...pinKeyParams(key), at }).changes === 1;
    },
    async reject(key) {
      return reject.run(pinKeyParams(key)).changes === 1;
    },
  };
}
