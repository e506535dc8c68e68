/**
 * Concurrency caps: at most `limit` requests in flight per key (a principal, an upstream); a request
 * beyond that waits up to `queueMs` for a slot, then is refused. Written by hand because it is a
 * counting semaphore with a timed FIFO queue — a dozen lines — and the rate-limit library's queue
 * counts calls per window, not calls in flight.
 */
export class ConcurrencyGate {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(
    readonly limit: number,
    private readonly queueMs: number,
  ) {}

  /** Resolves with a release function, or with undefined when no slot came free in time. */
  async acquire(key: string): Promise<(() => void) | undefined> {
    if ((this.active.get(key) ?? 0) < this.limit) return this.take(key);
    const queue = this.waiting.get(key) ?? [];
    this.waiting.set(key, queue);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(this.take(key));
      };
      const timer = setTimeout(() => {
        queue.splice(queue.indexOf(wake), 1);
        if (queue.length === 0) this.waiting.delete(key);
        resolve(undefined);
      }, this.queueMs);
      queue.push(wake);
    });
  }

  inFlight(key: string): number {
    return this.active.get(key) ?? 0;
  }

  private take(key: string): () => void {
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.get(key)?.shift();
      if (next) {
        // The slot passes straight to the next waiter.
        this.active.set(key, (this.active.get(key) ?? 1) - 1);
        next();
        return;
      }
      if (this.waiting.get(key)?.length === 0) this.waiting.delete(key);
      const left = (this.active.get(key) ?? 1) - 1;
      if (left > 0) this.active.set(key, left);
      else this.active.delete(key);
    };
  }
}
