/** A wait bounded for an aggregated endpoint's fan-out: one slow upstream must not hold the others. */
export class DeadlineMissed extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'DeadlineMissed';
  }
}

/** `work`, or DeadlineMissed after `ms` (the work goes on; `late` gets what it brings after all). */
export async function withDeadline<T>(work: Promise<T>, ms: number, late?: (value: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let missed = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      missed = true;
      reject(new DeadlineMissed(ms));
    }, ms);
  });
  if (late) work.then((value) => missed && late(value)).catch(() => {});
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
