/**
 * A pin after the gateway saw a definition: the one seen is recorded; it becomes the pinned one only
 * when approved (first sight in `record` mode); a rejection stands. The rule every pin store and the
 * pins' in-memory view follow, as the SQLite store's upsert does.
 */
import type { PinKey, PinRecord, Seen } from './store.js';

export function afterSeeing(
  before: PinRecord | undefined,
  key: PinKey,
  seen: Seen,
  approve: boolean,
): PinRecord {
  return {
    upstream: key.upstream,
    kind: key.kind,
    name: key.name,
    pinnedHash: approve ? seen.hash : (before?.pinnedHash ?? null),
    pinnedDefinition: approve ? seen.definition : (before?.pinnedDefinition ?? null),
    pinnedAt: approve ? seen.at : (before?.pinnedAt ?? null),
    seenHash: seen.hash,
    seenDefinition: seen.definition,
    seenAt: seen.at,
    rejectedHash: before?.rejectedHash ?? null,
  };
}
