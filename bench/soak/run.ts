/**
 * The soak (issue 15 item 6): `npm run soak -- --minutes N [--out FILE]`. Starts a real gateway
 * through the CLI (a copy of dist/, built when stale — see bench/README.md) in front of
 * server-everything over stdio and over Streamable HTTP, with OAuth (alice signs in through the
 * pages), an admin API key, a short session idle timeout and a small per-tool rate limit; then
 * drives it (drivers.ts) for N minutes. Every minute: the gateway's RSS, open file descriptors and
 * live child processes. At the end: the RSS slope after warm-up, the child processes left alive
 * once the gateway stopped (orphans), and the audit events in its store against those the requests
 * must have left. Exits 1 on any orphan or lost audit event.
 */

import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../../src/auth/passwords.js';
import { PASSWORD } from '../../test/helpers/oauth-flow.js';
import {
  descendants,
  killEverythingNow,
  rssBytes,
  snapshotDist,
  startTarget,
  stopEverything,
} from '../processes.js';
import type { Target } from '../targets.js';
import { burst, churn, crashOne, Grant, loop, newCounters, type SoakContext, stateless } from './drivers.js';
import { AuditLedger } from './ledger.js';

const MINUTE = 60_000;
const SAMPLE_MS = 10_000;
const RATE_LIMITED_TOOL = 'get-sum';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    // The first minutes are warm-up (JIT, caches, the allocator's arenas filling): the slopes are
    // taken after them. A 40-minute run reached its RSS plateau after about 20 (README).
    warmup: { type: 'string' },
    out: { type: 'string' },
    // Heap snapshots of the gateway after warm-up and at the end, kept in this folder: what grew
    // is `node --import tsx bench/heap-summary.ts END --base WARM` (bench/README.md). Writing a
    // snapshot grows the RSS for good (V8 keeps the pages), so such a run's RSS slope means nothing.
    snapshots: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0) {
  process.stderr.write(`--minutes must be a positive number of minutes, not ${values.minutes}\n`);
  process.exit(2);
}
const warmupMinutes = values.warmup === undefined ? Math.min(2, minutes / 5) : Number(values.warmup);
if (!Number.isFinite(warmupMinutes) || warmupMinutes < 0 || warmupMinutes >= minutes) {
  process.stderr.write(`--warmup must be a number of minutes below --minutes, not ${values.warmup}\n`);
  process.exit(2);
}

const gatewayYaml = (hash: string) => `listen: { host: 127.0.0.1, port: {port} }
store: { sqlite: "{dir}/portcullis.db" }
auth:
  apiKeys: {}
  basic: { users: { alice: { passwordHash: "${hash}", roles: [editor] } } }
  oauth: { registration: open }
limits:
  perIp: 100000/min
  perPrincipal: 100000/min
  tools: { everything.${RATE_LIMITED_TOOL}: 4/min }
  sessions: { perPrincipal: 500, total: 1000 }
  sessionIdleTimeout: 20s
audit: { rateLimitWindow: 0 }
upstreams:
  everything:
    command: "{node}"
    args: ["{everything}", "stdio"]
  web:
    url: "http://127.0.0.1:{port:upstream}/mcp"
`;

const snapshotDir = values.snapshots === undefined ? undefined : resolve(values.snapshots);
if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });

