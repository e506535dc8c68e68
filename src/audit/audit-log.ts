/**
 * The audit log: `record(event)` is called on the request path and never blocks, awaits or throws.
 * It redacts the event, writes it at once as one line to the stdout sink, and queues it for the
 * store; a batched writer appends the queue to the store (every `flushInterval` ms, or as soon as
 * `batchSize` events wait), one transaction per batch. `close()` writes everything still queued —
 * call it on SIGTERM/SIGINT before exiting.
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
import type { AuditEvent, AuditEventInput, AuditPrincipal } from './events.js';
import { REDACTED, type Redactor } from './redact.js';

/** Where events go as they are recorded (stdout): one line each. */
export interface AuditSink {
  write(event: AuditEvent): void;
}

/** JSON lines through pino: `{"level":30,"time":…,"service":"portcullis","audit":{…event},"msg":"audit <type>"}`. */
export function jsonSink(logger: Logger): AuditSink {
  return { write: (event) => logger.info({ audit: event }, `audit ${event.type}`) };
}

/** One readable line per event, for a terminal. */
export function prettySink(stream: { write(line: string): unknown }): AuditSink {
  return { write: (event) => void stream.write(`${describeEvent(event)}\n`) };
}

/** JSON lines through `logger`, or readable lines when `stream` is a terminal. */
export function stdoutSink(
  logger: Logger,
  stream: { isTTY?: boolean; write(line: string): unknown } = process.stdout,
): AuditSink {
  return stream.isTTY ? prettySink(stream) : jsonSink(logger);
}

const who = (p: AuditPrincipal | undefined): string =>
  p ? `${p.id}${p.name !== p.id ? ` (${p.name})` : ''}` : '-';

/** `2026-11-23T10:00:00.000Z policy.decision denied api-key:key_1 (ci) everything.write_file …` */
export function describeEvent(event: AuditEvent): string {
  const parts: string[] = [event.time, event.type];
  switch (event.type) {
    case 'gateway.start':
      parts.push(
        event.listen,
        `auth=${event.posture.auth.join(',')}`,
        `tls=${event.posture.tls}`,
        `readOnly=${event.posture.policy.readOnly}`,
      );
      break;
    case 'gateway.stop':
      parts.push(
        event.reason,
        `uptime=${Math.round(event.uptimeMs / 1000)}s`,
        `auditDropped=${event.auditDropped}`,
      );
      break;
    case 'auth.success':
      parts.push('allowed', event.method, who(event.principal), event.clientIp, event.upstream);
      break;
    case 'auth.failure':
      parts.push(
        'denied',
        event.method,
        event.username !== undefined ? `user=${event.username}` : '-',
        event.clientIp,
        event.upstream,
        `${event.status} ${event.reason}: ${event.message}`,
      );
      break;
    case 'policy.decision':
      parts.push(
        event.outcome,
        who(event.principal),
        `${event.upstream}.${event.target.name}`,
        event.method,
        `rule=${event.rule}`,
      );
      if (event.latencyMs !== undefined) parts.push(`${event.latencyMs}ms`);
      if (event.upstreamStatus !== undefined) parts.push(`upstream=${event.upstreamStatus}`);
      break;
    case 'rate_limit.refused':
      parts.push(
        'denied',
        who(event.principal),
        event.clientIp,
        event.upstream,
        `budget=${event.budget}${event.tool ? ` tool=${event.tool}` : ''}`,
        event.code,
      );
      break;
    case 'admin.key_created':
      parts.push(
        event.keyId,
        `name=${event.name}`,
        `scopes=${event.scopes.join(',') || '-'}`,
        `by=${event.actor.user ?? event.actor.via}`,
      );
      break;
    case 'admin.key_revoked':
      parts.push(event.keyId, `by=${event.actor.user ?? event.actor.via}`);
      break;
    case 'admin.consent_revoked':
      parts.push(
        `oauth:${event.subject}`,
        `grantsRevoked=${event.grantsRevoked}`,
        `by=${event.actor.user ?? event.actor.via}`,
      );
      break;
    case 'audit.dropped':
      parts.push(`count=${event.count}`, `from=${event.from}`, `until=${event.until}`);
      break;
    case 'oauth.client_registered':
      parts.push(event.clientIp, `client=${event.clientName || '-'}`);
      break;
    case 'oauth.consent':
      parts.push(
        'allowed',
        `oauth:${event.subject}`,
        `client=${event.clientKind}`,
        `scopes=${event.scopes.join(',') || '-'}`,
      );
      break;
    case 'oauth.token':
      parts.push(event.grantType, event.clientIp, `scopes=${event.scopes.join(',') || '-'}`);
      break;
    case 'oauth.refused':
      parts.push('denied', event.endpoint, event.clientIp, `${event.error}: ${event.message}`);
      if (event.grantRevoked) parts.push('grant revoked');
      break;
    case 'oauth.revoked':
      parts.push(event.clientIp);
      break;
  }
  if (event.requestId !== undefined) parts.push(`req=${event.requestId}`);
  return parts.join('  ');
}

