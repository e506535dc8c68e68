/**
 * A warm pool of stdio upstream processes (`upstreams.<name>.warm: N`): N children started ahead, so
 * that a new session does not wait for a process to start (~200 ms for a Node server). Each child
 * goes to exactly one session and never comes back: the session's link owns it and ends it with the
 * session, and a replacement starts at once.
 *
 * What is done ahead, and why it is safe:
 * - The process is spawned with the upstream's command, args, cwd and environment. These are the
 *   same for every principal (the config has nothing per principal), so a warm child is prepared for
 *   no one in particular and may go to anyone. If per-principal credentials ever reach a child's
 *   environment or arguments, the pool must be keyed by them.
 * - It is sent `ping`, which the MCP lifecycle allows before initialize, and counts as ready once it
 *   answers (a result or an error: either proves its code is loaded and it reads its stdin).
 * - initialize is NOT done ahead. A 2025 client's initialize carries its protocol version, its
 *   capabilities (sampling, elicitation, roots) and its clientInfo, which the server keeps for the
 *   session; a child initialized with the gateway's would have negotiated on someone else's behalf.
 *   The client's own initialize goes to the warm child unchanged and costs one round trip.
 * Anything else a warm child writes before it is handed out is dropped: no session exists to get it.
 *
 * A child that cannot start, does not answer the ping in time, or exits while warm is replaced after
 * a back-off that doubles with each failure (the upstream's restart delays) and starts afresh after a
 * quiet period, so a crashing command does not spin. Children start one at a time. When the pool is
 * empty a session starts a child of its own, as it would without a pool.
 */
import { type Backoff, backoffDelay } from '../core/backoff.js';
import { isResponse } from '../core/jsonrpc.js';
import type { Logger } from '../log/logger.js';
import type { Connector, UpstreamConnection } from './connection.js';
import { rssBytes } from './process-memory.js';

/** The probe's id: a string, so it can never be mistaken for one of a link's numeric ids. */
const PROBE_ID = 'portcullis-warm-probe';
/** This long without a failure and the back-off starts again from its initial delay. */
const QUIET_MS = 30_000;
const MEMORY_TTL_MS = 1000;
/** How long after a child is taken its replacement starts: a session's set-up takes about this long. */
const REFILL_AFTER_TAKE_MS = 250;

export interface WarmPoolOptions {
  readonly name: string;
  /** Children kept started and ready. */
  readonly size: number;
  /** Starts one child (the upstream's stdio connector). */
  readonly connector: Connector;
  /** How long a new child may take to answer the ping. */
  readonly readyTimeoutMs: number;
  readonly backoff: Backoff;
  readonly logger: Logger;
}

/** What /readyz, the admin API and the metrics show of a pool. */
export interface WarmPoolStats {
  readonly upstream: string;
  readonly size: number;
  readonly ready: number;
  /** Started (or starting) and not yet ready. */
  readonly starting: number;
  /** Children handed to sessions since the gateway started. */
  readonly handedOut: number;
  /** Sessions that found the pool empty and started a child of their own. */
  readonly missed: number;
  /** Failures in the current streak (0 when the command starts fine). */
  readonly failures: number;
}

export class WarmPool {
  private readonly ready: UpstreamConnection[] = [];
  /** Children spawned and not yet ready, each with the way to stop waiting for its answer. */
  private readonly probing = new Map<UpstreamConnection, () => void>();
  private readonly launches = new Set<Promise<void>>();
  private failures = 0;
  private lastFailureAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private handedOut = 0;
  private missed = 0;
  private memoryRead: { readonly at: number; readonly bytes: Promise<number> } | undefined;

  constructor(private readonly options: WarmPoolOptions) {}

  /**
   * Starts the next child unless the pool is full; after a failure, only once its back-off has
   * passed. One child starts at a time: a start costs a core for a few hundred ms, and starting
   * several at once slowed the sessions being served (bench, 2 cores: session set-up p50 61 ms
   * with parallel refills, 25 ms one at a time).
   */
  fill(): void {
    if (this.closed || this.timer !== undefined || this.launches.size > 0) return;
    if (this.ready.length >= this.options.size) return;
    if (this.failures > 0 && Date.now() - this.lastFailureAt > QUIET_MS) this.failures = 0;
    const wait = this.failures === 0 ? 0 : this.lastFailureAt + this.backoff() - Date.now();
    if (wait > 0) this.later(wait);
    else this.launch();
  }

  /**
   * A ready child for one session, out of the pool for good (a replacement starts); undefined when
   * none is ready. Synchronous, so two sessions opening at once can never get the same child.
   */
  take(): UpstreamConnection | undefined {
    const connection = this.ready.shift();
    if (!connection) {
      this.missed++;
      this.later(REFILL_AFTER_TAKE_MS);
      return undefined;
    }
    connection.onmessage = () => {};
    connection.onclose = () => {};
    this.handedOut++;
    // Not at once: spawn() blocks the event loop for several ms (fork of a large process) and the new
    // child's start takes a core, both while this session is being set up on the child just taken.
    this.later(REFILL_AFTER_TAKE_MS);
    return connection;
  }