const target = (hash: string): Target => ({
  name: 'soak',
  description: 'Portcullis with OAuth, stdio and HTTP upstreams, limits and audit, under churn',
  processes: [
    {
      role: 'upstream',
      node: ['{everything}', 'streamableHttp'],
      env: { PORT: '{port}' },
      loopbackOnly: true,
      readyPath: '/mcp',
    },
    {
      role: 'gateway',
      portcullis: gatewayYaml(hash),
      apiKey: { scopes: ['*'] },
      readyPath: '/healthz',
      ...(snapshotDir && {
        env: { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshotDir}` },
      }),
    },
  ],
  mcpPath: '/servers/everything/mcp',
});

interface Sample {
  readonly minute: number;
  readonly rssMb: number;
  /** V8 heap in use, from the gateway's own /metrics (prom-client's default metrics). */
  readonly heapMb: number;
  /** Memory V8 holds outside its heap (Buffers, native objects it tracks), from /metrics. */
  readonly externalMb: number;
  /**
   * Anonymous memory (heap, malloc, buffers) as opposed to mapped files: RSS growing while this
   * and the heap stay flat is file pages (the SQLite file, libraries), not a leak.
   */
  readonly anonMb: number;
  readonly fds: number;
  readonly children: number;
}

const openFds = (pid: number): number => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
};

const anonMb = (pid: number): number => {
  try {
    const kb = /^Anonymous:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
};

async function runtimeMb(base: string): Promise<{ heapMb: number; externalMb: number }> {
  const text = await fetch(`${base}/metrics`).then(
    (res) => res.text(),
    () => '',
  );
  const metric = (name: string) => {
    const bytes = new RegExp(`^portcullis_nodejs_${name} (\\S+)$`, 'm').exec(text)?.[1];
    return bytes === undefined ? Number.NaN : Number(bytes) / 2 ** 20;
  };
  return { heapMb: metric('heap_size_used_bytes'), externalMb: metric('external_memory_bytes') };
}

/** Least-squares slope (MB per minute) of one measure over time. */
function slope(samples: readonly Sample[], measure: 'rssMb' | 'heapMb' | 'externalMb' | 'anonMb'): number {
  const points = samples.filter((p) => Number.isFinite(p[measure]));
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.minute, 0) / n;
  const my = points.reduce((s, p) => s + p[measure], 0) / n;
  const sxy = points.reduce((s, p) => s + (p.minute - mx) * (p[measure] - my), 0);
  const sxx = points.reduce((s, p) => s + (p.minute - mx) ** 2, 0);
  return sxy / sxx;
}

/** Has the gateway write a heap snapshot (SIGUSR2) and waits until the file is complete. */
async function heapSnapshot(pid: number, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  let size = -1;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file === undefined) continue;
    const now = statSync(join(dir, file)).size;
    // V8 writes the snapshot in one go while the process is paused: a size that holds is the end.
    if (now === size && now > 0) return join(dir, file);
    size = now;
  }
}

/** The identity of a live process (pid + start time, as pids are reused), or undefined when gone. */
function identity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : `${pid}:${fields[19]}`;
  } catch {
    return undefined;
  }
}

const workDir = mkdtempSync(join(tmpdir(), 'pcl-soak-'));
process.on('SIGINT', () => {
  killEverythingNow();
  process.exit(130);
});

const running = await startTarget(target(await hashPassword(PASSWORD)), {
  workDir,
  portcullisCli: snapshotDist(workDir),
});
const gateway = running.main;
const base = `http://127.0.0.1:${gateway.port}`;
const ledger = new AuditLedger();
const counters = newCounters();
let stop = false;
let verdict = 1;
try {
  const grants = [
    await Grant.obtain(base, `${base}/servers/everything/mcp`, ledger),
    await Grant.obtain(base, `${base}/servers/web/mcp`, ledger),
  ];
  const [stdio, web] = grants as [Grant, Grant];
  const ctx: SoakContext = {
    base,
    grants,
    adminKey: gateway.apiKey as string,
    ledger,
    counters,
    stopped: () => stop,
  };
  const started = Date.now();
  const samples: Sample[] = [];
  const sample = async () => {
    const sample: Sample = {
      minute: (Date.now() - started) / MINUTE,
      rssMb: (rssBytes(gateway.pid) ?? Number.NaN) / 2 ** 20,
      anonMb: anonMb(gateway.pid),
      ...(await runtimeMb(base)),
      fds: openFds(gateway.pid),
      children: descendants(gateway.pid).length,
    };
    samples.push(sample);
    return sample;
  };
  process.stdout.write(
    `soak: ${minutes} min against ${base} (gateway pid ${gateway.pid}), work dir ${workDir}\n`,
  );
  const sampler = setInterval(() => void sample(), SAMPLE_MS);
  const reporter = setInterval(async () => {
    const s = await sample();
    process.stdout.write(
      `minute ${s.minute.toFixed(0)}: RSS ${s.rssMb.toFixed(1)} MB (anonymous ${s.anonMb.toFixed(1)}), heap ${s.heapMb.toFixed(1)} MB, external ${s.externalMb.toFixed(1)} MB, ${s.fds} open fds, ${s.children} children; ` +
        `${counters.sessions} sessions, ${counters.statelessCalls} stateless calls, ${counters.refreshes} refreshes, ` +
        `${counters.crashes} crashes, ${counters.rateLimited} rate-limited, ${[...counters.errors.values()].reduce((a, b) => a + b, 0)} errors\n`,
    );
  }, MINUTE);
  const deadline = started + minutes * MINUTE;
  const timer = setInterval(() => {
    if (Date.now() >= deadline) stop = true;
  }, 250);
  await sample();
  const snapshots: string[] = [];
  const warmSnapshot =
    snapshotDir &&
    setTimeout(
      async () => snapshots.push(await heapSnapshot(gateway.pid, snapshotDir)),
      warmupMinutes * MINUTE,
    );
  await Promise.all([
    loop(ctx, 1500, () => churn(ctx, stdio)),
    loop(ctx, 3000, () => churn(ctx, web)),
    loop(ctx, 500, async () => void (await stateless(ctx, stdio, 'echo', { message: 'soak' }))),
    loop(ctx, 1000, async () => void (await stateless(ctx, web, 'echo', { message: 'soak' }))),
    loop(ctx, 20_000, async () => {
      for (const grant of grants) await grant.refresh(ledger);
      counters.refreshes += grants.length;
    }),
    loop(ctx, 30_000, () => crashOne(ctx)),
    loop(ctx, 15_000, () => burst(ctx, stdio, RATE_LIMITED_TOOL, 8)),
  ]);
  clearInterval(sampler);
  clearInterval(reporter);
  clearInterval(timer);
  if (warmSnapshot) clearTimeout(warmSnapshot);
  const last = await sample();
  if (snapshotDir && snapshots.length > 0) {
    snapshots.push(await heapSnapshot(gateway.pid, snapshotDir));
    process.stdout.write(
      `soak: heap snapshots ${snapshots.join(', ')}; what grew: node --import tsx bench/heap-summary.ts ${snapshots[1]} --base ${snapshots[0]}\n`,
    );
  }

  // Stop the gateway alone (SIGTERM) and see which of its children outlive it.
  const family = descendants(gateway.pid)
    .map((p) => identity(p.pid))
    .filter((id): id is string => id !== undefined);
  const exited = once(gateway.child, 'exit');
  process.kill(gateway.pid, 'SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  await new Promise((r) => setTimeout(r, 2000));
  const orphans = family.filter((id) => identity(Number(id.split(':')[0])) === id);
  for (const id of orphans) process.kill(Number(id.split(':')[0]), 'SIGKILL');

  const audit = ledger.compare(join(workDir, 'soak', 'portcullis.db'));
  const lost = Object.values(audit.lost).reduce((sum, l) => sum + l.count, 0);
  const afterWarmup = samples.filter((s) => s.minute >= warmupMinutes);
  const figures = {
    minutes,
    warmupMinutes,
    rssSlopeMbPerMinute: Number(slope(afterWarmup, 'rssMb').toFixed(3)),
    anonSlopeMbPerMinute: Number(slope(afterWarmup, 'anonMb').toFixed(3)),
    heapSlopeMbPerMinute: Number(slope(afterWarmup, 'heapMb').toFixed(3)),
    externalSlopeMbPerMinute: Number(slope(afterWarmup, 'externalMb').toFixed(3)),
    rssMb: {
      first: Number(samples[0]?.rssMb.toFixed(1)),
      afterWarmup: Number(afterWarmup[0]?.rssMb.toFixed(1)),
      last: Number(last.rssMb.toFixed(1)),
      max: Number(Math.max(...samples.map((s) => s.rssMb)).toFixed(1)),
    },
    heapMb: {
      afterWarmup: Number(afterWarmup[0]?.heapMb.toFixed(1)),
      last: Number(last.heapMb.toFixed(1)),
    },
    /** [minute, RSS MB, anonymous MB, heap MB, external MB] every 10 s. */
    samples: samples.map((s) =>
      [s.minute, s.rssMb, s.anonMb, s.heapMb, s.externalMb].map((v) => Number(v.toFixed(2))),
    ),
    openFds: {
      afterWarmup: afterWarmup[0]?.fds,
      last: last.fds,
      max: Math.max(...samples.map((s) => s.fds)),
    },
    childrenAtEnd: last.children,
    maxChildren: Math.max(...samples.map((s) => s.children)),
    orphans: orphans.length,
    audit: {
      expected: audit.expected,
      found: audit.found,
      lost,
      lostByType: audit.lost,
      written: audit.written,
    },
    counters: { ...counters, errors: Object.fromEntries(counters.errors) },
  };
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(figures, null, 2)}\n`);
  process.stdout.write(
    `soak: RSS slope after warm-up ${figures.rssSlopeMbPerMinute} MB/min (heap ${figures.heapSlopeMbPerMinute} MB/min), ${orphans.length} orphaned children, ` +
      `audit ${audit.found}/${audit.expected} expected events written (${lost} lost)\n`,
  );
  verdict = orphans.length === 0 && lost === 0 ? 0 : 1;
} finally {
  stop = true;
  await stopEverything();
  if (verdict === 0) rmSync(workDir, { recursive: true, force: true });
  else process.stdout.write(`soak: logs and the store are kept in ${workDir}\n`);
}
process.exit(verdict);
