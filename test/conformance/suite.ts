/**
 * The conformance suite itself: its two installed releases, one run of it against a URL, and its
 * per-scenario results read back from the checks.json files it writes.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT, startProcess } from './processes.js';
import { isModernRevision } from './targets.js';

const TOOLS = join(REPO_ROOT, '.tools/node_modules');
export const TOOLS_NODE = join(TOOLS, 'node/bin/node');

/**
 * The releases scripts/install-conformance.sh installs: `stable` is the newest 0.1.x, which knows
 * revisions up to 2025-11-25; `alpha` is 0.2.0-alpha.12, which also knows 2026-07-28.
 */
export type SuiteVersion = 'stable' | 'alpha';
export const SUITE_VERSIONS: readonly SuiteVersion[] = ['stable', 'alpha'];

export function suiteCli(version: SuiteVersion): string {
  return join(TOOLS, `conformance-${version}/dist/index.js`);
}

/** Whether a release has scenarios for a spec version (the stable one stops at 2025-11-25). */
export function suiteSupports(version: SuiteVersion, specVersion: string): boolean {
  return version === 'alpha' || !isModernRevision(specVersion);
}

/**
 * The scenario set a spec version runs unless --suite says otherwise. For 2026-07-28 it is `all`:
 * the suite's `active` set leaves out every scenario introduced in 2026-07-28 (its "draft" set:
 * server-stateless, caching, sep-2164-resource-not-found, the input-required-result-* ones) and the
 * "pending" json-schema-2020-12 and SEP-2243 header scenarios, i.e. all that is new in the revision.
 * `all` with --spec-version 2026-07-28 is exactly the list `conformance list --server
 * --spec-version 2026-07-28` prints (40 scenarios; the tasks and skills extensions are not in it).
 */
export function defaultScenarioSet(specVersion: string): 'active' | 'all' {
  return isModernRevision(specVersion) ? 'all' : 'active';
}

type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
export interface Check {
  id: string;
  name?: string;
  status: CheckStatus;
  description?: string;
  errorMessage?: string;
  /** Scenario-specific; the tools-call-* scenarios put the tools/call result here. */
  details?: { result?: unknown };
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly passed: number;
  readonly failed: number;
  readonly warnings: number;
  readonly failures: readonly Check[];
  readonly checks: readonly Check[];
}

export interface SuiteResult {
  readonly ok: boolean;
  readonly suiteExitCode: number | null;
  readonly scenarios: readonly ScenarioResult[];
  /** The suite's own SUMMARY section, as printed. */
  readonly summary: string;
  readonly problems: readonly string[];
}

export interface SuiteOptions {
  readonly version: SuiteVersion;
  readonly url: string;
  readonly specVersion: string;
  /** The suite's scenario set; by default the one defaultScenarioSet picks for the spec version. */
  readonly scenarioSet?: string;
  readonly scenario?: string;
  readonly timeoutMs?: number;
  readonly workDir: string;
  /** Where the suite writes its results (checks.json per scenario, and its output). */
  readonly resultsDir: string;
  readonly echo: boolean;
}

/** Reads every checks.json the suite wrote; result dirs are named server-<scenario>-<timestamp>. */
async function readResults(dir: string): Promise<Map<string, Check[]>> {
  const results = new Map<string, Check[]>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const match = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(entry.name);
    if (!entry.isDirectory() || !match?.[1]) continue;
    const file = join(dir, entry.name, 'checks.json');
    if (!existsSync(file)) continue;
    results.set(match[1], JSON.parse(await readFile(file, 'utf8')) as Check[]);
  }
  return results;
}

/** Runs one suite release against `url`; a scenario passes when none of its checks failed. */
export async function runSuite(opts: SuiteOptions): Promise<SuiteResult> {
  const cli = suiteCli(opts.version);
  for (const file of [TOOLS_NODE, cli]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run scripts/install-conformance.sh first`);
  }
  const args = [cli, 'server', '--url', opts.url, '--spec-version', opts.specVersion, '-o', opts.resultsDir];
  if (opts.scenario) args.push('--scenario', opts.scenario);
  else args.push('--suite', opts.scenarioSet ?? defaultScenarioSet(opts.specVersion));
  // Only the 0.2 releases take a per-scenario timeout.
  if (opts.timeoutMs && opts.version === 'alpha') args.push('--timeout', String(opts.timeoutMs));
  const suite = startProcess({
    name: 'suite',
    command: TOOLS_NODE,
    args,
    cwd: opts.workDir,
    echo: opts.echo,
  });
  await suite.exited;
  const output = suite.output();
  await writeFile(join(opts.resultsDir, 'suite-output.txt'), output);

  // Every release announces each scenario as `Running client scenario 'NAME' against server`.
  const expected = [...output.matchAll(/^Running client scenario '([^']+)' against server/gm)].map(
    (m) => m[1] as string,
  );
  const announced = /^Running .+ \((\d+) scenarios\) against /m.exec(output);
  const results = await readResults(opts.resultsDir);
  const problems: string[] = [];
  if (announced && Number(announced[1]) !== expected.length) {
    problems.push(`the suite announced ${announced[1]} scenarios but started ${expected.length}`);
  }
  if (expected.length === 0) problems.push('the suite ran no scenario');
  const scenarios: ScenarioResult[] = expected.map((scenario) => {
    const checks = results.get(scenario);
    if (!checks) {
      problems.push(`${scenario}: no checks.json was written (the scenario crashed or timed out)`);
      return { scenario, passed: 0, failed: 1, warnings: 0, failures: [], checks: [] };
    }
    const failures = checks.filter((c) => c.status === 'FAILURE');
    return {
      scenario,
      passed: checks.filter((c) => c.status === 'SUCCESS').length,
      failed: failures.length,
      warnings: checks.filter((c) => c.status === 'WARNING').length,
      failures,
      checks,
    };
  });
  if (suite.child.exitCode !== 0) problems.push(`the suite exited with code ${suite.child.exitCode}`);
  // A suite run ends with a SUMMARY section; a single --scenario run with its Test Results, then
  // the failed checks again with the scenario's whole description (left out: reported below).
  const summaryAt = Math.max(output.indexOf('=== SUMMARY ==='), output.lastIndexOf('Test Results:'));
  const failedAt = output.indexOf('=== Failed Checks ===', summaryAt);
  return {
    ok: problems.length === 0 && scenarios.every((s) => s.failed === 0),
    suiteExitCode: suite.child.exitCode,
    scenarios,
    summary: summaryAt >= 0 ? output.slice(summaryAt, failedAt >= 0 ? failedAt : undefined).trim() : '',
    problems,
  };
}
