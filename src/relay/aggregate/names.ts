/**
 * The names an aggregated endpoint exposes for several upstreams' tools and prompts:
 * `<prefix>__<name>`, the prefix being the upstream's name unless configured.
 *
 * Every exposed name matches EXPOSED_NAME, what Claude's and OpenAI's tool calling accept (a `:` or
 * `.` separator breaks clients). A name that would not — too long, characters outside the set — or
 * that two upstreams would both produce is given a shortened, stable form: the readable part cut to
 * fit, then `_` and eight hex digits of a hash of the upstream and the original name. The result
 * depends only on the set of names, never on the order upstreams answered in, so a client sees the
 * same names after a reconnect or on another gateway instance.
 */
import { createHash } from 'node:crypto';

export const EXPOSED_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
export const SEPARATOR = '__';
const MAX = 64;
const HASH_DIGITS = 8;

/** One tool or prompt of one upstream, as the upstream names it. */
export interface Origin {
  readonly upstream: string;
  readonly name: string;
}

export type RenameReason = 'too long' | 'characters outside [a-zA-Z0-9_-]' | 'same name as another upstream';

export interface Renamed extends Origin {
  readonly exposed: string;
  readonly reason: RenameReason;
}

export interface NameTable {
  /** The upstream's name for each exposed one. */
  readonly origins: ReadonlyMap<string, Origin>;
  /** The exposed name of `name` on `upstream`, or undefined when the upstream did not list it. */
  exposedName(upstream: string, name: string): string | undefined;
  /** The names that could not be `<prefix>__<name>`, and why (reported at start and by check-config). */
  readonly renamed: readonly Renamed[];
}

const key = (upstream: string, name: string) => `${upstream}\0${name}`;

function hashed(prefix: string, origin: Origin): string {
  const digest = createHash('sha256').update(key(origin.upstream, origin.name)).digest('hex');
  const readable = `${prefix}${SEPARATOR}${origin.name}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  return `${readable.slice(0, MAX - HASH_DIGITS - 1)}_${digest.slice(0, HASH_DIGITS)}`;
}

/**
 * Names every listed tool (or prompt) of every upstream. `prefixes` maps an upstream to its prefix
 * where one is configured; prefixes are checked against EXPOSED_NAME by the config schema.
 */
export function nameTable(
  listed: ReadonlyMap<string, readonly string[]>,
  prefixes: ReadonlyMap<string, string> = new Map(),
): NameTable {
  const prefixOf = (upstream: string) => prefixes.get(upstream) ?? upstream;
  const plain = new Map<string, Origin[]>();
  const renamed: Renamed[] = [];
  const exposedOf = new Map<string, string>();
  const origins = new Map<string, Origin>();
  const take = (origin: Origin, exposed: string) => {
    // A hashed form equal to another name is a 32-bit accident: refuse rather than guess.
    if (origins.has(exposed)) {
      throw new Error(
        `aggregate: two tools would both be exposed as ${exposed}; set a prefix on ${origin.upstream}`,
      );
    }
    origins.set(exposed, origin);
    exposedOf.set(key(origin.upstream, origin.name), exposed);
  };

  for (const [upstream, names] of listed) {
    for (const name of new Set(names)) {
      const origin = { upstream, name };
      const candidate = `${prefixOf(upstream)}${SEPARATOR}${name}`;
      if (EXPOSED_NAME.test(candidate)) {
        plain.set(candidate, [...(plain.get(candidate) ?? []), origin]);
        continue;
      }
      const exposed = hashed(prefixOf(upstream), origin);
      const reason = candidate.length > MAX ? 'too long' : 'characters outside [a-zA-Z0-9_-]';
      renamed.push({ ...origin, exposed, reason });
      take(origin, exposed);
    }
  }
  for (const [candidate, origins] of plain) {
    const [only] = origins;
    if (only && origins.length === 1) {
      take(only, candidate);
      continue;
    }
    // Every claimant is renamed, not all but the first: which came first depends on timing.
    for (const origin of origins) {
      const exposed = hashed(prefixOf(origin.upstream), origin);
      renamed.push({ ...origin, exposed, reason: 'same name as another upstream' });
      take(origin, exposed);
    }
  }
  renamed.sort((a, b) => (a.exposed < b.exposed ? -1 : a.exposed > b.exposed ? 1 : 0));
  return {
    origins,
    exposedName: (upstream, name) => exposedOf.get(key(upstream, name)),
    renamed,
  };
}
