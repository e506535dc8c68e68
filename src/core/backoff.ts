/** Exponential backoff between attempts: every retry loop of the gateway waits by this one rule. */
export interface Backoff {
  readonly initialDelay: number;
  readonly maxDelay: number;
}

/** The wait before the next attempt after `failures` failures in a row: 0, then doubling to the cap. */
export function backoffDelay(failures: number, backoff: Backoff): number {
  if (failures <= 0) return 0;
  return Math.min(backoff.maxDelay, backoff.initialDelay * 2 ** (failures - 1));
}
