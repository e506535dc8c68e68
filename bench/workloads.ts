/**
 * The workloads. Each one runs every target in rounds, in a fresh random order each round, so that
 * machine drift (other processes, thermal or CPU-steal changes) hits all targets alike.
 */

import { readdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BenchSession, inParallel } from './client.js';
import { type RunningTarget, type RunOptions, rssBytes, startTarget, targetCpuMs } from './processes.js';
import { type Histogram, newHistogram, recordNs, shuffled } from './stats.js';
import type { Target } from './targets.js';

export interface Settings {
  /** Sequential: measured calls per target, calls per target per round, warm-up calls. */
  readonly calls: number;
  readonly batch: number;
  readonly warmup: number;
  /** Concurrent: session counts, time slice per (target, count) per round, rounds. */
  readonly concurrency: readonly number[];
  readonly sliceMs: number;
  readonly concurrentRounds: number;
  /** Session set-up: sessions per target, sessions per target per round. */
  readonly sessions: number;
  readonly sessionBatch: number;
  /** Memory: idle session counts to measure RSS at, and how long to let each level settle. */
  readonly idle: readonly number[];
  readonly settleMs: number;
  /** Many idle sessions (without GET streams) on a fresh Portcullis instance; 0 skips it. */
  readonly idleSessions: number;
}

export type Progress = (line: string) => void;

const since = (start: bigint): bigint => process.hrtime.bigint() - start;

/** Sessions opened a few at a time (stdio gateways start a child per session). */
const OPEN_PARALLEL = 8;

export interface CpuPerCall {
  /** The bench process (the SDK client), ms of CPU per call. */
  readonly client: number;
  /** The target's main process (the gateway; for direct-http, the server). */
  readonly main: number;
  /** The rest of the target: upstream server, stdio children. */
  readonly rest: number;
}

export interface SequentialResult {
  readonly histogram: Histogram;
  readonly protocolVersion: string | undefined;
  readonly cpu: CpuPerCall;
}

/** One session per target; `echo` one call after another. */
export async function sequential(
  targets: readonly RunningTarget[],
  settings: Settings,
  progress: Progress,
): Promise<Map<string, SequentialResult>> {
  const sessions = new Map<string, BenchSession>();
  const histograms = new Map<string, Histogram>();
  type Sum = { client: number; main: number; rest: number };
  const cpu = new Map<string, Sum>(targets.map((t) => [t.target.name, { client: 0, main: 0, rest: 0 }]));
  try {
    for (const t of targets) {
      const session = await BenchSession.open(t.url, t.headers);
      sessions.set(t.target.name, session);
      histograms.set(t.target.name, newHistogram());
      for (let i = 0; i < settings.warmup; i++) await session.echo();
    }
    const rounds = Math.ceil(settings.calls / settings.batch);
    for (let round = 1; round <= rounds; round++) {
      const order = shuffled(targets);
      progress(`sequential round ${round}/${rounds}: ${order.map((t) => t.target.name).join(', ')}`);
      const batch = Math.min(settings.batch, settings.calls - (round - 1) * settings.batch);
      for (const t of order) {
        const session = sessions.get(t.target.name) as BenchSession;
        const histogram = histograms.get(t.target.name) as Histogram;
        const before = targetCpuMs(t);
        const clientBefore = process.cpuUsage();
        for (let i = 0; i < batch; i++) {
          const start = process.hrtime.bigint();
          await session.echo();
          recordNs(histogram, since(start));
        }
        const client = process.cpuUsage(clientBefore);
        const after = targetCpuMs(t);
        const sum = cpu.get(t.target.name) as Sum;
        sum.client += (client.user + client.system) / 1000;
        sum.main += after.main - before.main;
        sum.rest += after.rest - before.rest;
      }
    }
    return new Map(
      targets.map((t) => [
        t.target.name,
        {
          histogram: histograms.get(t.target.name) as Histogram,
          protocolVersion: sessions.get(t.target.name)?.protocolVersion,
          cpu: perCall(cpu.get(t.target.name) as CpuPerCall, settings.calls),
        },
      ]),
    );
  } finally {
    await Promise.all([...sessions.values()].map((s) => s.close()));
  }
}

