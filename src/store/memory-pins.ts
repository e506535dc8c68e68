/** Tool pins kept in memory, for a gateway configured without a store: they last as long as the process. */
import type { PinRecord, PinStore } from './store.js';

export function memoryPinStore(): PinStore {
  const pins = new Map<string, PinRecord>();
  const key = (upstream: string, name: string) => `${upstream}\0${name}`;
  const update = (upstream: string, name: string, change: (pin: PinRecord) => PinRecord) => {
    const pin = pins.get(key(upstream, name));
    if (pin) pins.set(key(upstream, name), change(pin));
    return pin !== undefined;
  };
  return {
    async list(upstream) {
      return [...pins.values()]
        .filter((pin) => upstream === undefined || pin.upstream === upstream)
        .sort((a, b) => `${a.upstream}\0${a.name}`.localeCompare(`${b.upstream}\0${b.name}`));
    },
    async saw(upstream, name, hash, definition, at, approve) {
      const before = pins.get(key(upstream, name));
      pins.set(key(upstream, name), {
        upstream,
        name,
        pinnedHash: approve ? hash : (before?.pinnedHash ?? null),
        pinnedDefinition: approve ? definition : (before?.pinnedDefinition ?? null),
        pinnedAt: approve ? at : (before?.pinnedAt ?? null),
        seenHash: hash,
        seenDefinition: definition,
        seenAt: at,
        rejectedHash: before?.rejectedHash ?? null,
      });
    },
    async approve(upstream, name, at) {
      return update(upstream, name, (pin) => ({
        ...pin,
        pinnedHash: pin.seenHash,
        pinnedDefinition: pin.seenDefinition,
        pinnedAt: at,
        rejectedHash: null,
      }));
    },
    async reject(upstream, name) {
      return update(upstream, name, (pin) => ({ ...pin, rejectedHash: pin.seenHash }));
    },
  };
}
