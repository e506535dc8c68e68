/**
 * The consent page's permissions as a person reads them (issue 14): a scope that a wider one in
 * the same list already covers is folded into that one — still named, never hidden — and what
 * remains is grouped by what it lets the application do, the most far-reaching first.
 *
 * "Covers" follows the policy (src/policy/policy.ts): `*` holds every scope and `x:*` every `x:…`
 * (ScopeSet); an upstream's `u:write` lets it do what `tools:write` already does on every upstream,
 * `u:destructive` what `tools:destructive` does, and `u:read` what `tools:read`, `resources:read`
 * and `prompts:read` do together.
 */
import { ScopeSet } from '../../policy/scopes.js';
import { SCOPES } from '../../policy/vocabulary.js';

export type ScopeMeaning = 'everything' | 'destructive' | 'write' | 'read' | 'other';

/** The order of the groups on the page, and their headings. */
export const SCOPE_GROUPS: ReadonlyArray<{ readonly meaning: ScopeMeaning; readonly title: string }> = [
  { meaning: 'everything', title: 'Everything your account can do' },
  { meaning: 'destructive', title: 'Delete or overwrite data' },
  { meaning: 'write', title: 'Change data' },
  { meaning: 'read', title: 'Read data' },
  { meaning: 'other', title: 'Permissions this server defines' },
];

export interface ShownScope {
  readonly scope: string;
  /** The narrower scopes of the list this one covers, in the list's order. */
  readonly covers: readonly string[];
}

export interface ScopeGroup {
  readonly meaning: ScopeMeaning;
  readonly title: string;
  readonly scopes: readonly ShownScope[];
}

/** What an upstream's level grants, as the generic scopes that grant the same on every upstream. */
const GENERIC: Readonly<Record<string, readonly string[]>> = {
  read: [SCOPES.toolsRead, SCOPES.resourcesRead, SCOPES.promptsRead],
  write: [SCOPES.toolsWrite],
  destructive: [SCOPES.toolsDestructive],
};

/** @param upstreams the mounted upstream names: only their `u:read|write|destructive` fold into the generic ones */
export function groupScopes(scopes: readonly string[], upstreams: readonly string[]): ScopeGroup[] {
  const list = [...new Set(scopes)];
  const covers = (wider: readonly string[], scope: string) => {
    const held = new ScopeSet(wider);
    const generic = upstreamLevel(scope, upstreams);
    return held.holds(scope) || generic?.every((s) => held.holds(s)) === true;
  };
  const widest = list.filter((scope) => !covers(without(list, scope), scope));
  // Each scope shows as the widest one covering it alone, else (u:read) the one showing tools:read;
  // one that neither finds stays a line of its own, so nothing granted goes unnamed.
  const folded = new Map<string, string[]>();
  for (const scope of list) {
    const into = widest.includes(scope)
      ? scope
      : (widest.find((s) => covers([s], scope)) ??
        widest.find((s) => covers([s], upstreamLevel(scope, upstreams)?.[0] ?? scope)) ??
        scope);
    if (!folded.has(into)) folded.set(into, []);
    if (into !== scope) folded.get(into)?.push(scope);
  }
  return SCOPE_GROUPS.map(({ meaning, title }) => ({
    meaning,
    title,
    scopes: [...folded]
      .filter(([scope]) => meaningOf(scope, upstreams) === meaning)
      .map(([scope, covered]) => ({ scope, covers: covered })),
  })).filter((group) => group.scopes.length > 0);
}

/** Which group a scope belongs to; a wildcard goes where the most it can hold goes. */
export function meaningOf(scope: string, upstreams: readonly string[]): ScopeMeaning {
  if (scope === '*') return 'everything';
  const colon = scope.lastIndexOf(':');
  const prefix = scope.slice(0, colon);
  const suffix = scope.slice(colon + 1);
  const standard = prefix === 'tools' || prefix === 'resources' || prefix === 'prompts';
  if (colon <= 0 || !(standard || upstreams.includes(prefix))) return 'other';
  if (suffix === '*') return prefix === 'resources' || prefix === 'prompts' ? 'read' : 'destructive';
  if (suffix === 'read' || suffix === 'write' || suffix === 'destructive') {
    return prefix === 'tools' || upstreams.includes(prefix) || suffix === 'read' ? suffix : 'other';
  }
  return 'other';
}

/** `u:read|write|destructive` of a mounted upstream: the generic scopes it equals, limited to u. */
function upstreamLevel(scope: string, upstreams: readonly string[]): readonly string[] | undefined {
  const colon = scope.lastIndexOf(':');
  if (colon <= 0 || !upstreams.includes(scope.slice(0, colon))) return undefined;
  return Object.hasOwn(GENERIC, scope.slice(colon + 1)) ? GENERIC[scope.slice(colon + 1)] : undefined;
}

function without(list: readonly string[], item: string): string[] {
  return list.filter((s) => s !== item);
}
