/**
 * Every fuzz target (test/fuzz/targets.ts) for a short run: a few hundred inputs each, about a
 * minute in all. The seed is fixed so a failure here reproduces; `npm run fuzz -- --minutes N`
 * explores with fresh seeds. A target marked pending (a known finding another change fixes) runs
 * as a todo: its failure is shown, not counted.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { describeFailure } from '../fuzz/target.js';
import { openTargets } from '../fuzz/targets.js';

const SEED = 20261204;

const opened = await openTargets();

describe('fuzz targets (short run, fixed seed)', () => {
  after(() => opened.close());
  for (const t of opened.targets) {
    it(t.name, t.pending ? { todo: t.pending } : {}, async () => {
      const outcome = await t.check({ numRuns: t.runs, seed: SEED });
      assert.ok(!outcome.failed, describeFailure(t.name, outcome));
    });
  }
});
