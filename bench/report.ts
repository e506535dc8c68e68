/** The results file (JSON), the markdown tables, and the goals checked against them. */
import { type AggregateFigures, aggregateGoal } from './aggregate.js';
import type { CurvePoint, LatencySummary } from './stats.js';
import type { CpuPerCall, ManyIdleResult, MemoryPoint, Settings, WarmPoolFigures } from './workloads.js';

export interface ConcurrentFigures {
  readonly sessions: number;
  readonly callsPerSecond: number;
  readonly calls: number;
  readonly errors: number;
  readonly latency: LatencySummary;
}

export interface TargetResult {
  readonly name: string;
  readonly description: string;
  readonly protocolVersion?: string;
  readonly sequential?: LatencySummary;
  /** Sequential workload: CPU time per call of the client, the target's main process, the rest. */
  readonly cpuPerCall?: CpuPerCall;
  readonly concurrent?: readonly ConcurrentFigures[];
  readonly setup?: LatencySummary;
  /** The target's warm pool after the session set-up workload (targets with `warmPool`). */
  readonly warmPool?: WarmPoolFigures;
  readonly memory?: readonly MemoryPoint[];
  /** Many idle sessions without GET streams (BENCH_IDLE_SESSIONS), on a fresh instance. */
  readonly manyIdle?: ManyIdleResult;
  /** The aggregated endpoint's connect against each member's own (bench/aggregate.ts). */
  readonly aggregate?: AggregateFigures;
  /** Each figure divided by the baseline's (latency and RSS: lower is better; throughput: higher). */
  readonly vsBaseline?: Readonly<Record<string, number>>;
  /** Percentile curves for the chart (not printed in the table). */
  readonly curves: {
    readonly sequential?: readonly CurvePoint[];
    readonly setup?: readonly CurvePoint[];
    readonly concurrent?: Readonly<Record<string, readonly CurvePoint[]>>;
  };
}

export interface Goal {
  readonly goal: string;
  readonly measured: string;
  /** undefined: not measured in this run (a target or workload was left out). */
  readonly met: boolean | undefined;
}

export interface Results {
  readonly date: string;
  readonly durationSeconds: number;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGiB: number;
    readonly os: string;
    readonly node: string;
    /** /proc/loadavg at the start and end: other work on the machine during the run shows here. */
    readonly loadStart: string;
    readonly loadEnd: string;
  };
  readonly settings: Settings;
  readonly baseline: string;
  readonly targets: readonly TargetResult[];
  readonly goals: readonly Goal[];
}

const MiB = 2 ** 20;

function ratio(value: number | undefined, base: number | undefined): number | undefined {
  if (value === undefined || base === undefined || base === 0) return undefined;
  return Math.round((value / base) * 100) / 100;
}

