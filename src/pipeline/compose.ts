/**
 * The onion every request goes through: each stage is `(ctx, next)`, checks before `await next()`,
 * work on the way back after it. A stage that throws ends the request; nothing inside it runs.
 * Hand-written (a dozen lines) because the frameworks that have one (hono, koa) bring a router and
 * a request model the gateway does not use.
 */
export type Next<R = void> = () => Promise<R>;
/** A stage over context `C`; `R` is what the pipeline answers (nothing for HTTP, a response for a call). */
export type Stage<C, R = void> = (ctx: C, next: Next<R>) => Promise<R>;

/**
 * The stages as one function. The last stage answers without calling next; a pipeline whose last
 * stage does call it ends with `end` (by default: nothing).
 */
export function compose<C, R = void>(
  stages: readonly Stage<C, R>[],
  end?: (ctx: C) => Promise<R>,
): (ctx: C) => Promise<R> {
  return (ctx) => {
    let called = -1;
    // Not async: each stage's promise is handed on as it is, so a request held open (a GET stream)
    // keeps only the stages that wait for it alive, not a suspended frame per stage.
    const dispatch = (i: number): Promise<R> => {
      // A stage that calls next twice would run the rest of the pipeline twice: refuse it.
      if (i <= called) return Promise.reject(new Error(`pipeline stage ${i - 1} called next() twice`));
      called = i;
      const stage = stages[i];
      try {
        if (stage) return stage(ctx, () => dispatch(i + 1));
        return end ? end(ctx) : Promise.resolve(undefined as R);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    return dispatch(0);
  };
}

/** A stage that only checks: it runs `check`, then the rest of the pipeline. */
export function check<C>(run: (ctx: C) => void | Promise<void>): Stage<C> {
  return async (ctx, next) => {
    await run(ctx);
    return next();
  };
}
