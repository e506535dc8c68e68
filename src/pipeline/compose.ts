/**
 * The onion every request goes through: each stage is `(ctx, next)`, checks before `await next()`,
 * work on the way back after it. A stage that throws ends the request; nothing inside it runs.
 * Hand-written (a dozen lines) because the frameworks that have one (hono, koa) bring a router and
 * a request model the gateway does not use.
 */
export type Next = () => Promise<void>;
export type Stage<C> = (ctx: C, next: Next) => Promise<void>;

export function compose<C>(stages: readonly Stage<C>[]): (ctx: C) => Promise<void> {
  return (ctx) => {
    let called = -1;
    const dispatch = async (i: number): Promise<void> => {
      // A stage that calls next twice would run the rest of the pipeline twice: refuse it.
      if (i <= called) throw new Error(`pipeline stage ${i - 1} called next() twice`);
      called = i;
      const stage = stages[i];
      if (stage) await stage(ctx, () => dispatch(i + 1));
    };
    return dispatch(0);
  };
}

/** A stage that only checks: it runs `check`, then the rest of the pipeline. */
export function check<C>(run: (ctx: C) => void | Promise<void>): Stage<C> {
  return async (ctx, next) => {
    await run(ctx);
    await next();
  };
}
