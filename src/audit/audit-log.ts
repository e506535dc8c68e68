/**
 * The audit log: `record(event)` is called on the request path and never blocks, awaits or throws.
 * It redacts the event, writes it at once as one line to the stdout sink, and queues it for the
 * store; a batched writer appends the queue to the store (every `flushInterval` ms, or as soon as
 * `batchSize` events wait), one transaction per batch. `close()` writes everything still queued —
 * call it on SIGTERM/SIGINT before exiting. What an event looks like once written is prepare-event.ts;
 * rate-limit refusals are coalesced first (refusal-coalescer.ts).
 *
 * When the store is down or slow. The queue is bounded (`maxQueue`, 10 000 by default). A failed
 * append is retried, with the delay doubling up to 5 s; while the queue is full, new events are
 * still written to stdout but not queued for the store: they are counted in `dropped` (exposed as
 * the metric portcullis_audit_dropped_total and in gateway.stop), a warning is logged at the first
 * drop and then at most once a minute, and once the store takes writes again an `audit.dropped`
 * event (count, first and last lost time) is appended so the gap shows in the chain. Recording
 * never waits for the store, and a request never fails because of the audit log.
 */
import type { Logger } from '../log/logger.js';
import type { AuditStore } from '../store/store.js';
import type { AuditSink } from './audit-sinks.js';
import type { AuditEvent, AuditEventInput } from './events.js';
import { AuditEventPreparer, type AuditEventPreparerOptions } from './prepare-event.js';
import { RefusalCoalescer } from './refusal-coalescer.js';

// Callers take the sinks, the line format and the marker from the log, where they are used.
export { type AuditSink, jsonSink, prettySink, stdoutSink } from './audit-sinks.js';
export { describeEvent } from './describe-event.js';
export { REDACTED } from './redact.js';

export interface AuditLogOptions
  extends Pick<AuditEventPreparerOptions, 'redactor' | 'logArguments' | 'maxPayloadChars'> {
  /** Written to at once, on the request path (stdout). Omit for no stdout sink. */
  readonly sink?: AuditSink;
  /** Appended to in batches. Omit for no store. */
  readonly store?: AuditStore;
  /** For the audit log's own trouble (store down, events dropped). */
  readonly logger?: Logger;
  /** Flush once this many events wait (default 100). */
  readonly batchSize?: number;
  /** …or this long after the first one was queued (default 200 ms). */
  readonly flushInterval?: number;
  /** Most events queued for the store (default 10 000); more are dropped and counted. */
  readonly maxQueue?: number;
  /**
   * Called with each event, e.g. to count it in the metrics: recorded ones redacted, and rate-limit
   * refusals left out of the trail by coalescing as they came. Must not throw.
   */
  readonly onEvent?: (event: AuditEvent) => void;
  /**
   * Rate-limit refusals of one budget, client IP, principal and tool are recorded once per window
   * (default 60 s; 0 records every one); the rest are counted into a summary at the window's end.
   */
  readonly rateLimitWindow?: number;
  readonly now?: () => number;
}

const MAX_RETRY_DELAY = 5000;
const DROP_WARNING_INTERVAL = 60_000;

export class AuditLog {
  private readonly preparer: AuditEventPreparer;
  private readonly sink: AuditSink | undefined;
  private readonly store: AuditStore | undefined;
  private readonly logger: Logger | undefined;
  private readonly batchSize: number;
  private readonly flushInterval: number;
  private readonly maxQueue: number;
  private readonly onEvent: ((event: AuditEvent) => void) | undefined;
  private readonly now: () => number;
  private readonly refusals: RefusalCoalescer | undefined;

  private queue: AuditEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private retryDelay = 0;
  private closed = false;
  /** Events dropped since the last audit.dropped event reached the store. */
  private gap: { count: number; from: string; until: string } | undefined;
  private lastDropWarning = -Infinity;

  /** Events recorded (written to the sink). */
  recorded = 0;
  /** Events appended to the store. */
  stored = 0;
  /** Events the store never got (queue full, store down at close, or recorded after close). */
  dropped = 0;
  /** Events that could not be recorded at all (a bug: logged). */
  failed = 0;

  constructor(options: AuditLogOptions) {
    this.now = options.now ?? Date.now;
    this.preparer = new AuditEventPreparer({ ...options, now: this.now });
    this.sink = options.sink;
    this.store = options.store;
    this.logger = options.logger;
    this.batchSize = options.batchSize ?? 100;
    this.flushInterval = options.flushInterval ?? 200;
    this.maxQueue = options.maxQueue ?? 10_000;
    this.onEvent = options.onEvent;
    const window = options.rateLimitWindow ?? 60_000;
    this.refusals =
      window > 0
        ? new RefusalCoalescer({
            window,
            now: this.now,
            record: (input) => this.append(input),
            counted: (event) => this.notify(event),
          })
        : undefined;
  }