function perCall(total: CpuPerCall, calls: number): CpuPerCall {
  const round = (ms: number) => Math.round((ms / calls) * 1000) / 1000;
  return { client: round(total.client), main: round(total.main), rest: round(total.rest) };
}

export interface ConcurrentResult {
  readonly sessions: number;
  readonly histogram: Histogram;
  readonly calls: number;
  readonly errors: number;
  /** Wall time spent in this target's slices, in seconds. */
  readonly seconds: number;
}

/**
 * N sessions per target each calling `echo` back to back. Each round gives every (target, N) pair a
 * time slice, in random order; throughput is calls over the time of its slices.
 */
export async function concurrent(
  targets: readonly RunningTarget[],
  settings: Settings,
  progress: Progress,
): Promise<Map<string, ConcurrentResult[]>> {
  const most = Math.max(...settings.concurrency);
  const pools = new Map<string, BenchSession[]>();
  type Cell = { histogram: Histogram; calls: number; errors: number; ns: bigint };
  const cells = new Map<string, Cell>();
  const key = (t: RunningTarget, n: number) => `${t.target.name}\u0000${n}`;
  try {
    for (const t of targets) {
      progress(`concurrent: opening ${most} sessions on ${t.target.name}`);
      const pool: BenchSession[] = [];
      pools.set(t.target.name, pool);
      await inParallel(Array.from({ length: most }), OPEN_PARALLEL, async () => {
        const session = await BenchSession.open(t.url, t.headers);
        pool.push(session);
        for (let i = 0; i < 5; i++) await session.echo();
      });
      for (const n of settings.concurrency) {
        cells.set(key(t, n), { histogram: newHistogram(), calls: 0, errors: 0, ns: 0n });
      }
    }
    const pairs = targets.flatMap((t) => settings.concurrency.map((n) => ({ t, n })));
    for (let round = 1; round <= settings.concurrentRounds; round++) {
      progress(`concurrent round ${round}/${settings.concurrentRounds} (${pairs.length} slices)`);
      for (const { t, n } of shuffled(pairs)) {
        const cell = cells.get(key(t, n)) as Cell;
        const pool = (pools.get(t.target.name) as BenchSession[]).slice(0, n);
        const sliceStart = process.hrtime.bigint();
        const deadline = performance.now() + settings.sliceMs;
        await Promise.all(
          pool.map(async (session) => {
            while (performance.now() < deadline) {
              const start = process.hrtime.bigint();
              try {
                await session.echo();
                recordNs(cell.histogram, since(start));
                cell.calls++;
              } catch {
                cell.errors++;
              }
            }
          }),
        );
        cell.ns += since(sliceStart);
      }
    }
    return new Map(
      targets.map((t) => [
        t.target.name,
        settings.concurrency.map((n) => {
          const cell = cells.get(key(t, n)) as Cell;
          return {
            sessions: n,
            histogram: cell.histogram,
            calls: cell.calls,
            errors: cell.errors,
            seconds: Number(cell.ns) / 1e9,
          };
        }),
      ]),
    );
  } finally {
    progress('concurrent: closing sessions');
    for (const pool of pools.values()) await inParallel(pool, OPEN_PARALLEL, (s) => s.close());
  }
}

/** A new session each time: initialize (+ initialized) and the first `echo`, timed together. */
export async function sessionSetup(
  targets: readonly RunningTarget[],
  settings: Settings,
  progress: Progress,
): Promise<Map<string, Histogram>> {
  const histograms = new Map(targets.map((t) => [t.target.name, newHistogram()]));
  // Warm-up: the first sessions load code paths (and, for stdio gateways, the OS file cache).
  for (const t of targets) {
    for (let i = 0; i < 2; i++) {
      const session = await BenchSession.open(t.url, t.headers);
      await session.echo();
      await session.close();
    }
  }
  const rounds = Math.ceil(settings.sessions / settings.sessionBatch);
  for (let round = 1; round <= rounds; round++) {
    const order = shuffled(targets);
    progress(`session set-up round ${round}/${rounds}: ${order.map((t) => t.target.name).join(', ')}`);
    const batch = Math.min(settings.sessionBatch, settings.sessions - (round - 1) * settings.sessionBatch);
    for (const t of order) {
      const histogram = histograms.get(t.target.name) as Histogram;
      for (let i = 0; i < batch; i++) {
        const start = process.hrtime.bigint();
        const session = await BenchSession.open(t.url, t.headers);
        await session.echo();
        recordNs(histogram, since(start));
        await session.close();
      }
    }
  }
  return histograms;
}

