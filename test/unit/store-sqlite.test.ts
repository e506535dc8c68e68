/** The store contract (store-contract.ts) run against SQLite: each test a fresh file, each instance a connection. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { storeContract } from './store-contract.js';

storeContract({
  name: 'SQLite',
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'pcl-store-'));
    return {
      open: async () => openSqliteStore(join(dir, 'p.db')),
      remove: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
