/**
 * Rate-limit refusals of one budget, client IP, principal and tool are recorded once per window:
 * the first goes to the trail, the rest are only counted (and still reach the metrics), and when
 * the window ends one summary event carries the count. A flood from many addresses closes windows
 * early rather than growing without bound.
 */
import type { AuditEvent, AuditEventInput } from './events.js';

export type RateLimitInput = Extract<AuditEventInput, { type: 'rate_limit.refused' }>;

const MAX_WINDOWS = 10_000;

export interface RefusalCoalescerOptions {
  /** Window length in ms (> 0). */
  readonly window: number;
  readonly now: () => number;
  /** Records an event in the trail: the first refusal of a window, and its summary. */
  readonly record: (input: AuditEventInput) => void;
  /** Sees each refusal that was only counted (for the metrics). */
  readonly counted: (event: AuditEvent) => void;
}

export class RefusalCoalescer {
  /** Open windows, by budget, IP, principal and tool. */
  private readonly refusals = new Map<string, { since: number; suppressed: number; first: RateLimitInput }>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RefusalCoalescerOptions) {}

  /** True when the refusal falls in an open window and was only counted. */
  coalesced(input: RateLimitInput): boolean {
    const { window, now: clock } = this.options;
    const key = [input.budget, input.clientIp, input.principal?.id ?? '', input.tool ?? ''].join('\0');
    const now = clock();
    const open = this.refusals.get(key);
    if (open && now - open.since < window) {
      open.suppressed++;
      this.options.counted({ ...input, time: new Date(now).toISOString() });
      return true;
    }
    if (open) this.summarize(open);
    // Bounded: a flood from many addresses closes windows early rather than growing the map.
    if (this.refusals.size >= MAX_WINDOWS) this.sweep(Number.POSITIVE_INFINITY);
    const { requestId: _, ...first } = input;
    this.refusals.set(key, { since: now, suppressed: 0, first });
    if (!this.sweeper && !this.closed) {
      this.sweeper = setInterval(() => this.sweep(clock()), window);
      this.sweeper.unref();
    }
    return false;
  }

  /** Closes every window (recording their summaries) and opens no more timers. */
  close(): void {
    this.sweep(Number.POSITIVE_INFINITY);
    this.closed = true;
  }

  /** Closes the windows that ended by `now`, recording a summary for those that suppressed refusals. */
  private sweep(now: number): void {
    for (const [key, open] of this.refusals) {
      if (now - open.since < this.options.window) continue;
      this.refusals.delete(key);
      this.summarize(open);
    }
    if (this.refusals.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private summarize(open: { suppressed: number; first: RateLimitInput }): void {
    if (open.suppressed === 0) return;
    const { time: _, ...first } = open.first;
    const suppressed = open.suppressed;
    open.suppressed = 0;
    this.options.record({ ...first, suppressed });
  }
}
