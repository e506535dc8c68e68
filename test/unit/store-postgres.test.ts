/**
 * The store contract (store-contract.ts) run against PostgreSQL — each test a fresh database, each
 * instance its own pool — then what only PostgreSQL has: migrations racing under the advisory
 * lock, the schema checks, and the store lost and back.
 */
import { openPostgresStore } from '../../src/store/postgres.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { storeContract } from './store-contract.js';

storeContract({
  name: 'PostgreSQL',
  async fresh() {
    const db = await createTestDatabase();
    return {
      open: () => openPostgresStore({ config: db.config(), baseDir: process.cwd() }),
      remove: () => db.drop(),
    };
  },
});
