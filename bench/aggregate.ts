/**
 * The aggregated endpoint's connect (issue 17): initialize + tools/list through /mcp with three
 * upstreams — server-everything over stdio, server-everything over Streamable HTTP, and
 * server-filesystem over stdio — against the same on each upstream's own /servers/<name>/mcp of the
 * same gateway, interleaved. The fan-out is parallel, so the aggregate should cost little more
 * than its slowest member: the goal is ≤ 1.2× that member's p50.
 */
import { BenchSession } from './client.js';
import type { RunningTarget } from './processes.js';
import { type Histogram, type LatencySummary, newHistogram, recordNs, shuffled, summarize } from './stats.js';
import type { Progress, Settings } from './workloads.js';

/** The members of the `portcullis-aggregate` target (bench/targets.ts), in its config order. */
export const AGGREGATE_MEMBERS = ['stdio', 'web', 'files'] as const;

export interface AggregateFigures {
  /** initialize + tools/list through /mcp. */
  readonly aggregated: LatencySummary;
  /** The same through each member's own endpoint. */
  readonly members: Readonly<Record<string, LatencySummary>>;
  /** Tools /mcp listed (all members' together). */
  readonly tools: number;
}

/** One client's connect as a person sees it: the session opened and its tools listed. */
async function connectAndList(url: string): Promise<number> {
  const session = await BenchSession.open(url);
  try {
    return (await session.client.listTools()).tools.length;
  } finally {
    await session.close();
  }
}

export async function aggregateConnect(
  t: RunningTarget,
  settings: Settings,
  progress: Progress,
): Promise<AggregateFigures> {
  const origin = new URL(t.url).origin;
  const paths = new Map<string, string>([
    ['/mcp', `${origin}/mcp`],
    ...AGGREGATE_MEMBERS.map((m) => [m, `${origin}/servers/${m}/mcp`] as [string, string]),
  ]);
  const histograms = new Map<string, Histogram>([...paths.keys()].map((k) => [k, newHistogram()]));
  // Warm-up: code paths, the OS file cache of the stdio servers, the catalogs seeded at start.
  for (const url of paths.values()) for (let i = 0; i < 2; i++) await connectAndList(url);
  let tools = 0;
  const rounds = Math.ceil(settings.sessions / settings.sessionBatch);
  for (let round = 1; round <= rounds; round++) {
    progress(`aggregate connect round ${round}/${rounds}`);
    for (const key of shuffled([...paths.keys()])) {
      for (let i = 0; i < settings.sessionBatch; i++) {
        const start = process.hrtime.bigint();
        const listed = await connectAndList(paths.get(key) as string);
        recordNs(histograms.get(key) as Histogram, process.hrtime.bigint() - start);
        if (key === '/mcp') tools = listed;
      }
    }
  }
  return {
    aggregated: summarize(histograms.get('/mcp') as Histogram),
    members: Object.fromEntries(AGGREGATE_MEMBERS.map((m) => [m, summarize(histograms.get(m) as Histogram)])),
    tools,
  };
}

/** The goal line (report.ts's Goal) for the aggregate target's figures, if measured. */
export function aggregateGoal(figures: AggregateFigures | undefined): {
  goal: string;
  measured: string;
  met: boolean | undefined;
} {
  const goal =
    'portcullis-aggregate: initialize + tools/list through /mcp with 3 upstreams p50 ≤ 1.2× the slowest single upstream’s';
  if (!figures) return { goal, measured: 'not measured', met: undefined };
  const [slowest, summary] = Object.entries(figures.members).sort((a, b) => b[1].p50Ms - a[1].p50Ms)[0] as [
    string,
    LatencySummary,
  ];
  const ratio = figures.aggregated.p50Ms / summary.p50Ms;
  return {
    goal,
    measured: `${figures.aggregated.p50Ms.toFixed(1)} ms (${figures.tools} tools) vs ${slowest} alone ${summary.p50Ms.toFixed(1)} ms (×${ratio.toFixed(2)}); ${Object.entries(
      figures.members,
    )
      .map(([m, s]) => `${m} ${s.p50Ms.toFixed(1)}`)
      .join(', ')} ms`,
    met: ratio <= 1.2,
  };
}
