/**
 * Runs the official MCP conformance suite's server scenarios against an upstream directly, or
 * behind the gateway with its default config, or both with a scenario-level comparison.
 *
 *   node --import tsx test/conformance/run.ts --target direct|gateway --spec-version 2025-11-25
 *   node --import tsx test/conformance/run.ts --compare --suite-version stable --upstream everything
 *
 * --suite-version stable|alpha   the suite release: stable (0.1.x, up to 2025-11-25) or alpha
 *                                (0.2.0-alpha.12, also 2026-07-28); default alpha
 * --upstream test-server|everything
 *                                our conformance server (test/conformance/server.ts) or the real
 *                                @modelcontextprotocol/server-everything; default test-server
 * --spec-version V               default 2025-11-25
 * --via stdio|http               how the gateway reaches the upstream: as its stdio child or over
 *                                Streamable HTTP; default stdio, except http for the test server
 *                                at 2026-07-28 (see defaultVia)
 * --target direct|gateway        one run; exits non-zero unless every scenario passed
 * --compare                      a direct run, then a gateway run, and their scenario-level diff;
 *                                exits non-zero if any scenario passes directly but fails through
 *                                the gateway
 *
 * Directly, the test server runs in `http` mode for 2025-11-25 and `http-modern` (dual-era) for
 * 2026-07-28; server-everything runs in its streamableHttp mode. Behind the gateway over HTTP, the
 * test server runs in http-modern mode as a `protocol: 2026-07-28` upstream and server-everything
 * in streamableHttp mode as a 2025-11-25 one (see targets.ts).
 *
 * Other options: --gateway-cmd CMD ({config} is the config path), --suite active|all|pending|draft
 * (the scenario set; default see defaultScenarioSet), --scenario NAME, --timeout MS (per scenario,
 * alpha only), --results DIR (keep the suite's checks.json files there), --server-mode
 * http|http-modern (test server, direct only), --verbose (stream the suite's and servers' output).
 *
 * The suite needs Node >= 22 and is installed apart from the project by
 * scripts/install-conformance.sh into .tools/. Every process this runner starts is stopped by its
 * PID before it exits. Only 127.0.0.1 is ever contacted.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compareRuns, countLine, formatComparison } from './compare.js';
import { stopAll } from './processes.js';
import { runSuite, SUITE_VERSIONS, type SuiteResult, type SuiteVersion, suiteSupports } from './suite.js';
import {
  DEFAULT_GATEWAY_CMD,
  defaultServerMode,
  defaultVia,
  describeUpstream,
  type GatewayStarter,
  gatewayFromCommand,
  gatewayUpstream,
  type ServerMode,
  startEverythingHttp,
  startGatewayTarget,
  startTestServer,
  UPSTREAMS,
  type UpstreamName,
  VIAS,
  type Via,
} from './targets.js';

export interface RunOptions {
  readonly target: 'direct' | 'gateway';
  readonly suiteVersion: SuiteVersion;
  readonly upstream: UpstreamName;
  /** How the gateway reaches the upstream; by default see defaultVia. */
  readonly via?: Via;
  readonly specVersion: string;
  readonly scenarioSet?: string;
  readonly scenario?: string;
  readonly timeoutMs?: number;
  /** Where to keep checks.json files; a temp dir that is removed afterwards when unset. */
  readonly resultsDir?: string;
  readonly startGateway?: GatewayStarter;
  /** The test server's mode for --target direct; by default the one the spec version needs. */
  readonly serverMode?: ServerMode;
  readonly verbose?: boolean;
}

/** Starts the target, runs the suite against it, and stops every process it started. */
export async function runConformance(opts: RunOptions): Promise<SuiteResult> {
  const workDir = await mkdtemp(join(tmpdir(), 'portcullis-conformance-'));
  const resultsDir = opts.resultsDir ? resolve(opts.resultsDir) : join(workDir, 'results');
  await mkdir(resultsDir, { recursive: true });
  const echo = opts.verbose ?? false;
  const run = `suite ${opts.suiteVersion}, spec ${opts.specVersion}`;
  try {
    let url: string;
    if (opts.target === 'direct') {
      const mode = opts.serverMode ?? defaultServerMode(opts.specVersion);
      url =
        opts.upstream === 'everything' ? await startEverythingHttp(echo) : await startTestServer(mode, echo);
      const what =
        opts.upstream === 'everything' ? 'server-everything (streamableHttp)' : `test server (${mode})`;
      console.log(`conformance: target direct, ${what} at ${url}, ${run}`);
    } else {
      const via = opts.via ?? defaultVia(opts.upstream, opts.specVersion);
      const upstream = await gatewayUpstream(opts.upstream, via, echo);
      url = await startGatewayTarget(
        opts.startGateway ?? gatewayFromCommand(DEFAULT_GATEWAY_CMD),
        workDir,
        echo,
        upstream,
      );
      console.log(`conformance: target gateway at ${url} in front of ${describeUpstream(upstream)}, ${run}`);
    }
    return await runSuite({
      version: opts.suiteVersion,
      url,
      specVersion: opts.specVersion,
      scenarioSet: opts.scenarioSet,
      scenario: opts.scenario,
      timeoutMs: opts.timeoutMs,
      workDir,
      resultsDir,
      echo,
    });
  } finally {
    await stopAll();
    // Holds the gateway config and store and, unless --results was given, the suite's results.
    await rm(workDir, { recursive: true, force: true });
  }
}

