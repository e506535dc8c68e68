/**
 * The scenario-level diff of a direct run and a gateway run of the same suite: which scenarios
 * pass directly but fail through the gateway (regressions, the ones that fail a --compare run),
 * and which only pass through the gateway (e.g. a 2026-07-28 client the gateway bridges to a
 * 2025-11-25 upstream).
 */
import type { Check, ScenarioResult, SuiteResult } from './suite.js';

export interface ScenarioDiff {
  readonly scenario: string;
  /** undefined when the run did not include the scenario. */
  readonly direct: boolean | undefined;
  readonly gateway: boolean | undefined;
  /** Why a scenario that passes only directly is not a regression (see missingToolDifference). */
  readonly known?: string;
}

export interface Comparison {
  readonly rows: readonly ScenarioDiff[];
  /** Scenarios that pass directly and fail (or did not run) through the gateway, known ones aside. */
  readonly regressions: readonly string[];
  /** Scenarios that pass only directly for a reason missingToolDifference proves, with it. */
  readonly known: readonly ScenarioDiff[];
  /** Scenarios that fail directly and pass through the gateway. */
  readonly gains: readonly string[];
}

const passed = (s: ScenarioResult | undefined) => (s ? s.failed === 0 : undefined);

/** The SDK v1 McpServer's answer to a tools/call for a tool it does not have. */
const UPSTREAM_NO_SUCH_TOOL = /^MCP error -32602: Tool \S+ not found$/;
/** The gateway's refusal of a tool its upstream does not list (src/policy). */
const GATEWAY_NO_SUCH_TOOL = /tool '[^']+' is refused: upstream '[^']+' does not offer that tool/;

function isNoSuchToolResult(check: Check): boolean {
  const result = check.details?.result as { isError?: unknown; content?: unknown } | undefined;
  if (result?.isError !== true || !Array.isArray(result.content)) return false;
  return result.content.some(
    (c: { type?: unknown; text?: unknown }) =>
      c.type === 'text' && typeof c.text === 'string' && UPSTREAM_NO_SUCH_TOOL.test(c.text),
  );
}

/**
 * A scenario that passes directly only because the upstream lacks the scenario's fixture tool:
 * server-everything answers a call to a tool it does not have with an `isError` result whose text
 * says so, which satisfies tools-call-simple-text (it wants some text content) and tools-call-error
 * (it wants isError with text). The gateway refuses a tool the upstream does not list with a
 * JSON-RPC error, as the spec has it for unknown tools, so the same scenario fails there. It counts
 * as known only on that evidence: every passing direct check with a result holds such a result, and
 * every failing gateway check is that refusal.
 */
function missingToolDifference(direct: ScenarioResult, gateway: ScenarioResult): string | undefined {
  // Checks without a result (the 0.2 releases' wire-schema-valid) say nothing about the tool.
  const passing = direct.checks.filter((c) => c.status === 'SUCCESS' && c.details?.result !== undefined);
  if (passing.length === 0 || !passing.every(isNoSuchToolResult)) return undefined;
  if (gateway.failures.length === 0) return undefined;
  if (!gateway.failures.every((f) => GATEWAY_NO_SUCH_TOOL.test(f.errorMessage ?? ''))) return undefined;
  return 'the upstream has no such tool: it answers with an isError "not found" result the scenario accepts; the gateway refuses the unknown tool with a JSON-RPC error';
}

export function compareRuns(direct: SuiteResult, gateway: SuiteResult): Comparison {
  const byName = (r: SuiteResult) => new Map(r.scenarios.map((s) => [s.scenario, s]));
  const d = byName(direct);
  const g = byName(gateway);
  const names = [...d.keys(), ...[...g.keys()].filter((n) => !d.has(n))];
  const rows = names.map((scenario): ScenarioDiff => {
    const ds = d.get(scenario);
    const gs = g.get(scenario);
    const row = { scenario, direct: passed(ds), gateway: passed(gs) };
    if (!ds || !gs || row.direct !== true || row.gateway !== false) return row;
    const known = missingToolDifference(ds, gs);
    return known ? { ...row, known } : row;
  });
  const onlyDirect = rows.filter((r) => r.direct === true && r.gateway !== true);
  return {
    rows,
    regressions: onlyDirect.filter((r) => !r.known).map((r) => r.scenario),
    known: onlyDirect.filter((r) => r.known),
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
        ? r.known
          ? '  <- known difference (see below)'
          : '  <- fails only through the gateway'
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
