/**
 * Scopes a principal holds, with roles expanded, and the wildcard rule: `*` holds everything and
 * `x:*` holds every `x:…` scope.
 */
export class ScopeSet {
  private readonly exact: ReadonlySet<string>;
  private readonly prefixes: readonly string[];
  readonly all: boolean;

  constructor(scopes: Iterable<string>) {
    const list = [...scopes];
    this.all = list.includes('*');
    this.exact = new Set(list);
    this.prefixes = list.filter((s) => s.endsWith(':*')).map((s) => s.slice(0, -1));
  }

  holds(scope: string): boolean {
    return this.all || this.exact.has(scope) || this.prefixes.some((p) => scope.startsWith(p));
  }
}

/** The principal's scopes plus those of its roles; an unknown role adds nothing (fail closed). */
export function effectiveScopes(
  scopes: readonly string[],
  roles: readonly string[],
  definitions: Readonly<Record<string, readonly string[]>>,
): ScopeSet {
  return new ScopeSet(expandRoles(scopes, roles, definitions));
}

/** `scopes` plus the scopes of each role (unknown roles grant nothing). */
export function expandRoles(
  scopes: readonly string[],
  roles: readonly string[],
  definitions: Readonly<Record<string, readonly string[]>>,
): string[] {
  return [
    ...scopes,
    ...roles.flatMap((role) => (Object.hasOwn(definitions, role) ? (definitions[role] ?? []) : [])),
  ];
}
