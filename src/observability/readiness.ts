/**
 * What /readyz reports: whether this instance can serve — its store answers and every upstream is
 * reachable — plus the rate-limit backend's state and the number of sessions. Unauthenticated, so it
 * names no command, URL or secret, and a probe never sends an upstream request or credential: an
 * HTTP upstream is probed by opening a TCP connection to its host and port, a stdio upstream by
 * finding its command. Probe results are cached, so a flood of /readyz cannot become a flood of
 * connections (at most one probe per upstream per `ttlMs`). A stdio upstream with a warm pool also
 * shows how many children are ready and starting and their resident memory (counts, no PIDs).
 */
import { connect } from 'node:net';
import type { UpstreamConfig } from '../config/schema.js';
import { findCommand } from '../upstream/find-command.js';

export type Reachability = 'reachable' | 'unreachable';

export interface ReadinessOptions {
  readonly upstreams: Readonly<Record<string, UpstreamConfig>>;
  readonly baseDir: string;
  /** Whether the store answers (a trivial query), when the gateway has one. */
  readonly storeOk?: () => boolean | Promise<boolean>;
  readonly limits: () => string;
  readonly sessions: () => number;
  readonly readOnly: boolean;
  /** Tool pinning's mode and, per upstream, how many tools seen are not approved (counts, not names). */
  readonly pinning?: () => Promise<object>;
  /** A stdio upstream's warm pool: children ready and starting, and their memory together. */
  readonly warmPool?: (upstream: string) => Promise<WarmPoolReport | undefined>;
  /** The aggregated endpoints by path, with their member upstreams. */
  readonly aggregates?: ReadonlyMap<string, readonly string[]>;
  /** How long a probe result is reused (default 10 s). */
  readonly ttlMs?: number;
  /** How long a TCP probe may take (default 2 s). */
  readonly timeoutMs?: number;
}

export interface WarmPoolReport {
  readonly size: number;
  readonly ready: number;
  readonly starting: number;
  readonly rssBytes: number;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly body: object;
}

export class Readiness {
  private readonly cache = new Map<string, { at: number; result: Promise<Reachability> }>();
  private readonly ttlMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: ReadinessOptions) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  async report(): Promise<ReadinessReport> {
    const names = Object.keys(this.options.upstreams);
    const [reach, pools, storeOk] = await Promise.all([
      Promise.all(names.map((name) => this.probe(name))),
      Promise.all(names.map((name) => this.options.warmPool?.(name))),
      this.options.storeOk?.(),
    ]);
    const store = storeOk === undefined ? 'none' : storeOk ? 'ok' : 'failing';
    const ready = store !== 'failing' && reach.every((r) => r === 'reachable');
    return {
      ready,
      body: {
        status: ready ? 'ready' : 'not_ready',
        readOnly: this.options.readOnly,
        store,
        limits: this.options.limits(),
        sessions: this.options.sessions(),
        ...(this.options.pinning ? { pinning: await this.options.pinning() } : {}),
        upstreams: Object.fromEntries(
          names.map((name, i) => {
            const config = this.options.upstreams[name] as UpstreamConfig;
            const transport = config.url !== undefined ? 'http' : 'stdio';
            const warm = pools[i];
            return [name, { transport, state: reach[i], ...(warm ? { warm } : {}) }];
          }),
        ),
        // An aggregated endpoint serves without a member that is down: how many it is serving now.
        ...(this.options.aggregates && this.options.aggregates.size > 0
          ? {
              endpoints: Object.fromEntries(
                [...this.options.aggregates].map(([path, members]) => {
                  const down = members.filter((m) => reach[names.indexOf(m)] !== 'reachable');
                  return [path, { members: members.length, unreachable: down.length }];
                }),
              ),
            }
          : {}),
      },
    };
  }

  private probe(name: string): Promise<Reachability> {
    const now = Date.now();
    const cached = this.cache.get(name);
    if (cached && now - cached.at < this.ttlMs) return cached.result;
    const config = this.options.upstreams[name] as UpstreamConfig;
    const result =
      config.url !== undefined
        ? this.connectable(new URL(config.url))
        : findCommand(config, this.options.baseDir).then((c) => (c.found ? 'reachable' : 'unreachable'));
    this.cache.set(name, { at: now, result });
    return result;
  }

  private connectable(url: URL): Promise<Reachability> {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return new Promise((settle) => {
      const socket = connect({ host, port });
      const done = (result: Reachability) => {
        socket.destroy();
        settle(result);
      };
      socket.setTimeout(this.timeoutMs, () => done('unreachable'));
      socket.once('connect', () => done('reachable'));
      socket.once('error', () => done('unreachable'));
    });
  }
}
