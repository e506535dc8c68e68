/** Opens the config's store for a CLI command, or says why it cannot (and what to check) and exits 1. */
import type { Config } from '../config/schema.js';
import { describeStore, type OpenedStore, openExistingStore, openStore } from '../store/open.js';

export async function openStoreOrExit(config: Config, baseDir: string): Promise<OpenedStore> {
  try {
    return await openStore(config, baseDir);
  } catch (err) {
    return cannotOpen(err, config, baseDir);
  }
}

/** The store when it exists (a command that only reads must not create one); exits 1 otherwise. */
export async function openExistingStoreOrExit(config: Config, baseDir: string): Promise<OpenedStore> {
  let opened: OpenedStore | undefined;
  try {
    opened = await openExistingStore(config, baseDir);
  } catch (err) {
    return cannotOpen(err, config, baseDir);
  }
  if (opened) return opened;
  process.stderr.write(
    `portcullis: no store at ${describeStore(config, baseDir)} — the gateway creates it on its first start (check store.sqlite and --config)\n`,
  );
  process.exit(1);
}

function cannotOpen(err: unknown, config: Config, baseDir: string): never {
  process.stderr.write(
    `portcullis: cannot open the store ${describeStore(config, baseDir)}: ${(err as Error).message}\n`,
  );
  process.exit(1);
}