export interface AuditLogOptions {
  readonly redactor: Redactor;
  /** Written to at once, on the request path (stdout). Omit for no stdout sink. */
  readonly sink?: AuditSink;
  /** Appended to in batches. Omit for no store. */
  readonly store?: AuditStore;
  /** For the audit log's own trouble (store down, events dropped). */
  readonly logger?: Logger;
  /**
   * `<upstream>.<tool>` patterns (`*` matches any run) whose arguments and results are recorded;
   * for every other tool they are removed from the event before anything else sees it.
   */
  readonly logArguments?: readonly string[];
  /** Largest arguments or result kept, as JSON characters; bigger ones are replaced by a marker. */
  readonly maxPayloadChars?: number;
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

type RateLimitInput = Extract<AuditEventInput, { type: 'rate_limit.refused' }>;

const MAX_RETRY_DELAY = 5000;
const MAX_WINDOWS = 10_000;
const DROP_WARNING_INTERVAL = 60_000;

export class AuditLog {
  private readonly redactor: Redactor;
  private readonly sink: AuditSink | undefined;
  private readonly store: AuditStore | undefined;
  private readonly logger: Logger | undefined;
  private readonly argumentPatterns: readonly RegExp[];
  private readonly maxPayloadChars: number;
  private readonly batchSize: number;
  private readonly flushInterval: number;
  private readonly maxQueue: number;
  private readonly onEvent: ((event: AuditEvent) => void) | undefined;
  private readonly now: () => number;
  private readonly rateLimitWindow: number;
  /** Open coalescing windows of rate-limit refusals, by budget, IP, principal and tool. */
  private readonly refusals = new Map<string, { since: number; suppressed: number; first: RateLimitInput }>();
  private sweeper: NodeJS.Timeout | undefined;

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
    this.redactor = options.redactor;
    this.sink = options.sink;
    this.store = options.store;
    this.logger = options.logger;
    this.argumentPatterns = (options.logArguments ?? []).map(
      (p) => new RegExp(`^${p.split('*').map(escapeRegExp).join('.*')}$`),
    );
    this.maxPayloadChars = options.maxPayloadChars ?? 8192;
    this.batchSize = options.batchSize ?? 100;
    this.flushInterval = options.flushInterval ?? 200;
    this.maxQueue = options.maxQueue ?? 10_000;
    this.onEvent = options.onEvent;
    this.now = options.now ?? Date.now;
    this.rateLimitWindow = options.rateLimitWindow ?? 60_000;
  }

  /** Events waiting for the store. */
  get queueDepth(): number {
    return this.queue.length;
  }

  /** Whether the config opts `<upstream>.<tool>` in to argument and result logging. */
  logsArgumentsOf(upstream: string, tool: string): boolean {
    const name = `${upstream}.${tool}`;
    return this.argumentPatterns.some((p) => p.test(name));
  }