  stats(): WarmPoolStats {
    return {
      upstream: this.options.name,
      size: this.options.size,
      ready: this.ready.length,
      starting: this.launches.size,
      handedOut: this.handedOut,
      missed: this.missed,
      failures: this.failures,
    };
  }

  /** The stats with the waiting children's PIDs and memory (the admin API's view). */
  async report(): Promise<WarmPoolStats & { readonly pids: number[]; readonly rssBytes: number }> {
    return { ...this.stats(), pids: this.pids(), rssBytes: await this.memory() };
  }

  /** The children waiting in the pool (ready or starting), by PID. */
  pids(): number[] {
    return [...this.ready, ...this.probing.keys()].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  /**
   * Resident memory of every child in the pool together, in bytes. Read at most once a second: it
   * is shown by unauthenticated /readyz, which must not become a way to make the gateway read /proc
   * in a loop.
   */
  memory(): Promise<number> {
    const now = Date.now();
    if (this.memoryRead && now - this.memoryRead.at < MEMORY_TTL_MS) return this.memoryRead.bytes;
    const bytes = Promise.all(this.pids().map(rssBytes)).then((sizes) =>
      sizes.reduce<number>((sum, n) => sum + (n ?? 0), 0),
    );
    this.memoryRead = { at: now, bytes };
    return bytes;
  }

  /** Stops refilling and ends every child still in the pool; resolves once all have exited. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const stop of this.probing.values()) stop();
    await Promise.all([...this.ready.splice(0).map((c) => c.close()), ...this.launches]);
  }

  private backoff(): number {
    return backoffDelay(this.failures, this.options.backoff);
  }

  /** Tries fill() again after `ms`. */
  private later(ms: number): void {
    if (this.closed || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fill();
    }, ms);
    this.timer.unref();
  }

  private launch(): void {
    const launch = this.start().finally(() => {
      this.launches.delete(launch);
      this.fill();
    });
    this.launches.add(launch);
  }

  private async start(): Promise<void> {
    let connection: UpstreamConnection;
    try {
      connection = await this.options.connector();
    } catch (err) {
      this.failed(`could not be started (${(err as Error).message})`);
      return;
    }
    if (this.closed) return connection.close();
    const probe = ping(connection, this.options.readyTimeoutMs);
    this.probing.set(connection, probe.stop);
    try {
      await probe.answered;
    } catch (err) {
      await connection.close();
      if (!this.closed) this.failed(`did not get ready: ${(err as Error).message}`);
      return;
    } finally {
      this.probing.delete(connection);
    }
    if (this.closed) return connection.close();
    this.keep(connection);
    this.options.logger.debug({ upstream: this.options.name, pid: connection.pid }, 'warm child ready');
  }

  private keep(connection: UpstreamConnection): void {
    const readyAt = Date.now();
    connection.onmessage = () => {};
    connection.onclose = (reason) => {
      const at = this.ready.indexOf(connection);
      if (at === -1) return;
      this.ready.splice(at, 1);
      // A child that dies soon after it got ready is a crash loop in the making; one that waited long is not.
      if (Date.now() - readyAt < QUIET_MS) this.failed(`exited while warm (${reason.message})`);
      this.fill();
    };
    this.ready.push(connection);
  }

  private failed(why: string): void {
    this.failures++;
    this.lastFailureAt = Date.now();
    this.options.logger.warn(
      {
        upstream: this.options.name,
        failures: this.failures,
        retryInMs: this.backoff(),
      },
      `a warm child of upstream '${this.options.name}' ${why}; sessions start their own until the pool refills`,
    );
  }
}

/** Sends the probe; `answered` settles with its answer, the child's exit, the timeout or `stop`. */
function ping(
  connection: UpstreamConnection,
  timeoutMs: number,
): { answered: Promise<void>; stop: () => void } {
  let stop = () => {};
  const answered = new Promise<void>((resolve, reject) => {
    const settle = (err?: Error) => {
      clearTimeout(timer);
      connection.onmessage = () => {};
      connection.onclose = () => {};
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => settle(new Error(`no answer to ping within ${timeoutMs} ms`)), timeoutMs);
    stop = () => settle(new Error('the pool closed'));
    connection.onmessage = (message) => {
      if (isResponse(message) && message.id === PROBE_ID) settle();
    };
    connection.onclose = (reason) => settle(reason);
    connection.send({ jsonrpc: '2.0', id: PROBE_ID, method: 'ping' }).catch((err: Error) => settle(err));
  });
  return { answered, stop };
}