export interface WarmPoolFigures {
  readonly size: number;
  readonly ready: number;
  /** Resident memory of the waiting children together (from the gateway's /readyz). */
  readonly rssBytes: number;
}

/**
 * A target's warm pool as its gateway reports it on /readyz, once the pool has refilled after the
 * session set-up workload (or after 30 s, as it is then).
 */
export async function warmPool(t: RunningTarget): Promise<WarmPoolFigures | undefined> {
  const upstream = t.target.warmPool;
  if (upstream === undefined) return undefined;
  const base = new URL(t.url).origin;
  const read = async () => {
    const body = (await (await fetch(`${base}/readyz`)).json()) as {
      upstreams?: Record<string, { warm?: WarmPoolFigures & { starting: number } }>;
    };
    return body.upstreams?.[upstream]?.warm;
  };
  const deadline = Date.now() + 30_000;
  let pool = await read();
  while (pool && pool.ready < pool.size && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    pool = await read();
  }
  // /readyz reads the children's memory at most once a second: wait for a reading of the full pool.
  await new Promise((r) => setTimeout(r, 1100));
  pool = await read();
  return pool && { size: pool.size, ready: pool.ready, rssBytes: pool.rssBytes };
}

export interface MemoryPoint {
  readonly sessions: number;
  /** RSS of the target's main process (the gateway; for the baseline, the server itself). */
  readonly rssBytes: number;
  /** RSS of every process of the target, by role. */
  readonly byRole: Readonly<Record<string, number>>;
}

/**
 * RSS with 0, 100, 1,000… idle sessions, on a fresh instance of each target (so earlier workloads
 * do not inflate its heap). Idle: initialized, GET stream open, no calls.
 */
export async function memory(
  targets: readonly Target[],
  settings: Settings,
  options: RunOptions,
  progress: Progress,
): Promise<Map<string, MemoryPoint[]>> {
  const out = new Map<string, MemoryPoint[]>();
  for (const target of shuffled(targets)) {
    progress(`memory: starting a fresh ${target.name}`);
    const running = await startTarget(target, options, '-memory');
    const sessions: BenchSession[] = [];
    const points: MemoryPoint[] = [];
    try {
      for (const level of [...settings.idle].sort((a, b) => a - b)) {
        const more = level - sessions.length;
        if (more > 0) {
          progress(`memory: ${target.name}: opening sessions ${sessions.length + 1}–${level}`);
          await inParallel(Array.from({ length: more }), 16, async () => {
            sessions.push(await BenchSession.open(running.url, running.headers));
          });
        }
        await new Promise((r) => setTimeout(r, settings.settleMs));
        const byRole: Record<string, number> = {};
        for (const p of running.processes) byRole[p.role] = rssBytes(p.pid) ?? 0;
        const rss = rssBytes(running.main.pid) ?? 0;
        progress(`memory: ${target.name}: ${level} idle sessions, RSS ${(rss / 2 ** 20).toFixed(1)} MiB`);
        points.push({ sessions: level, rssBytes: rss, byRole });
        if (options.profileDir !== undefined && running.main.portcullis) {
          // After the RSS reading: the snapshot's full GC shrinks the heap the next level starts from.
          progress(`memory: ${target.name}: heap snapshot with ${level} idle sessions`);
          await heapSnapshot(running.main.pid, options.profileDir, `${target.name}-${level}-sessions`);
        }
      }
    } finally {
      progress(`memory: ${target.name}: closing ${sessions.length} sessions`);
      await inParallel(sessions, 32, (s) => s.close());
      await running.stop();
    }
    out.set(target.name, points);
  }
  return out;
}