  /** Records an event: redacted, to stdout now, to the store soon. Never throws, never waits. */
  record(input: AuditEventInput): void {
    if (input.type === 'rate_limit.refused' && this.rateLimitWindow > 0 && this.coalesced(input)) return;
    this.append(input);
  }

  private append(input: AuditEventInput): void {
    let event: AuditEvent;
    try {
      event = this.prepare(input);
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
    try {
      this.onEvent?.(event);
    } catch {
      // Metrics must not cost an event.
    }
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
    this.sweep(Number.POSITIVE_INFINITY);
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

  /** True when the refusal falls in an open window and was only counted. */
  private coalesced(input: RateLimitInput): boolean {
    const key = [input.budget, input.clientIp, input.principal?.id ?? '', input.tool ?? ''].join('\0');
    const now = this.now();
    const open = this.refusals.get(key);
    if (open && now - open.since < this.rateLimitWindow) {
      open.suppressed++;
      try {
        this.onEvent?.({ ...input, time: new Date(now).toISOString() });
      } catch {
        // Metrics must not cost an event.
      }
      return true;
    }
    if (open) this.summarize(open);
    // Bounded: a flood from many addresses closes windows early rather than growing the map.
    if (this.refusals.size >= MAX_WINDOWS) this.sweep(Number.POSITIVE_INFINITY);
    const { requestId: _, ...first } = input;
    this.refusals.set(key, { since: now, suppressed: 0, first });
    if (!this.sweeper && !this.closed) {
      this.sweeper = setInterval(() => this.sweep(this.now()), this.rateLimitWindow);
      this.sweeper.unref();
    }
    return false;
  }

  /** Closes the windows that ended by `now`, recording a summary for those that suppressed refusals. */
  private sweep(now: number): void {
    for (const [key, open] of this.refusals) {
      if (now - open.since < this.rateLimitWindow) continue;
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
    this.append({ ...first, suppressed });
  }

  private prepare(input: AuditEventInput): AuditEvent {
    const time = input.time ?? new Date(this.now()).toISOString();
    const raw = { ...input, time } as AuditEvent;
    if (raw.type === 'policy.decision') {
      const keep = raw.target.kind === 'tool' && this.logsArgumentsOf(raw.upstream, raw.target.name);
      const { arguments: args, result, principal, ...rest } = raw;
      const redacted = this.redactor.value(rest);
      return {
        ...redacted,
        // Who acted stays readable: only secrets and credentials are masked in it.
        principal: this.redactor.value(principal, 'credentials'),
        ...(keep && args !== undefined ? { arguments: this.payload(args) } : {}),
        ...(keep && result !== undefined ? { result: this.payload(result) } : {}),
      };
    }
    if (raw.type === 'auth.success' || raw.type === 'rate_limit.refused') {
      const { principal, ...rest } = raw;
      return {
        ...this.redactor.value(rest),
        ...(principal ? { principal: this.redactor.value(principal, 'credentials') } : {}),
      } as AuditEvent;
    }
    if (raw.type === 'auth.failure') {
      const { username, ...rest } = raw;
      return {
        ...this.redactor.value(rest),
        ...(username !== undefined ? { username: this.redactor.text(username, 'credentials') } : {}),
      };
    }
    if (
      raw.type === 'admin.key_created' ||
      raw.type === 'admin.key_revoked' ||
      raw.type === 'admin.consent_revoked'
    ) {
      const { actor, ...rest } = raw;
      return { ...this.redactor.value(rest), actor: this.redactor.value(actor, 'credentials') } as AuditEvent;
    }
    return this.redactor.value(raw);
  }

  /** Arguments or a result, redacted, within maxPayloadChars. */
  private payload(value: unknown): unknown {
    const redacted = this.redactor.value(value);
    const size = JSON.stringify(redacted)?.length ?? 0;
    return size > this.maxPayloadChars ? `[TRUNCATED: ${size} characters]` : redacted;
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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export { REDACTED };
