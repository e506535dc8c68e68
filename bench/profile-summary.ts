/**
 * Where the time goes in a V8 CPU profile (from BENCH_PROFILE=1):
 *   node --import tsx bench/profile-summary.ts bench/results/prof/portcullis-http-gateway [top]
 *     [--callees FUNCTION] [--callers FUNCTION] [--per CALLS] [--from SECONDS]
 * (a directory: its largest .cpuprofile, the main thread's; or one .cpuprofile file)
 * Prints the busy share (everything but idle), then the top functions by self time and by total
 * (inclusive) time, and self time by file and by package, as shares of the busy time.
 * --per CALLS adds each figure per call (µs), for the calls the workload made; --from SECONDS leaves
 * out the first seconds of the profile (start-up: module loading, the store's migrations).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './processes.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

const args = process.argv.slice(2);
/** The value of `--name VALUE`, taken out of args. */
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args.splice(at, 2)[1];
};
/** --callees NAME: also break NAME's inclusive time down by the functions it calls (any depth). */
const focus = option('--callees');
/** --callers NAME: also break NAME's inclusive time down by the function that called it. */
const callee = option('--callers');
const perCalls = Number(option('--per') ?? 0);
const fromUs = Number(option('--from') ?? 0) * 1e6;
const file = args[0];
const top = Number(args[1] ?? 25);
if (!file) {
  process.stderr.write(
    'usage: node --import tsx bench/profile-summary.ts DIR-or-FILE.cpuprofile [top] [--callees FUNCTION]\n',
  );
  process.exit(2);
}
process.stdout.on('error', () => process.exit(0)); // piped into head
/** A directory (as --cpu-prof-dir leaves it): its largest profile, the main thread's. */
const path = statSync(file).isDirectory()
  ? (readdirSync(file)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(file, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0] ?? file)
  : file;
const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Paths relative to the repository; the run's copy of dist/ (see snapshotDist) reads as dist/. */
const shortUrl = (url: string): string => {
  if (url === '') return '';
  const path = (url.startsWith('file://') ? new URL(url).pathname : url).replace(
    /^.*\/portcullis-bench-[^/]+\/portcullis\//,
    `${ROOT}/`,
  );
  return path.startsWith(ROOT) ? relative(ROOT, path) : path;
};

const fnKey = (f: CallFrame): string =>
  `${f.functionName || '(anonymous)'}  ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;

function packageOf(url: string): string {
  const path = shortUrl(url);
  if (path === '') return '(native/V8)';
  if (path.startsWith('node:')) return 'node: internals';
  const nm = path.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? path);
  }
  if (path.startsWith('dist/') || path.startsWith('src/')) return 'portcullis';
  return path;
}

/**
 * Layers: a sample belongs to the layer of the frame nearest its leaf that matches one of these
 * (so a socket write made by Portcullis code counts as Portcullis even when an upstream callback
 * started it); a sample with no matching frame is Node's own work (HTTP parsing, timers…).
 */
const LAYERS: readonly (readonly [string, RegExp])[] = [
  [
    'upstream HTTP client (MCP SDK transport, fetch/undici, web streams, SSE parser, zod)',
    /@modelcontextprotocol\/client|undici|webstreams|eventsource-parser|\/zod\//,
  ],
  ['portcullis (front door, pipeline, session, upstream link)', /^(dist|src)\//],
];
const NODE_LAYER = 'node (HTTP server parsing, sockets, timers) with no owner frame';

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);
const self = new Map<string, number>();
const total = new Map<string, number>();
/** Under `focus`: inclusive time of every function it (transitively) calls. */
const under = new Map<string, number>();
let focusTotal = 0;
const files = new Map<string, number>();
const layers = new Map<string, number>();
const packages = new Map<string, number>();
let idle = 0;
let all = 0;

const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);

/** NAME's inclusive time by its caller (the frame above its outermost occurrence). */
const callers = new Map<string, number>();
let calleeTotal = 0;
let elapsed = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const us = profile.timeDeltas[i + 1] ?? 0; // a sample's time is the delta to the next one
  elapsed += profile.timeDeltas[i] ?? 0;
  if (elapsed < fromUs) continue;
  const node = byId.get(profile.samples[i] as number);
  if (!node) continue;
  all += us;
  const name = node.callFrame.functionName;
  if (name === '(idle)') {
    idle += us;
    continue;
  }
  add(self, SPECIAL.has(name) ? name : fnKey(node.callFrame), us);
  add(files, SPECIAL.has(name) ? name : shortUrl(node.callFrame.url) || '(native/V8)', us);
  add(packages, SPECIAL.has(name) ? name : packageOf(node.callFrame.url), us);
  if (SPECIAL.has(name)) add(layers, name, us);
  else {
    let layer: string | undefined;
    for (let id: number | undefined = node.id; id !== undefined && !layer; id = parent.get(id)) {
      const url = shortUrl((byId.get(id) as ProfileNode).callFrame.url);
      layer = LAYERS.find(([, pattern]) => pattern.test(url))?.[0];
    }
    add(layers, layer ?? NODE_LAYER, us);
  }
  const seen = new Set<string>();
  const stack: string[] = [];
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    if (SPECIAL.has(frame.functionName)) continue;
    const key = fnKey(frame);
    stack.push(key);
    if (!seen.has(key)) {
      seen.add(key);
      add(total, key, us);
    }
  }
  if (focus !== undefined) {
    // stack is leaf first; everything below the outermost frame named `focus` counts.
    const at = stack.findLastIndex((k) => k.startsWith(`${focus} `));
    if (at !== -1) {
      focusTotal += us;
      for (const key of new Set(stack.slice(0, at))) add(under, key, us);
    }
  }
  if (callee !== undefined) {
    const at = stack.findLastIndex((k) => k.startsWith(`${callee} `));
    if (at !== -1) {
      calleeTotal += us;
      add(callers, stack[at + 1] ?? '(root)', us);
    }
  }
}

const busy = all - idle;
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
const perCall = (us: number) => (perCalls > 0 ? `  ${(us / perCalls).toFixed(1).padStart(7)} µs/call` : '');
const print = (title: string, map: Map<string, number>, n: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    process.stdout.write(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms${perCall(us)}  ${key}\n`);
  }
};

process.stdout.write(
  `${path}\n  wall ${(all / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${((100 * busy) / all).toFixed(1)}%)${perCall(busy)}, shares below are of busy time\n`,
);
print('time by layer (whole stack)', layers, 10);
print('self time by package', packages, 15);
print('self time by file', files, 20);
print('self time by function', self, top);
print('total (inclusive) time by function', total, top);
if (focus !== undefined) {
  print(`under ${focus} (${pct(focusTotal).trim()} of busy): inclusive time of its callees`, under, top);
}
if (callee !== undefined) {
  print(`${callee} (${pct(calleeTotal).trim()} of busy) by caller`, callers, top);
}
