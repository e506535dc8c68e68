/**
 * One fuzz target: a fast-check property over one parser or guard, and what a run of it found.
 * Both the time-sliced runner (run.ts) and the short run in `npm test` (test/unit/fuzz.test.ts) go
 * through `check`, so a counterexample reads the same in either.
 */
import fc from 'fast-check';

export interface Outcome {
  readonly failed: boolean;
  /** Inputs tried (up to and including the failing one). */
  readonly runs: number;
  readonly seed: number;
  /** fast-check's replay path: `fc.assert(property, { seed, path })` reruns the shrunk counterexample. */
  readonly path?: string;
  readonly counterexample?: string;
  readonly error?: string;
}

export interface FuzzTarget {
  readonly name: string;
  /** Runs in `npm test`: enough to exercise every branch of the generators, sized to the target's cost. */
  readonly runs: number;
  /** A known finding another change fixes: its failures are reported, not counted. */
  readonly pending?: string;
  check(options: { readonly numRuns: number; readonly seed: number }): Promise<Outcome>;
}

export function target<Ts>(
  name: string,
  runs: number,
  property: fc.IRawProperty<Ts>,
  pending?: string,
): FuzzTarget {
  return {
    name,
    runs,
    ...(pending ? { pending } : {}),
    async check({ numRuns, seed }) {
      const details = await fc.check(property, { numRuns, seed });
      if (!details.failed) return { failed: false, runs: details.numRuns, seed };
      const error = details.errorInstance;
      return {
        failed: true,
        runs: details.numRuns,
        seed,
        path: details.counterexamplePath ?? undefined,
        counterexample: fc.stringify(details.counterexample),
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } as Outcome;
    },
  };
}

/** A readable one-paragraph account of a failure, with what reruns it. */
export function describeFailure(name: string, outcome: Outcome): string {
  return [
    `fuzz target "${name}" failed after ${outcome.runs} inputs (seed ${outcome.seed}, path ${outcome.path ?? '-'})`,
    `counterexample: ${outcome.counterexample ?? '?'}`,
    `error: ${outcome.error ?? '?'}`,
  ].join('\n');
}
