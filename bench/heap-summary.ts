/**
 * What fills a V8 heap snapshot (from BENCH_PROFILE=1's memory workload):
 *   node --import tsx bench/heap-summary.ts prof/portcullis-http-1000-sessions.heapsnapshot [top]
 *     [--base prof/portcullis-http-100-sessions.heapsnapshot] [--per 900]
 * Prints self size and count by constructor (or node type), largest first. --base subtracts another
 * snapshot (what the extra sessions added); --per N divides by N (the cost of one session).
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: [string[]] } };
  readonly nodes: number[];
  readonly strings: string[];
}

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args.splice(at, 2)[1];
};
const perText = option('--per');
const per = perText === undefined ? undefined : Number(perText);
const base = option('--base');
const file = args[0];
const top = Number(args[1] ?? 30);
if (!file) {
  process.stderr.write('usage: node --import tsx bench/heap-summary.ts FILE.heapsnapshot [top] [--per N]\n');
  process.exit(2);
}
process.stdout.on('error', () => process.exit(0));

interface Group {
  size: number;
  count: number;
}

function summarize(path: string): { groups: Map<string, Group>; total: number } {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const fType = fields.indexOf('type');
  const fName = fields.indexOf('name');
  const fSize = fields.indexOf('self_size');
  const groups = new Map<string, Group>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + fType] as number] as string;
    const size = snap.nodes[i + fSize] as number;
    total += size;
    // Objects by constructor; strings, code, arrays… by their node type.
    const key =
      type === 'object' || type === 'closure'
        ? `${type === 'closure' ? 'closure ' : ''}${snap.strings[snap.nodes[i + fName] as number]}`
        : `(${type})`;
    const g = groups.get(key) ?? { size: 0, count: 0 };
    g.size += size;
    g.count++;
    groups.set(key, g);
  }
  return { groups, total };
}

const { groups, total: fileTotal } = summarize(file);
let total = fileTotal;
if (base !== undefined) {
  const before = summarize(base);
  total -= before.total;
  for (const [key, g] of before.groups) {
    const now = groups.get(key) ?? { size: 0, count: 0 };
    groups.set(key, { size: now.size - g.size, count: now.count - g.count });
  }
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(2).padStart(8)} MiB`;
process.stdout.write(
  `${file}${base ? ` minus ${base}` : ''}\n  live heap (snapshots GC first): ${mib(total).trim()}` +
    `${per ? `, ${(total / per / 1024).toFixed(1)} KiB per session` : ''}\n\n`,
);
for (const [key, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  const each = per
    ? `  ${(g.size / per / 1024).toFixed(2).padStart(7)} KiB and ${(g.count / per).toFixed(1).padStart(6)} per session`
    : '';
  process.stdout.write(`${mib(g.size)}  ${String(g.count).padStart(8)}  ${key.slice(0, 70)}${each}\n`);
}
