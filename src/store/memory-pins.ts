/** Pins kept in memory, for a gateway configured without a store: they last as long as the process. */
import { afterSeeing } from './pin-record.js';
import type { PinKey, PinRecord, PinStore } from './store.js';

export function memoryPinStore(): PinStore {
  const pins = new Map<string, PinRecord>();
  const id = (key: PinKey) => `${key.upstream}\0${key.kind}\0${key.name}`;
  const update = (key: PinKey, change: (pin: PinRecord) => PinRecord) => {
    const pin = pins.get(id(key));
    if (pin) pins.set(id(key), change(pin));
    return pin !== undefined;
  };
  return {
    async list(upstream) {
      return [...pins.entries()]
        .filter(([, pin]) => upstream === undefined || pin.upstream === upstream)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([, pin]) => pin);
    },
    async saw(key, seen, approve) {
      pins.set(id(key), afterSeeing(pins.get(id(key)), key, seen, approve));
    },
    async approve(key, at) {
      return update(key, (pin) => ({
        ...pin,
        pinnedHash: pin.seenHash,
        pinnedDefinition: pin.seenDefinition,
        pinnedAt: at,
        rejectedHash: null,
      }));
    },
    async reject(key) {
      return update(key, (pin) => ({ ...pin, rejectedHash: pin.seenHash }));
    },
  };
}