  /** Events waiting for the store. */
  get queueDepth(): number {
    return this.queue.length;
  }

  /** Whether the config opts `<upstream>.<tool>` in to argument and result logging. */
  logsArgumentsOf(upstream: string, tool: string): boolean {
    return this.preparer.logsArgumentsOf(upstream, tool);
  }

  /** Records an event: redacted, to stdout now, to the store soon. Never throws, never waits. */
  record(input: AuditEventInput): void {
    if (input.type === 'rate_limit.refused' && this.refusals?.coalesced(input)) return;
    this.append(input);
  }

  private append(input: AuditEventInput): void {
    let event: AuditEvent;
    try {
      event = this.preparer.prepare(input);
    } catch (err) {
      this.failed++;
      this.logger?.error(
        { err: (err as Error).message, type: input.type },
        'could not record an audit event',
      );
      return;
    }
    this.recorded++;
    try {
      this.sink?.write(event);
    } catch (err) {
      this.logger?.error({ err: (err as Error).message }, 'the audit stdout sink failed');
    }
    this.notify(event);
    if (!this.store) return;
    if (this.closed || this.queue.length >= this.maxQueue) {
      this.drop(event);
      return;
    }
    this.queue.push(event);
    this.schedule();
  }

  /** Writes what is queued now (also called by the timer). Resolves when the store has it or gave up. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
      // A failed append leaves events queued: try again after the retry delay.
      if (this.queue.length > 0) this.schedule();
    });
    return this.flushing;
  }

  /**
   * Stops taking events for the store and writes everything queued, trying each batch twice. Events
   * the store still refuses are counted as dropped (they were written to stdout already).
   */
  async close(): Promise<void> {
    this.refusals?.close();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.closed = true;
    this.retryDelay = 0;
    await this.flushing;
    for (let attempt = 0; attempt < 2 && this.queue.length > 0; attempt++) await this.flush();
    if (this.queue.length > 0) {
      const lost = this.queue.splice(0);
      for (const event of lost) this.drop(event);
      this.logger?.error(
        { dropped: lost.length },
        'the audit store refused the last events at shutdown — they are only in the stdout log',
      );
    }
  }

  private notify(event: AuditEvent): void {
    try {
      this.onEvent?.(event);
    } catch {
      // Metrics must not cost an event.
    }
  }

  private drop(event: AuditEvent): void {
    this.dropped++;
    this.gap = this.gap
      ? { count: this.gap.count + 1, from: this.gap.from, until: event.time }
      : { count: 1, from: event.time, until: event.time };
    const now = this.now();
    if (!this.closed && now - this.lastDropWarning >= DROP_WARNING_INTERVAL) {
      this.lastDropWarning = now;
      this.logger?.warn(
        { dropped: this.dropped, queued: this.queue.length },
        'the audit store is not keeping up: events are being dropped from the store (they are still written to stdout)',
      );
    }
  }

  private schedule(): void {
    if (this.closed || this.flushing) return;
    if (this.queue.length >= this.batchSize && this.retryDelay === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      setImmediate(() => void this.flush());
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.retryDelay || this.flushInterval);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    const store = this.store;
    if (!store) return;
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.batchSize);
      const gap = this.gap;
      this.gap = undefined;
      const marker: AuditEvent[] = gap
        ? [{ type: 'audit.dropped', time: new Date(this.now()).toISOString(), ...gap }]
        : [];
      try {
        await store.append([...marker, ...batch]);
      } catch (err) {
        if (gap) {
          // Events dropped meanwhile extend the same gap.
          const since = this.gap as typeof gap | undefined;
          this.gap = since ? { count: gap.count + since.count, from: gap.from, until: since.until } : gap;
        }
        this.retryDelay = Math.min(
          MAX_RETRY_DELAY,
          this.retryDelay ? this.retryDelay * 2 : this.flushInterval,
        );
        this.logger?.warn(
          { err: (err as Error).message, queued: this.queue.length, retryInMs: this.retryDelay },
          'could not write audit events to the store — retrying',
        );
        return;
      }
      this.queue.splice(0, batch.length);
      this.stored += batch.length;
      this.retryDelay = 0;
    }
  }
}
