/**
 * `npm run bench`: every target in bench/targets.ts under the same workloads, interleaved, in one
 * run; writes bench/results/latest.{md,json,png}. Settings come from the environment (see
 * bench/README.md), e.g. BENCH_CALLS=300 BENCH_SESSIONS=6 npm run bench for a quick look.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { aggregateConnect } from './aggregate.js';
import { renderPng } from './chart.js';
import {
  killEverythingNow,
  ROOT,
  type RunningTarget,
  type RunOptions,
  snapshotDist,
  startTarget,
  stopEverything,
} from './processes.js';
import { checkGoals, compare, markdown, type Results, type TargetResult } from './report.js';
import { percentileCurve, summarize } from './stats.js';
import { TARGETS } from './targets.js';
import * as workloads from './workloads.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** A target's results while the workloads fill them in. */
type Draft = Partial<Mutable<Omit<TargetResult, 'curves'>>> & { curves: Mutable<TargetResult['curves']> };

const WORKLOADS = ['sequential', 'concurrent', 'setup', 'memory', 'aggregate'] as const;
type Workload = (typeof WORKLOADS)[number];

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`bench: ${name} must be a whole number, not ${raw}`);
  return value;
}

function ints(name: string, fallback: readonly number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return [...fallback];
  return raw.split(',').map((v) => {
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`bench: ${name} must be a comma-separated list of whole numbers`);
    return n;
  });
}

function names(name: string, all: readonly string[]): string[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return [...all];
  const wanted = raw.split(',').map((v) => v.trim());
  for (const w of wanted)
    if (!all.includes(w)) throw new Error(`bench: ${name}: unknown "${w}" — one of ${all.join(', ')}`);
  return wanted;
}

const calls = int('BENCH_CALLS', 3000);
const settings: workloads.Settings = {
  calls,
  batch: Math.min(calls, int('BENCH_BATCH', 250)),
  warmup: int('BENCH_WARMUP', 300),
  concurrency: ints('BENCH_CONCURRENCY', [1, 16, 64]),
  sliceMs: int('BENCH_SLICE_MS', 1000),
  concurrentRounds: int('BENCH_CONCURRENT_ROUNDS', 5),
  sessions: int('BENCH_SESSIONS', 40),
  sessionBatch: Math.max(1, int('BENCH_SESSION_BATCH', 5)),
  idle: ints('BENCH_IDLE', [0, 100, 1000]),
  settleMs: int('BENCH_SETTLE_MS', 2000),
  idleSessions: int('BENCH_IDLE_SESSIONS', 10_000),
};
const selectedTargets = names(
  'BENCH_TARGETS',
  TARGETS.map((t) => t.name),
);
const selectedWorkloads = names('BENCH_WORKLOADS', WORKLOADS) as Workload[];
const outDir = process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(ROOT, 'bench/results');
const profile = process.env.BENCH_PROFILE === '1';

