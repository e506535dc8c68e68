/**
 * Runs the official MCP conformance suite's server scenarios against our test server, either
 * directly or behind the gateway, and exits non-zero unless every scenario that ran passed.
 *
 *   node --import tsx test/conformance/run.ts --target direct  --spec-version 2025-11-25
 *   node --import tsx test/conformance/run.ts --target gateway --spec-version 2025-11-25 \
 *       [--gateway-cmd "node dist/cli/main.js start --config {config}"]
 *   node --import tsx test/conformance/run.ts --target direct  --spec-version 2026-07-28
 *   node --import tsx test/conformance/run.ts --target gateway --spec-version 2026-07-28
 *
 * Spec 2025-11-25 runs the test server in `http` mode (direct) or lets the gateway run it over stdio.
 * Spec 2026-07-28 runs it in `http-modern` mode (stateless 2026-07-28 plus 2025 sessions on one
 * endpoint); behind the gateway it is a process of its own on a free loopback port, configured as an
 * HTTP upstream with `protocol: 2026-07-28`.
 *
 * Other options: --suite active|all|pending|draft (default: active for 2025-11-25, all for
 * 2026-07-28, see defaultSuite), --scenario NAME, --timeout MS (per scenario), --results DIR (keep
 * the suite's checks.json files there), --server-mode http|http-modern (direct only; e.g. the 2025
 * suite against the dual-era server), --verbose (stream the suite's and the servers' output).
 *
 * The suite needs Node >= 22 and is installed apart from the project by
 * scripts/install-conformance.sh into .tools/. Every process this runner starts is stopped by its
 * PID before it exits. Only 127.0.0.1 is ever contacted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TEST_SERVER = join(REPO_ROOT, 'test/conformance/server.ts');
const TOOLS_NODE = join(REPO_ROOT, '.tools/node_modules/node/bin/node');
const SUITE_CLI = join(REPO_ROOT, '.tools/node_modules/@modelcontextprotocol/conformance/dist/index.js');
const DEFAULT_GATEWAY_CMD = `${process.execPath} dist/cli/main.js start --config {config}`;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Processes

/** A child process this runner started, with its output kept for diagnostics. */
export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /** Echo the process's output, prefixed with its name, as it arrives. */
  readonly echo?: boolean;
}

const started = new Set<Started>();

export function startProcess(opts: StartOptions): Started {
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd ?? REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    if (opts.echo) process.stderr.write(text.replace(/^(?=.)/gm, `[${opts.name}] `));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveExit();
    child.once('exit', () => resolveExit());
    // spawn failures (e.g. ENOENT) emit 'error' and may never emit 'exit'.
    child.once('error', (err) => {
      output += `\n${err.message}\n`;
      resolveExit();
    });
  });
  const proc: Started = { name: opts.name, child, output: () => output, exited };
  started.add(proc);
  exited.then(() => started.delete(proc));
  return proc;
}

function isRunning(proc: Started): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null && proc.child.pid !== undefined;
}

/** Stops one process by its PID: SIGTERM, then SIGKILL if it is still there after a grace period. */
export async function stopProcess(proc: Started): Promise<void> {
  if (!isRunning(proc)) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (isRunning(proc)) proc.child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  await proc.exited;
  clearTimeout(timer);
}

async function stopAll(): Promise<void> {
  await Promise.all([...started].map(stopProcess));
}

/** Rejects when `proc` exits before `ready` settles, so a crash is reported instead of a timeout. */
function untilReady<T>(proc: Started, ready: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not ready after ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
  });
  const crashed = proc.exited.then(() => {
    throw new Error(`${what}: exited (code ${proc.child.exitCode}) before it was ready:\n${proc.output()}`);
  });
  return Promise.race([ready, timeout, crashed]).finally(() => clearTimeout(timer));
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Targets

/**
 * The test server's HTTP modes: `http` serves 2025-11-25 (sessions); `http-modern` serves 2026-07-28
 * (stateless, per request) and 2025-11-25 sessions on the same endpoint.
 */