/** SIGUSR2 (--heapsnapshot-signal) and wait until the snapshot file stops growing. */
async function heapSnapshot(pid: number, dir: string, name: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  let file: string | undefined;
  let size = -1;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file === undefined) continue;
    const now = statSync(join(dir, file)).size;
    if (now > 0 && now === size) break;
    size = now;
  }
  if (file !== undefined) renameSync(join(dir, file), join(dir, `${name}.heapsnapshot`));
}

export interface ManyIdleResult {
  readonly sessions: number;
  /** RSS of the gateway on its fresh instance before the first session, and with every session open. */
  readonly baseRssBytes: number;
  readonly rssBytes: number;
  readonly byRole: Readonly<Record<string, number>>;
  /** Open file descriptors of the gateway with every session open. */
  readonly fds: number;
  readonly openSeconds: number;
}

const INITIALIZE_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'bench-idle', version: '1' },
  },
});
const INITIALIZED_BODY = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });

/**
 * `settings.idleSessions` idle sessions on a fresh instance of each Portcullis target with
 * `memory: true`: initialize and notifications/initialized over plain fetch, then nothing. These
 * hold no GET stream: one process may not keep 20,000 descriptors open here (`ulimit -n`), and a
 * GET stream costs the gateway two (the client's and the upstream's) — the memory workload's levels
 * measure sessions with one. The gateway still holds each session's upstream session and its GET
 * stream to the upstream.
 */
export async function manyIdle(
  targets: readonly Target[],
  settings: Settings,
  options: RunOptions,
  progress: Progress,
): Promise<Map<string, ManyIdleResult>> {
  const out = new Map<string, ManyIdleResult>();
  if (settings.idleSessions === 0) return out;
  for (const target of targets.filter((t) => t.processes.at(-1)?.portcullis !== undefined)) {
    progress(`many idle sessions: starting a fresh ${target.name}`);
    const running = await startTarget(target, options, '-idle');
    try {
      await new Promise((r) => setTimeout(r, settings.settleMs));
      const baseRssBytes = rssBytes(running.main.pid) ?? 0;
      const started = performance.now();
      let opened = 0;
      await inParallel(Array.from({ length: settings.idleSessions }), 32, async () => {
        await openRawSession(running);
        if (++opened % 1000 === 0) progress(`many idle sessions: ${target.name}: ${opened} open`);
      });
      const openSeconds = (performance.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, settings.settleMs));
      const byRole: Record<string, number> = {};
      for (const p of running.processes) byRole[p.role] = rssBytes(p.pid) ?? 0;
      const rss = rssBytes(running.main.pid) ?? 0;
      const fds = readdirSync(`/proc/${running.main.pid}/fd`).length;
      progress(
        `many idle sessions: ${target.name}: ${settings.idleSessions} sessions, RSS ${(rss / 2 ** 20).toFixed(1)} MiB, ${fds} descriptors`,
      );
      if (options.profileDir !== undefined) {
        progress(`many idle sessions: ${target.name}: heap snapshot`);
        await heapSnapshot(
          running.main.pid,
          options.profileDir,
          `${target.name}-${settings.idleSessions}-streamless-sessions`,
        );
      }
      out.set(target.name, {
        sessions: settings.idleSessions,
        baseRssBytes,
        rssBytes: rss,
        byRole,
        fds,
        openSeconds: Math.round(openSeconds * 10) / 10,
      });
    } finally {
      // Stopping the processes ends the sessions: 10,000 DELETEs would only add minutes.
      await running.stop();
    }
  }
  return out;
}

/** initialize (its SSE answer read to the end) and notifications/initialized; the session stays open. */
async function openRawSession(t: RunningTarget): Promise<void> {
  const headers = {
    ...t.headers,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  const init = await fetch(t.url, { method: 'POST', headers, body: INITIALIZE_BODY });
  const text = await init.text();
  const session = init.headers.get('mcp-session-id');
  if (!init.ok || !session) throw new Error(`initialize failed (${init.status}): ${text.slice(0, 200)}`);
  const done = await fetch(t.url, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
    body: INITIALIZED_BODY,
  });
  await done.text();
  if (done.status !== 202) throw new Error(`notifications/initialized answered ${done.status}`);
}