const startedAt = Date.now();
const progress = (line: string) => {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${seconds}s] ${line}\n`);
};

/** Builds dist/ when any src/ file is newer than what was built from it (BENCH_BUILD=0 skips, =1 forces). */
function buildIfStale(): void {
  const mode = process.env.BENCH_BUILD;
  if (mode === '0') return;
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const built = join(ROOT, 'dist', relative(join(ROOT, 'src'), path).replace(/\.ts$/, '.js'));
        let builtAt = 0;
        try {
          builtAt = statSync(built).mtimeMs;
        } catch {
          // never built
        }
        if (statSync(path).mtimeMs > builtAt) stale.push(relative(ROOT, path));
      }
    }
  };
  walk(join(ROOT, 'src'));
  if (mode !== '1' && stale.length === 0) return;
  progress(
    mode === '1'
      ? 'building dist/ (BENCH_BUILD=1)'
      : `dist/ is stale (${stale.slice(0, 3).join(', ')}…): npm run build`,
  );
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(
      'bench: npm run build failed — fix the build, or run with BENCH_BUILD=0 to use dist/ as it is',
    );
  }
}

async function main(): Promise<void> {
  const targets = TARGETS.filter((t) => selectedTargets.includes(t.name));
  const baseline = TARGETS.find((t) => t.baseline)?.name ?? 'direct-http';
  progress(
    `targets: ${targets.map((t) => t.name).join(', ')}; workloads: ${selectedWorkloads.join(', ')}; ` +
      `settings: ${JSON.stringify(settings)}${profile ? '; profiling Portcullis (--cpu-prof)' : ''}`,
  );
  if (targets.some((t) => t.processes.some((p) => p.portcullis !== undefined))) buildIfStale();

  workDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
  const profDir = join(outDir, 'prof');
  if (profile) mkdirSync(profDir, { recursive: true });
  const portcullisCli = snapshotDist(workDir);
  const options: RunOptions = profile
    ? { workDir, portcullisCli, profileDir: profDir }
    : { workDir, portcullisCli };
  const loadStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

  const running: RunningTarget[] = [];
  const timed = selectedWorkloads.filter((w) => w !== 'memory' && w !== 'aggregate');
  const results = new Map<string, Draft>(
    targets.map((t) => [t.name, { name: t.name, description: t.description, curves: {} }]),
  );
  if (timed.length > 0) {
    // The aggregated endpoint has no bare echo tool: it has a workload of its own.
    for (const target of targets.filter((t) => !t.aggregate)) {
      progress(`starting ${target.name}`);
      running.push(await startTarget(target, options));
    }
    if (selectedWorkloads.includes('sequential')) {
      progress('workload: sequential echo');
      const out = await workloads.sequential(running, settings, progress);
      for (const [name, r] of out) {
        const entry = results.get(name);
        if (!entry) continue;
        entry.sequential = summarize(r.histogram);
        entry.cpuPerCall = r.cpu;
        entry.curves.sequential = percentileCurve(r.histogram);
        if (r.protocolVersion !== undefined) entry.protocolVersion = r.protocolVersion;
      }
    }
    if (selectedWorkloads.includes('concurrent')) {
      progress('workload: concurrent echo');
      const out = await workloads.concurrent(running, settings, progress);
      for (const [name, levels] of out) {
        const entry = results.get(name);
        if (!entry) continue;
        entry.concurrent = levels.map((l) => ({
          sessions: l.sessions,
          callsPerSecond: Math.round(l.calls / l.seconds),
          calls: l.calls,
          errors: l.errors,
          latency: summarize(l.histogram),
        }));
        entry.curves.concurrent = Object.fromEntries(
          levels.map((l) => [String(l.sessions), percentileCurve(l.histogram)]),
        );
      }
    }
    if (selectedWorkloads.includes('setup')) {
      progress('workload: session set-up');
      const out = await workloads.sessionSetup(running, settings, progress);
      for (const [name, histogram] of out) {
        const entry = results.get(name);
        if (!entry) continue;
        entry.setup = summarize(histogram);
        entry.curves.setup = percentileCurve(histogram);
      }
      for (const t of running) {
        const pool = await workloads.warmPool(t);
        const entry = results.get(t.target.name);
        if (pool && entry) entry.warmPool = pool;
      }
    }
    progress('stopping targets');
    for (const r of running.reverse()) await r.stop();
  }
  const aggregated = targets.find((t) => t.aggregate);
  if (aggregated && selectedWorkloads.includes('aggregate')) {
    progress(`starting ${aggregated.name}`);
    const target = await startTarget(aggregated, options);
    progress('workload: aggregated connect (initialize + tools/list)');
    const entry = results.get(aggregated.name);
    try {
      const figures = await aggregateConnect(target, settings, progress);
      if (entry) entry.aggregate = figures;
    } finally {
      await target.stop();
    }
  }
  if (selectedWorkloads.includes('memory')) {
    progress('workload: memory with idle sessions');
    const out = await workloads.memory(
      targets.filter((t) => t.memory),
      settings,
      options,
      progress,
    );
    for (const [name, points] of out) {
      const entry = results.get(name);
      if (entry) entry.memory = points;
    }
    progress(`workload: ${settings.idleSessions} idle sessions`);
    const many = await workloads.manyIdle(
      targets.filter((t) => t.memory),
      settings,
      options,
      progress,
    );
    for (const [name, figures] of many) {
      const entry = results.get(name);
      if (entry) entry.manyIdle = figures;
    }
  }

  const finished = [...results.values()] as TargetResult[];
  const base = finished.find((t) => t.name === baseline);
  const withRatios = finished.map((t) => ({ ...t, vsBaseline: compare(t, base) }));
  const cpu = cpus();
  const report: Results = {
    date: new Date(startedAt).toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt) / 1000),
    machine: {
      cpu: cpu[0]?.model.trim() ?? 'unknown',
      cores: cpu.length,
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      os: `${process.platform} ${release()}`,
      node: process.versions.node,
      loadStart,
      loadEnd: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    },
    settings,
    baseline,
    targets: withRatios,
    goals: checkGoals(withRatios),
  };

  mkdirSync(outDir, { recursive: true });
  const md = markdown(report);
  writeFileSync(join(outDir, 'latest.md'), md);
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(report, roundFloats, 1)}\n`);
  writeFileSync(join(outDir, 'latest.png'), await renderPng(report));
  if (process.env.BENCH_KEEP === '1') progress(`kept process logs and configs in ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
  process.stdout.write(`\n${md}\n`);
  progress(`wrote ${relative(process.cwd(), join(outDir, 'latest.md'))}, latest.json, latest.png`);
  if (profile) progress(`CPU profiles of the Portcullis processes: ${relative(process.cwd(), profDir)}`);
}

/** Keeps latest.json small: curve coordinates to 4 significant digits. */
function roundFloats(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value;
}

/** The run's temporary directory (logs, configs, the copy of dist/): removed unless kept or failed. */
let workDir: string | undefined;
let stopping = false;
const interrupt = (signal: string) => {
  if (stopping) return;
  stopping = true;
  progress(`${signal}: stopping every process the bench started`);
  void stopEverything().finally(() => {
    if (workDir && process.env.BENCH_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
    process.exit(130);
  });
};
process.once('SIGINT', () => interrupt('SIGINT'));
process.once('SIGTERM', () => interrupt('SIGTERM'));
process.once('exit', killEverythingNow);

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    if (stopping) return; // interrupted: calls fail as their targets stop; the handler exits
    process.stderr.write(`\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopEverything();
    if (workDir) process.stderr.write(`\nprocess logs and configs kept in ${workDir}\n`);
    process.exit(1);
  },
);