export type ServerMode = 'http' | 'http-modern';

/** Revisions from 2026-07-28 on are stateless; dates compare as strings. */
export function isModernRevision(specVersion: string): boolean {
  return specVersion >= '2026-07-28';
}

/** The server mode a spec version is run against unless --server-mode says otherwise. */
export function defaultServerMode(specVersion: string): ServerMode {
  return isModernRevision(specVersion) ? 'http-modern' : 'http';
}

/**
 * The suite a spec version runs unless --suite says otherwise. For 2026-07-28 it is `all`: the
 * suite's `active` set leaves out every scenario introduced in 2026-07-28 (its "draft" set:
 * server-stateless, caching, sep-2164-resource-not-found, the input-required-result-* ones) and the
 * "pending" json-schema-2020-12 and SEP-2243 header scenarios, i.e. all that is new in the revision.
 * `all` with --spec-version 2026-07-28 is exactly the list `conformance list --server
 * --spec-version 2026-07-28` prints (40 scenarios; the tasks and skills extensions are not in it).
 */
export function defaultSuite(specVersion: string): 'active' | 'all' {
  return isModernRevision(specVersion) ? 'all' : 'active';
}

/** Starts the test server in an HTTP mode and resolves with its MCP URL once it listens. */
async function startTestServer(mode: ServerMode, echo: boolean): Promise<string> {
  // Port 0: the server binds a free port itself and announces it, so no other process can take it
  // between our choosing and its binding.
  const proc = startProcess({
    name: 'test-server',
    command: process.execPath,
    args: ['--import', 'tsx', TEST_SERVER, mode, '--port', '0'],
    echo,
  });
  const listening = new Promise<string>((resolveUrl) => {
    let seen = '';
    proc.child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(seen);
      if (match?.[1]) resolveUrl(match[1]);
    });
  });
  return untilReady(proc, listening, 'test server');
}

/** Starts a gateway given the path of its config file; the runner stops it by PID afterwards. */
export type GatewayStarter = (configPath: string, echo: boolean) => Started;

/**
 * A GatewayStarter from a command line: `{config}` is replaced by the config path (or
 * `--config <path>` is appended when there is no placeholder). Words are split on whitespace and
 * run without a shell, so the PID stopped at the end is the gateway's own.
 */
export function gatewayFromCommand(commandLine: string): GatewayStarter {
  return (configPath, echo) => {
    const words = commandLine.trim().split(/\s+/);
    const hasPlaceholder = words.some((w) => w.includes('{config}'));
    const args = words.slice(1).map((w) => w.replaceAll('{config}', configPath));
    if (!hasPlaceholder) args.push('--config', configPath);
    const command = words[0] === 'node' ? process.execPath : (words[0] as string);
    return startProcess({ name: 'gateway', command, args, echo });
  };
}

/** Where the gateway's one upstream is: the stdio test server, or an HTTP one that speaks 2026-07-28. */
export type GatewayUpstream =
  | { readonly kind: 'stdio' }
  | { readonly kind: 'modern-http'; readonly url: string };

/**
 * The gateway config: loopback listener, no auth, one upstream. For 2025-11-25 the gateway runs the
 * test server itself over stdio; for 2026-07-28 the test server runs apart (http-modern) and the
 * gateway reaches it over HTTP, speaking 2026-07-28 to it.
 */
export function gatewayConfig(port: number, upstream: GatewayUpstream = { kind: 'stdio' }): string {
  const conformance =
    upstream.kind === 'stdio'
      ? { command: process.execPath, args: ['--import', 'tsx', TEST_SERVER, 'stdio'], cwd: REPO_ROOT }
      : { url: upstream.url, protocol: '2026-07-28' };
  return toYaml({
    listen: { host: '127.0.0.1', port },
    auth: { none: true },
    upstreams: { conformance },
  });
}

