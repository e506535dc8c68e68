/**
 * The long fuzz run: `npm run fuzz -- --minutes N [--out FILE] [--seed S]`. Time-sliced over every
 * target (test/fuzz/targets.ts) in turn, each slice sized to take about two seconds with a fresh
 * seed; a progress line every minute; every counterexample written to FILE (default
 * fuzz-counterexamples.json) as it is found, with the seed and path that replay it. A target that
 * failed is not run again. Exits 1 when any target failed, except the pending ones (known findings
 * another change fixes), which are reported apart.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeFailure, type FuzzTarget, type Outcome } from './target.js';
import { openTargets } from './targets.js';

const SLICE_MS = 2000;
const MINUTE = 60_000;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    out: { type: 'string', default: 'fuzz-counterexamples.json' },
    seed: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0) {
  process.stderr.write(`--minutes must be a positive number of minutes, not ${values.minutes}\n`);
  process.exit(2);
}
const out = resolve(values.out);
let seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);

interface Tally {
  readonly target: FuzzTarget;
  runs: number;
  sliceRuns: number;
  failure?: Outcome;
}

const { targets, close } = await openTargets();
const tallies: Tally[] = targets.map((target) => ({
  target,
  runs: 0,
  sliceRuns: Math.max(10, target.runs / 4),
}));
const found: object[] = [];
const started = Date.now();
const deadline = started + minutes * MINUTE;
let lastReport = started;

const total = () => tallies.reduce((sum, t) => sum + t.runs, 0);
const failedCount = () => tallies.filter((t) => t.failure && !t.target.pending).length;
const pendingCount = () => tallies.filter((t) => t.failure && t.target.pending).length;

function report(final: boolean): void {
  const elapsed = ((Date.now() - started) / MINUTE).toFixed(1);
  process.stdout.write(
    `${final ? 'done' : 'progress'} at ${elapsed} min: ${total()} executions, ${failedCount()} failed, ${pendingCount()} pending failures\n`,
  );
  if (!final) return;
  for (const t of tallies) {
    const state = t.failure ? (t.target.pending ? `failed (pending: ${t.target.pending})` : 'FAILED') : 'ok';
    process.stdout.write(`  ${String(t.runs).padStart(9)}  ${state.padEnd(6)}  ${t.target.name}\n`);
  }
}

process.stdout.write(`fuzzing ${targets.length} targets for ${minutes} min, first seed ${seed}\n`);
try {
  while (Date.now() < deadline) {
    const live = tallies.filter((t) => !t.failure);
    if (live.length === 0) break;
    for (const t of live) {
      if (Date.now() >= deadline) break;
      const sliceStart = Date.now();
      const outcome = await t.target.check({ numRuns: Math.round(t.sliceRuns), seed: seed++ });
      const took = Math.max(1, Date.now() - sliceStart);
      t.runs += outcome.runs;
      // Size the next slice to take about SLICE_MS.
      t.sliceRuns = Math.min(1e6, Math.max(1, (t.sliceRuns * SLICE_MS) / took));
      if (outcome.failed) {
        t.failure = outcome;
        found.push({ target: t.target.name, pending: t.target.pending ?? null, ...outcome });
        writeFileSync(out, `${JSON.stringify(found, null, 2)}\n`);
        process.stdout.write(`${describeFailure(t.target.name, outcome)}\n(written to ${out})\n`);
      }
      if (Date.now() - lastReport >= MINUTE) {
        lastReport = Date.now();
        report(false);
      }
    }
  }
} finally {
  close();
}
report(true);
process.exit(failedCount() > 0 ? 1 : 0);
