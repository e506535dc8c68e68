/**
 * The scope vocabulary: what each scope grants. Policy decisions require exactly these names, and
 * the README's scope table is printed from this list (`portcullis policy scopes`), so the two
 * cannot drift apart.
 */
import { DEFAULT_ROLES } from '../config/policy-schema.js';
import { nearest } from '../core/nearest.js';

export const SCOPES = {
  toolsRead: 'tools:read',
  toolsWrite: 'tools:write',
  toolsDestructive: 'tools:destructive',
  resourcesRead: 'resources:read',
  promptsRead: 'prompts:read',
} as const;

/** `<upstream>:read|write|destructive`: the same grants, limited to one upstream. */
export function upstreamScope(upstream: string, level: 'read' | 'write' | 'destructive' | 'approve'): string {
  return `${upstream}:${level}`;
}

const GRANTS: readonly (readonly [string, string])[] = [
  [
    SCOPES.toolsRead,
    'see and call tools the upstream (or the config) marks read-only (`readOnlyHint: true`)',
  ],
  [SCOPES.toolsWrite, 'see and call tools that are not read-only'],
  [
    SCOPES.toolsDestructive,
    'also needed for a destructive tool (not read-only, `destructiveHint` not `false`)',
  ],
  [
    'tools:approve',
    'decide the calls `policy.approval` holds for a person (approval page); `<upstream>:approve` for one upstream',
  ],
  [SCOPES.resourcesRead, 'list, read and subscribe to resources and resource templates'],
  [SCOPES.promptsRead, 'list and get prompts, and complete their arguments'],
  [
    '`<upstream>:read`, `:write`, `:destructive`',
    'the same as the `tools:`/`resources:`/`prompts:` scopes above, for one upstream only',
  ],
  [
    'scopes named in `policy.rules`',
    'required in addition for the tools, resources or prompts the rule matches',
  ],
  ['`<prefix>:*`', 'every scope that starts with `<prefix>:` (e.g. `files:*`, `tools:*`)'],
  ['`*`', 'everything'],
];

/** The README's scope and role tables, as markdown. */
export function scopeTables(): string {
  const code = (s: string) => (s.includes('`') || s.includes(' ') ? s : `\`${s}\``);
  const scopes = ['| Scope | Grants |', '| --- | --- |', ...GRANTS.map(([s, g]) => `| ${code(s)} | ${g} |`)];
  const roles = [
    '| Default role | Scopes |',
    '| --- | --- |',
    ...Object.entries(DEFAULT_ROLES).map(([role, list]) => `| \`${role}\` | ${list.map(code).join(', ')} |`),
  ];
  return `${scopes.join('\n')}\n\n${roles.join('\n')}\n`;
}

/**
 * Every scope a client may ask for here (scopes_supported): the standard ones, each upstream's,
 * and those the policy's rules require.
 */
export function scopesSupported(
  upstreams: readonly string[],
  rules: readonly { readonly require: readonly string[] }[],
): string[] {
  const levels = ['read', 'write', 'destructive'] as const;
  return [
    ...new Set([
      ...Object.values(SCOPES),
      ...upstreams.flatMap((u) => levels.map((level) => upstreamScope(u, level))),
      ...rules.flatMap((rule) => rule.require),
    ]),
  ];
}

/** The admin API's scope (src/http/admin-api.ts ADMIN_SCOPE): not offered to OAuth clients. */
export const ADMIN_SCOPE = 'admin';

/**
 * Deciding held calls (policy.approval) on the approval page: a person's scope, like `admin` not
 * offered to OAuth clients. `<upstream>:approve` grants it for one upstream.
 */
export const APPROVE_SCOPE = 'tools:approve';

/** Every scope a key or caller may be given here: those a client may ask for, `admin` and the approve scopes. */
export function knownScopes(
  upstreams: readonly string[],
  rules: readonly { readonly require: readonly string[] }[],
): string[] {
  return [
    ...scopesSupported(upstreams, rules),
    ADMIN_SCOPE,
    APPROVE_SCOPE,
    ...upstreams.map((u) => upstreamScope(u, 'approve')),
  ];
}

/**
 * Why `scope` grants nothing here, with the nearest known scope when it looks like a typo; undefined
 * for a known scope, `*`, or a `<prefix>:*` whose prefix some known scope has.
 */
export function unknownScopeProblem(scope: string, known: readonly string[]): string | undefined {
  if (scope === '*' || known.includes(scope)) return undefined;
  const prefixes = [...new Set(known.filter((s) => s.includes(':')).map((s) => s.slice(0, s.indexOf(':'))))];
  if (scope.endsWith(':*') && prefixes.includes(scope.slice(0, -2))) return undefined;
  const candidates = [...known, ...prefixes.map((p) => `${p}:*`)];
  const guess = nearest(scope, candidates);
  const hint = guess
    ? `did you mean ${guess}?`
    : `known scopes: ${known.join(', ')}, <prefix>:* and * (npx portcullis policy scopes)`;
  return `"${scope}" is not a scope this gateway knows, so it would grant nothing — ${hint}`;
}