/** Polls GET /healthz until it answers 200, for as long as the gateway process is alive. */
async function waitForHealthz(baseUrl: string, proc: Started): Promise<void> {
  while (isRunning(proc)) {
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the gateway in front of the test server; resolves with the MCP URL once healthy. */
async function startGatewayTarget(
  start: GatewayStarter,
  workDir: string,
  echo: boolean,
  upstream: GatewayUpstream,
): Promise<string> {
  const port = await freePort();
  const configPath = join(workDir, 'portcullis.conformance.yaml');
  await writeFile(configPath, gatewayConfig(port, upstream));
  const proc = start(configPath, echo);
  const baseUrl = `http://127.0.0.1:${port}`;
  await untilReady(proc, waitForHealthz(baseUrl, proc), 'gateway');
  return `${baseUrl}/mcp`;
}

// ---------------------------------------------------------------------------------------------
// The suite

type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
interface Check {
  id: string;
  name?: string;
  status: CheckStatus;
  description?: string;
  errorMessage?: string;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly passed: number;
  readonly failed: number;
  readonly warnings: number;
  readonly failures: readonly Check[];
}

export interface RunResult {
  readonly ok: boolean;
  readonly suiteExitCode: number | null;
  /** The scenarios the suite announced it would run. */
  readonly expected: readonly string[];
  readonly scenarios: readonly ScenarioResult[];
  /** The suite's own SUMMARY section, as printed. */
  readonly summary: string;
  readonly problems: readonly string[];
}

export interface RunOptions {
  readonly target: 'direct' | 'gateway';
  readonly specVersion: string;
  /** The suite's scenario set; by default the one defaultSuite picks for the spec version. */
  readonly suite?: string;
  readonly scenario?: string;
  readonly timeoutMs?: number;
  /** Where to keep checks.json files; a temp dir that is removed afterwards when unset. */
  readonly resultsDir?: string;
  readonly startGateway?: GatewayStarter;
  /** The test server's mode for --target direct; by default the one the spec version needs. */
  readonly serverMode?: ServerMode;
  readonly verbose?: boolean;
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

export async function runConformance(opts: RunOptions): Promise<RunResult> {
  for (const file of [TOOLS_NODE, SUITE_CLI]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run scripts/install-conformance.sh first`);
  }
  const workDir = await mkdtemp(join(tmpdir(), 'portcullis-conformance-'));
  const resultsDir = opts.resultsDir ? resolve(opts.resultsDir) : join(workDir, 'results');
  await mkdir(resultsDir, { recursive: true });
  const echo = opts.verbose ?? false;
  try {
    let url: string;
    if (opts.target === 'direct') {
      const mode = opts.serverMode ?? defaultServerMode(opts.specVersion);
      url = await startTestServer(mode, echo);
      console.log(
        `conformance: target direct (test server in ${mode} mode) at ${url}, spec ${opts.specVersion}`,
      );
    } else {
      // 2026-07-28: the gateway's upstream is the test server in http-modern mode, a process of its
      // own on a free loopback port; 2025-11-25: the gateway runs the stdio test server itself.
      const upstream: GatewayUpstream = isModernRevision(opts.specVersion)
        ? { kind: 'modern-http', url: await startTestServer('http-modern', echo) }
        : { kind: 'stdio' };
      url = await startGatewayTarget(
        opts.startGateway ?? gatewayFromCommand(DEFAULT_GATEWAY_CMD),
        workDir,
        echo,
        upstream,
      );
      const behind = upstream.kind === 'stdio' ? 'stdio test server' : `2026-07-28 upstream ${upstream.url}`;
      console.log(
        `conformance: target gateway at ${url} (in front of the ${behind}), spec ${opts.specVersion}`,
      );
    }

    const args = [SUITE_CLI, 'server', '--url', url, '--spec-version', opts.specVersion, '-o', resultsDir];
    if (opts.scenario) args.push('--scenario', opts.scenario);
    else args.push('--suite', opts.suite ?? defaultSuite(opts.specVersion));
    if (opts.timeoutMs) args.push('--timeout', String(opts.timeoutMs));
    const suite = startProcess({ name: 'suite', command: TOOLS_NODE, args, cwd: workDir, echo });
    await suite.exited;
    const output = suite.output();
    await writeFile(join(resultsDir, 'suite-output.txt'), output);

    // The suite announces its scenarios as `=== Running scenario: NAME ===` (suite runs) or
    // `Running client scenario 'NAME' against server` (every run).
    const expected = [...output.matchAll(/^Running client scenario '([^']+)' against server/gm)].map(
      (m) => m[1] as string,
    );
    const announced = /^Running .+ \((\d+) scenarios\) against /m.exec(output);
    const results = await readResults(resultsDir);
    const problems: string[] = [];
    if (announced && Number(announced[1]) !== expected.length) {
      problems.push(`the suite announced ${announced[1]} scenarios but started ${expected.length}`);
    }
    if (expected.length === 0) problems.push('the suite ran no scenario');
    const scenarios: ScenarioResult[] = expected.map((scenario) => {
      const checks = results.get(scenario);
      if (!checks) {
        problems.push(`${scenario}: no checks.json was written (the scenario crashed or timed out)`);
        return { scenario, passed: 0, failed: 1, warnings: 0, failures: [] };
      }
      const failures = checks.filter((c) => c.status === 'FAILURE');
      return {
        scenario,
        passed: checks.filter((c) => c.status === 'SUCCESS').length,
        failed: failures.length,
        warnings: checks.filter((c) => c.status === 'WARNING').length,
        failures,
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
      expected,
      scenarios,
      summary: summaryAt >= 0 ? output.slice(summaryAt, failedAt >= 0 ? failedAt : undefined).trim() : '',
      problems,
    };
  } finally {
    await stopAll();
    // Holds the gateway config and, unless --results was given, the suite's results.
    await rm(workDir, { recursive: true, force: true });
  }
}

function report(result: RunResult): void {
  if (result.summary) console.log(`\n${result.summary}`);
  for (const s of result.scenarios) {
    for (const f of s.failures) {
      console.log(`FAILED ${s.scenario} / ${f.id}: ${f.errorMessage ?? f.description ?? ''}`);
    }
  }
  for (const p of result.problems) console.log(`PROBLEM: ${p}`);
  const failed = result.scenarios.filter((s) => s.failed > 0).length;
  const checks = result.scenarios.reduce((n, s) => n + s.passed, 0);
  const warnings = result.scenarios.reduce((n, s) => n + s.warnings, 0);
  console.log(`\n${result.scenarios.length} scenarios run: ${checks} checks passed, ${warnings} warnings`);
  // Counted in scenarios, in the plain 'N passed, N failed' form that CI reads.
  console.log(`conformance: ${result.scenarios.length - failed} passed, ${failed} failed`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
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
  if (target !== 'direct' && target !== 'gateway') {
    console.error('usage: run.ts --target direct|gateway [--spec-version V] [--gateway-cmd CMD] [--suite S]');
    process.exit(2);
  }
  if (values['gateway-cmd'] && target !== 'gateway') {
    console.error('--gateway-cmd applies to --target gateway only');
    process.exit(2);
  }
  const serverMode = values['server-mode'];
  if (
    serverMode !== undefined &&
    (target !== 'direct' || (serverMode !== 'http' && serverMode !== 'http-modern'))
  ) {
    console.error('--server-mode http|http-modern applies to --target direct only');
    process.exit(2);
  }
  const onSignal = () => {
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const result = await runConformance({
    target,
    specVersion: values['spec-version'],
    suite: values.suite,
    scenario: values.scenario,
    timeoutMs: values.timeout ? Number(values.timeout) : undefined,
    resultsDir: values.results,
    startGateway: values['gateway-cmd'] ? gatewayFromCommand(values['gateway-cmd']) : undefined,
    serverMode,
    verbose: values.verbose,
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
