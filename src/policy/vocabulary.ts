/**
 * The scope vocabulary: what each scope grants. Policy decisions require exactly these names, and
 * the README's scope table is printed from this list (`portcullis policy scopes`), so the two
 * cannot drift apart.
 */
import { DEFAULT_ROLES } from '../config/policy-schema.js';

export const SCOPES = {
  toolsRead: 'tools:read',
  toolsWrite: 'tools:write',
  toolsDestructive: 'tools:destructive',
  resourcesRead: 'resources:read',
  promptsRead: 'prompts:read',
} as const;

/** `<upstream>:read|write|destructive`: the same grants, limited to one upstream. */
export function upstreamScope(upstream: string, level: 'read' | 'write' | 'destructive'): string {
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
