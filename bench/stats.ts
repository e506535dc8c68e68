/** Latency histograms (hdr-histogram-js, microseconds) and the summaries the report prints. */
import hdr from 'hdr-histogram-js';

export type Histogram = ReturnType<typeof hdr.build>;

export function newHistogram(): Histogram {
  // 1 µs to 10 min at 3 significant digits; values above grow the histogram (autoResize).
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records one latency measured with process.hrtime.bigint() (nanoseconds) as whole microseconds. */
export function recordNs(histogram: Histogram, ns: bigint): void {
  histogram.recordValue(Math.max(1, Math.round(Number(ns) / 1000)));
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarize(histogram: Histogram): LatencySummary {
  return {
    count: histogram.totalCount,
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    maxMs: ms(histogram.maxValue),
    meanMs: Math.round(histogram.mean) / 1000,
  };
}

export interface CurvePoint {
  /** The percentile, 0–100. */
  readonly percentile: number;
  /** -log10(1 - percentile/100): 1 is p90, 2 is p99, 3 is p99.9 (the chart's x axis). */
  readonly nines: number;
  readonly ms: number;
}

/**
 * The percentile curve of a histogram, sampled evenly in "nines" up to the last percentile the
 * sample size supports (one sample beyond it), plus the maximum.
 */
export function percentileCurve(histogram: Histogram, step = 0.1): CurvePoint[] {
  const count = histogram.totalCount;
  if (count === 0) return [];
  const top = Math.log10(count);
  const points: CurvePoint[] = [];
  for (let nines = 0; nines < top; nines += step) {
    const percentile = 100 * (1 - 10 ** -nines);
    points.push({ percentile, nines, ms: ms(histogram.getValueAtPercentile(percentile)) });
  }
  points.push({ percentile: 100, nines: top, ms: ms(histogram.maxValue) });
  return points;
}

/** Fisher–Yates; the order targets take their turn in a round. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
