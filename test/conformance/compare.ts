/**
 * The scenario-level diff of a direct run and a gateway run of the same suite: which scenarios
 * pass directly but fail through the gateway (regressions, the ones that fail a --compare run),
 * and which only pass through the gateway (e.g. a 2026-07-28 client the gateway bridges to a
 * 2025-11-25 upstream).
 */
import type { ScenarioResult, SuiteResult } from './suite.js';

export interface ScenarioDiff {
  readonly scenario: string;
  /** undefined when the run did not include the scenario. */
  readonly direct: boolean | undefined;
  readonly gateway: boolean | undefined;
}

export interface Comparison {
  readonly rows: readonly ScenarioDiff[];
  /** Scenarios that pass directly and fail (or did not run) through the gateway. */
  readonly regressions: readonly string[];
  /** Scenarios that fail directly and pass through the gateway. */
  readonly gains: readonly string[];
}

const passed = (s: ScenarioResult | undefined) => (s ? s.failed === 0 : undefined);

export function compareRuns(direct: SuiteResult, gateway: SuiteResult): Comparison {
  const byName = (r: SuiteResult) => new Map(r.scenarios.map((s) => [s.scenario, s]));
  const d = byName(direct);
  const g = byName(gateway);
  const names = [...d.keys(), ...[...g.keys()].filter((n) => !d.has(n))];
  const rows = names.map((scenario) => ({
    scenario,
    direct: passed(d.get(scenario)),
    gateway: passed(g.get(scenario)),
  }));
  return {
    rows,
    regressions: rows.filter((r) => r.direct === true && r.gateway !== true).map((r) => r.scenario),
    gains: rows.filter((r) => r.direct !== true && r.gateway === true).map((r) => r.scenario),
  };
}

const outcome = (p: boolean | undefined) => (p === undefined ? 'not run' : p ? 'pass' : 'FAIL');

/** The diff as a text table, one scenario a line, differences marked. */
export function formatComparison(c: Comparison): string {
  const width = Math.max(8, ...c.rows.map((r) => r.scenario.length));
  const lines = [`${'scenario'.padEnd(width)}  direct   gateway`];
  for (const r of c.rows) {
    const mark =
      r.direct === true && r.gateway !== true
        ? '  <- fails only through the gateway'
        : r.direct !== true && r.gateway === true
          ? '  <- passes only through the gateway'
          : '';
    lines.push(
      `${r.scenario.padEnd(width)}  ${outcome(r.direct).padEnd(7)}  ${outcome(r.gateway).padEnd(7)}${mark}`,
    );
  }
  return lines.join('\n');
}

/** `N passed, M failed` counted in scenarios. */
export function countLine(r: SuiteResult): string {
  const failed = r.scenarios.filter((s) => s.failed > 0).length;
  return `${r.scenarios.length - failed} passed, ${failed} failed`;
}
