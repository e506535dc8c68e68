/**
 * The requests still being handled when the gateway stops. close() lets them settle (the channels
 * are closed first, so their calls end at once) before gateway.stop is written, so the audit trail
 * ends with gateway.stop and holds every decision made before it.
 */
import type { Logger } from '../log/logger.js';

export class Drain {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly logger: Logger) {}

  track(work: Promise<unknown>): void {
    this.pending.add(work);
    const done = () => this.pending.delete(work);
    work.then(done, done);
  }

  /** Waits up to `timeoutMs` for every tracked request; logs how many did not settle in time. */
  async settle(timeoutMs: number): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([Promise.allSettled([...this.pending]), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout')
      this.logger.warn({ pending: this.pending.size }, 'requests still in flight when the gateway stopped');
  }
}