/** Ratios of each target's figures to the baseline's, keyed like "sequential.p50". */
export function compare(target: TargetResult, base: TargetResult | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (k: string, v: number | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  if (!base) return out;
  for (const p of ['p50Ms', 'p90Ms', 'p99Ms', 'maxMs'] as const) {
    put(`sequential.${p}`, ratio(target.sequential?.[p], base.sequential?.[p]));
    put(`setup.${p}`, ratio(target.setup?.[p], base.setup?.[p]));
  }
  for (const c of target.concurrent ?? []) {
    const b = base.concurrent?.find((x) => x.sessions === c.sessions);
    put(`concurrent.${c.sessions}.callsPerSecond`, ratio(c.callsPerSecond, b?.callsPerSecond));
    put(`concurrent.${c.sessions}.p99Ms`, ratio(c.latency.p99Ms, b?.latency.p99Ms));
  }
  for (const m of target.memory ?? []) {
    const b = base.memory?.find((x) => x.sessions === m.sessions);
    put(`memory.${m.sessions}.rss`, ratio(m.rssBytes, b?.rssBytes));
  }
  return out;
}

const find = (results: readonly TargetResult[], name: string) => results.find((t) => t.name === name);

/** The issue's goals, computed from this run (not timed tests: reported, never enforced). */
export function checkGoals(targets: readonly TargetResult[]): Goal[] {
  const goals: Goal[] = [];
  const direct = find(targets, 'direct-http')?.sequential;
  const http = find(targets, 'portcullis-http')?.sequential;
  {
    const addP50 = http && direct ? http.p50Ms - direct.p50Ms : undefined;
    const addP99 = http && direct ? http.p99Ms - direct.p99Ms : undefined;
    goals.push({
      goal: 'portcullis-http adds ≤ 0.3 ms p50 and ≤ 1.5 ms p99 over direct-http (sequential echo)',
      measured:
        addP50 === undefined || addP99 === undefined
          ? 'not measured'
          : `+${addP50.toFixed(3)} ms p50, +${addP99.toFixed(3)} ms p99`,
      met: addP50 === undefined || addP99 === undefined ? undefined : addP50 <= 0.3 && addP99 <= 1.5,
    });
  }
  {
    // The physical floor: what one HTTP hop costs in Node at all, measured in the same run.
    const pipe = find(targets, 'pipe')?.sequential;
    const full = find(targets, 'portcullis-http-full')?.sequential;
    const floor = pipe && direct ? pipe.p50Ms - direct.p50Ms : undefined;
    const added = full && direct ? full.p50Ms - direct.p50Ms : undefined;
    goals.push({
      goal: "portcullis-http-full (the whole stack) adds ≤ 1.2× the pipe proxy's p50 overhead over direct-http",
      measured:
        floor === undefined || added === undefined
          ? 'not measured'
          : `+${added.toFixed(3)} ms vs pipe +${floor.toFixed(3)} ms (×${(added / Math.max(floor, 0.001)).toFixed(2)})`,
      met: floor === undefined || added === undefined ? undefined : added <= 1.2 * Math.max(floor, 0),
    });
  }
  {
    // CPU time of the gateway process alone (not the upstream's), steadier than latency on a shared machine.
    const cpu = (name: string) => find(targets, name)?.cpuPerCall?.main;
    const full = cpu('portcullis-http-full');
    const context = [
      ['pipe proxy', cpu('pipe')],
      ['portcullis-http', cpu('portcullis-http')],
    ].filter((c): c is [string, number] => c[1] !== undefined);
    goals.push({
      goal: 'portcullis-http-full: gateway CPU per call ≤ 0.3 ms (sequential echo)',
      measured:
        full === undefined
          ? 'not measured'
          : `${full.toFixed(3)} ms${context.length > 0 ? ` (${context.map(([n, v]) => `${n} ${v.toFixed(3)} ms`).join(', ')})` : ''}`,
      met: full === undefined ? undefined : full <= 0.3,
    });
  }
  {
    const levels = [16, 64];
    const rate = (name: string, n: number) =>
      find(targets, name)?.concurrent?.find((c) => c.sessions === n)?.callsPerSecond;
    const pairs = levels.map((n) => ({
      n,
      full: rate('portcullis-http-full', n),
      direct: rate('direct-http', n),
    }));
    const measured = pairs.every((p) => p.full !== undefined && p.direct !== undefined);
    goals.push({
      goal: "portcullis-http-full: throughput with 16 and 64 sessions ≥ direct-http's (concurrent echo)",
      measured: measured
        ? pairs
            .map(
              (p) =>
                `${p.n}: ${p.full} vs ${p.direct} calls/s (×${((p.full ?? 0) / (p.direct ?? 1)).toFixed(2)})`,
            )
            .join(', ')
        : 'not measured',
      met: measured ? pairs.every((p) => (p.full ?? 0) >= (p.direct ?? 0)) : undefined,
    });
  }
  {
    // The whole stack (API key, policy, pinning, limits, audit to stdout and SQLite) against bridges that check nothing.
    const full = find(targets, 'portcullis-stdio-full')?.sequential;
    const others = ['supergateway', 'mcp-proxy'].map((n) => ({ n, s: find(targets, n)?.sequential }));
    const measured = others.filter((o) => o.s !== undefined);
    // The bare stdio bridge, for the floor: where it stands against the same bridges.
    const floor = find(targets, 'stdio-pipe')?.sequential;
    const versus = (p50: number) =>
      measured
        .map((o) => `${o.n} ${o.s?.p50Ms.toFixed(3)} ms (×${(p50 / (o.s?.p50Ms ?? 1)).toFixed(2)})`)
        .join(', ');
    goals.push({
      goal: "portcullis-stdio-full (the whole stack) p50 ≤ half of supergateway's and of mcp-proxy's (sequential echo)",
      measured:
        full && measured.length > 0
          ? `${full.p50Ms.toFixed(3)} ms vs ${versus(full.p50Ms)}` +
            (floor ? `; the bare stdio pipe ${floor.p50Ms.toFixed(3)} ms (${versus(floor.p50Ms)})` : '')
          : 'not measured',
      met:
        full && measured.length === others.length
          ? measured.every((o) => full.p50Ms <= (o.s?.p50Ms ?? 0) / 2)
          : undefined,
    });
  }
  {
    const warm = find(targets, 'portcullis-stdio-warm');
    const cold = find(targets, 'portcullis-stdio')?.setup;
    const pool = warm?.warmPool;
    goals.push({
      goal: 'portcullis-stdio-warm: stdio session set-up (initialize + first call) p50 ≤ 20 ms with a warm pool, its memory reported',
      measured: warm?.setup
        ? `${warm.setup.p50Ms.toFixed(1)} ms p50${cold ? ` (without a pool: ${cold.p50Ms.toFixed(1)} ms)` : ''}` +
          (pool
            ? `; pool ${pool.ready}/${pool.size} children, ${(pool.rssBytes / MiB).toFixed(0)} MiB resident`
            : '')
        : 'not measured',
      met: warm?.setup ? warm.setup.p50Ms <= 20 && pool !== undefined : undefined,
    });
  }
  {
    const point = find(targets, 'portcullis-http')?.memory?.find((m) => m.sessions === 1000);
    goals.push({
      goal: 'portcullis-http (HTTP upstream): RSS with 1,000 idle sessions < 150 MB',
      measured: point
        ? `${(point.rssBytes / 1e6).toFixed(1)} MB (${(point.rssBytes / MiB).toFixed(1)} MiB)`
        : 'not measured',
      met: point ? point.rssBytes < 150e6 : undefined,
    });
  }
  {
    const many = find(targets, 'portcullis-http')?.manyIdle;
    goals.push({
      goal: `portcullis-http (HTTP upstream): RSS with ${many ? many.sessions.toLocaleString('en') : '10,000'} idle sessions < 300 MB`,
      measured: many
        ? `${(many.rssBytes / 1e6).toFixed(1)} MB (${(many.rssBytes / MiB).toFixed(1)} MiB; sessions without a GET stream, see below)`
        : 'not measured',
      met: many ? many.rssBytes < 300e6 : undefined,
    });
  }
  goals.push(aggregateGoal(find(targets, 'portcullis-aggregate')?.aggregate));
  return goals;
}

const f = (v: number | undefined, digits = 2): string => (v === undefined ? '–' : v.toFixed(digits));
const x = (v: number | undefined): string => (v === undefined ? '–' : `×${v.toFixed(2)}`);
const plus = (v: number | undefined, base: number | undefined): string =>
  v === undefined || base === undefined ? '–' : `${v - base >= 0 ? '+' : ''}${(v - base).toFixed(2)}`;

export function markdown(results: Results): string {
  const { machine, settings, targets, baseline } = results;
  const base = find(targets, baseline);
  const lines: string[] = [];
  lines.push('# Portcullis bench — latest run', '');
  lines.push(
    `${results.date} · ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB · Node ${machine.node} · ${machine.os} · ` +
      `load ${machine.loadStart} → ${machine.loadEnd} · ${Math.round(results.durationSeconds)} s`,
    '',
  );
  lines.push(
    `Every target runs the same workload with the real MCP SDK client, in rounds whose target order is shuffled each round. ` +
      `Ratios (×) are to **${baseline}**. Latencies in ms, from hdr-histogram (µs resolution).`,
    '',
  );

  lines.push('## Goals', '', '| Goal | Measured | Met |', '| --- | --- | --- |');
  for (const g of results.goals) {
    lines.push(
      `| ${g.goal} | ${g.measured} | ${g.met === undefined ? 'not measured' : g.met ? 'yes' : '**no**'} |`,
    );
  }
  lines.push('');

  if (targets.some((t) => t.sequential)) {
    lines.push(
      `## Sequential \`tools/call echo\` (one session, ${settings.calls} calls per target after ${settings.warmup} warm-up, batches of ${settings.batch})`,
      '',
      '| Target | p50 | p90 | p99 | max | mean | p50 × | p99 × | p50 added | p99 added | CPU/call: client | gateway | upstream |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const t of targets) {
      const s = t.sequential;
      if (!s) continue;
      lines.push(
        `| ${t.name} | ${f(s.p50Ms)} | ${f(s.p90Ms)} | ${f(s.p99Ms)} | ${f(s.maxMs)} | ${f(s.meanMs)} | ` +
          `${x(t.vsBaseline?.['sequential.p50Ms'])} | ${x(t.vsBaseline?.['sequential.p99Ms'])} | ` +
          `${plus(s.p50Ms, base?.sequential?.p50Ms)} | ${plus(s.p99Ms, base?.sequential?.p99Ms)} | ` +
          `${f(t.cpuPerCall?.client, 3)} | ${f(t.cpuPerCall?.main, 3)} | ${f(t.cpuPerCall?.rest, 3)} |`,
      );
    }
    lines.push(
      '',
      'CPU/call: CPU time (user + system, ms) per call during the measured batches, from `process.cpuUsage()` for the client ' +
        'and `/proc/<pid>/stat` for the target: the gateway process (for direct-http, the server itself) and the rest of the ' +
        "target's process tree (upstream server, stdio children). On a 2-core machine, CPU per call is a steadier comparison " +
        'than latency when other work runs.',
      '',
    );
  }

  if (targets.some((t) => t.concurrent)) {
    const levels = settings.concurrency;
    lines.push(
      `## Concurrent \`echo\` (N sessions calling back to back; ${settings.concurrentRounds} slices of ${settings.sliceMs} ms per target and N)`,
      '',
      `| Target | ${levels.map((n) => `${n} × calls/s | ${n} × p50 | ${n} × p99 | ${n} × calls/s ×`).join(' | ')} | errors |`,
      `| --- | ${levels.map(() => '---: | ---: | ---: | ---:').join(' | ')} | ---: |`,
    );
    for (const t of targets) {
      if (!t.concurrent) continue;
      const cells = levels.map((n) => {
        const c = t.concurrent?.find((v) => v.sessions === n);
        return `${f(c?.callsPerSecond, 0)} | ${f(c?.latency.p50Ms)} | ${f(c?.latency.p99Ms)} | ${x(t.vsBaseline?.[`concurrent.${n}.callsPerSecond`])}`;
      });
      const errors = t.concurrent.reduce((sum, c) => sum + c.errors, 0);
      lines.push(`| ${t.name} | ${cells.join(' | ')} | ${errors} |`);
    }
    lines.push('');
  }

  if (targets.some((t) => t.setup)) {
    lines.push(
      `## Session set-up (initialize + initialized + first \`echo\`; ${settings.sessions} new sessions per target)`,
      '',
      '| Target | p50 | p90 | p99 | max | p50 × | warm pool |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const t of targets) {
      const s = t.setup;
      if (!s) continue;
      const pool = t.warmPool
        ? `${t.warmPool.ready}/${t.warmPool.size} ready, ${f(t.warmPool.rssBytes / MiB, 0)} MiB`
        : '–';
      lines.push(
        `| ${t.name} | ${f(s.p50Ms)} | ${f(s.p90Ms)} | ${f(s.p99Ms)} | ${f(s.maxMs)} | ${x(t.vsBaseline?.['setup.p50Ms'])} | ${pool} |`,
      );
    }
    lines.push(
      '',
      'warm pool: the children waiting in the pool once it refilled after the workload, and their resident memory together (from /readyz).',
      '',
    );
  }

  if (targets.some((t) => t.memory)) {
    const levels = [...settings.idle].sort((a, b) => a - b);
    const top = levels[levels.length - 1] as number;
    const bottom = levels[0] as number;
    lines.push(
      '## Memory (RSS of the gateway process — for direct-http, of the server — with idle sessions, fresh instance)',
      '',
      `| Target | ${levels.map((n) => `${n} sessions`).join(' | ')} | per session | ${top} × |`,
      `| --- | ${levels.map(() => '---:').join(' | ')} | ---: | ---: |`,
    );
    for (const t of targets) {
      if (!t.memory) continue;
      const at = (n: number) => t.memory?.find((m) => m.sessions === n)?.rssBytes;
      const hi = at(top);
      const lo = at(bottom);
      const per =
        hi !== undefined && lo !== undefined && top > bottom ? (hi - lo) / (top - bottom) / 1024 : undefined;
      lines.push(
        `| ${t.name} | ${levels.map((n) => `${f((at(n) ?? Number.NaN) / MiB, 1)} MiB`).join(' | ')} | ${f(per, 0)} KiB | ${x(t.vsBaseline?.[`memory.${top}.rss`])} |`,
      );
    }
    lines.push('');
  }

  if (targets.some((t) => t.manyIdle)) {
    lines.push(
      `## Many idle sessions (${settings.idleSessions.toLocaleString('en')} sessions without a GET stream, fresh instance)`,
      '',
      '| Target | RSS at 0 | RSS with all open | per session | descriptors | upstream RSS | opened in |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const t of targets) {
      const m = t.manyIdle;
      if (!m) continue;
      const per = (m.rssBytes - m.baseRssBytes) / m.sessions / 1024;
      lines.push(
        `| ${t.name} | ${f(m.baseRssBytes / MiB, 1)} MiB | ${f(m.rssBytes / MiB, 1)} MiB | ${f(per, 1)} KiB | ${m.fds} | ` +
          `${f((m.byRole.upstream ?? Number.NaN) / MiB, 0)} MiB | ${f(m.openSeconds, 1)} s |`,
      );
    }
    lines.push(
      '',
      'Each session: initialize and notifications/initialized, then nothing; the gateway holds its upstream session and the ' +
        "upstream's GET stream. No client GET stream: with one, each session costs the gateway two descriptors, and 10,000 " +
        'would pass the 20,000 this machine allows a process. The memory table above measures sessions with a GET stream.',
      '',
    );
  }

  lines.push('## Targets', '', '| Target | What | Protocol |', '| --- | --- | --- |');
  for (const t of targets) lines.push(`| ${t.name} | ${t.description} | ${t.protocolVersion ?? '–'} |`);
  lines.push('', '![latency distributions](latest.png)', '');
  return lines.join('\n');
}

/**
 * The README's Performance tables (bench/update-readme.ts puts them between its markers): the goals,
 * then one row per target with its key figures, from the same results as latest.md.
 */
export function readmeSummary(results: Results): string {
  const { machine, settings, targets } = results;
  const base = find(targets, results.baseline);
  const mark = (g: Goal) => (g.met === undefined ? 'not measured' : g.met ? '**met**' : '**not met**');
  const lines = [
    `Latest run: ${results.date.slice(0, 10)}, ${machine.cpu} ${machine.cores} cores, Node ${machine.node}, ` +
      `load average ${machine.loadStart} at the start and ${machine.loadEnd} at the end ` +
      '(other test suites share the machine; CPU per call is the steadier figure). ' +
      'Generated from `bench/results/latest.json` by `node --import tsx bench/update-readme.ts`.',
    '',
    '| Goal | Measured | |',
    '| --- | --- | --- |',
    ...results.goals
      .filter((g) => g.met !== undefined)
      .map((g) => `| ${g.goal} | ${g.measured} | ${mark(g)} |`),
    '',
  ];
  const levels = settings.concurrency.filter((n) =>
    targets.some((t) => t.concurrent?.some((c) => c.sessions === n)),
  );
  const columns: { title: string; cell: (t: TargetResult) => string }[] = [];
  if (targets.some((t) => t.sequential)) {
    columns.push(
      { title: 'p50 ms', cell: (t) => f(t.sequential?.p50Ms) },
      { title: 'p99 ms', cell: (t) => f(t.sequential?.p99Ms) },
      { title: 'p50 added', cell: (t) => plus(t.sequential?.p50Ms, base?.sequential?.p50Ms) },
      // For the baseline, the server's own CPU: there is no gateway.
      { title: 'gateway CPU/call ms', cell: (t) => f(t.cpuPerCall?.main, 3) },
    );
  }
  for (const n of levels) {
    columns.push({
      title: `${n} session${n === 1 ? '' : 's'} calls/s`,
      cell: (t) => {
        const c = t.concurrent?.find((v) => v.sessions === n);
        return c ? `${c.callsPerSecond} (${x(t.vsBaseline?.[`concurrent.${n}.callsPerSecond`])})` : '–';
      },
    });
  }
  if (targets.some((t) => t.setup)) columns.push({ title: 'set-up p50 ms', cell: (t) => f(t.setup?.p50Ms) });
  if (targets.some((t) => t.memory)) {
    const top = Math.max(...settings.idle);
    columns.push({
      title: `RSS, ${top.toLocaleString('en')} idle`,
      cell: (t) => {
        const m = t.memory?.find((p) => p.sessions === top);
        return m ? `${f(m.rssBytes / MiB, 0)} MiB` : '–';
      },
    });
  }
  if (columns.length === 0) return lines.join('\n');
  lines.push(
    `| Target | ${columns.map((c) => c.title).join(' | ')} |`,
    `| --- | ${columns.map(() => '---:').join(' | ')} |`,
    ...targets.map((t) => `| ${t.name} | ${columns.map((c) => c.cell(t)).join(' | ')} |`),
    '',
  );
  return lines.join('\n');
}