function reportFailures(label: string, result: SuiteResult): void {
  for (const s of result.scenarios) {
    for (const f of s.failures) {
      console.log(`FAILED ${label}${s.scenario} / ${f.id}: ${f.errorMessage ?? f.description ?? ''}`);
    }
  }
  for (const p of result.problems) console.log(`PROBLEM ${label}${p}`);
}

function report(result: SuiteResult): void {
  if (result.summary) console.log(`\n${result.summary}`);
  reportFailures('', result);
  const checks = result.scenarios.reduce((n, s) => n + s.passed, 0);
  const warnings = result.scenarios.reduce((n, s) => n + s.warnings, 0);
  console.log(`\n${result.scenarios.length} scenarios run: ${checks} checks passed, ${warnings} warnings`);
  // Counted in scenarios, in the plain 'N passed, N failed' form that CI reads.
  console.log(`conformance: ${countLine(result)}`);
}

/** Runs direct, then through the gateway; true unless a scenario passes only directly. */
async function compare(opts: Omit<RunOptions, 'target'>): Promise<boolean> {
  const direct = await runConformance({ ...opts, target: 'direct' });
  const gateway = await runConformance({ ...opts, target: 'gateway' });
  const diff = compareRuns(direct, gateway);
  console.log(`\n${formatComparison(diff)}\n`);
  reportFailures('direct: ', direct);
  reportFailures('gateway: ', gateway);
  const via = opts.via ?? defaultVia(opts.upstream, opts.specVersion);
  const label = `suite ${opts.suiteVersion}, spec ${opts.specVersion}, upstream ${opts.upstream} via ${via}`;
  console.log(`\nconformance compare (${label}):`);
  console.log(`  direct:  ${countLine(direct)}`);
  console.log(`  gateway: ${countLine(gateway)}`);
  console.log(`  pass directly but fail through the gateway: ${diff.regressions.join(', ') || 'none'}`);
  for (const k of diff.known) console.log(`  known difference, ${k.scenario}: ${k.known}`);
  if (diff.gains.length > 0) console.log(`  pass only through the gateway: ${diff.gains.join(', ')}`);
  return diff.regressions.length === 0;
}

function usage(message: string): never {
  console.error(`${message}
usage: run.ts (--target direct|gateway | --compare) [--suite-version stable|alpha]
              [--upstream test-server|everything] [--via stdio|http] [--spec-version V]
              [--gateway-cmd CMD]`);
  process.exit(2);
}

function oneOf<T extends string>(value: string, allowed: readonly T[], option: string): T {
  if (!(allowed as readonly string[]).includes(value))
    usage(`${option} must be one of ${allowed.join(', ')}`);
  return value as T;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      compare: { type: 'boolean', default: false },
      'suite-version': { type: 'string', default: 'alpha' },
      upstream: { type: 'string', default: 'test-server' },
      via: { type: 'string' },
      'spec-version': { type: 'string', default: '2025-11-25' },
      'gateway-cmd': { type: 'string' },
      suite: { type: 'string' },
      scenario: { type: 'string' },
      timeout: { type: 'string' },
      results: { type: 'string' },
      'server-mode': { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const target = values.target;
  if (values.compare === (target !== undefined)) usage('give either --target or --compare');
  if (target !== undefined && target !== 'direct' && target !== 'gateway') {
    usage('--target must be direct or gateway');
  }
  const suiteVersion = oneOf(values['suite-version'], SUITE_VERSIONS, '--suite-version');
  const upstream = oneOf(values.upstream, UPSTREAMS, '--upstream');
  const via = values.via === undefined ? undefined : oneOf(values.via, VIAS, '--via');
  if (via && target === 'direct') usage('--via applies to the gateway only');
  const specVersion = values['spec-version'];
  if (!suiteSupports(suiteVersion, specVersion)) {
    usage(`the ${suiteVersion} suite has no scenarios for ${specVersion}: use --suite-version alpha`);
  }
  if (values['gateway-cmd'] && target === 'direct') usage('--gateway-cmd does not apply to --target direct');
  const serverMode = values['server-mode'];
  if (
    serverMode !== undefined &&
    (target !== 'direct' ||
      upstream !== 'test-server' ||
      (serverMode !== 'http' && serverMode !== 'http-modern'))
  ) {
    usage('--server-mode http|http-modern applies to --target direct --upstream test-server only');
  }
  if (values.compare && values.results) usage('--results applies to one --target run only');
  const onSignal = () => {
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const common = {
    suiteVersion,
    upstream,
    via,
    specVersion,
    scenarioSet: values.suite,
    scenario: values.scenario,
    timeoutMs: values.timeout ? Number(values.timeout) : undefined,
    startGateway: values['gateway-cmd'] ? gatewayFromCommand(values['gateway-cmd']) : undefined,
    verbose: values.verbose,
  };
  if (values.compare) {
    process.exitCode = (await compare(common)) ? 0 : 1;
    return;
  }
  const result = await runConformance({
    ...common,
    target: target as 'direct' | 'gateway',
    resultsDir: values.results,
    serverMode,
  });
  report(result);
  process.exitCode = result.ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch(async (err: unknown) => {
    console.error(`conformance: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exit(1);
  });
}
