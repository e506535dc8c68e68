/**
 * Name and URI patterns in policy rules: `*` matches any run of characters (slashes and dots
 * included), everything else literally. Hand-written because path-oriented glob libraries give `/`
 * and `.` meanings that tool names and URIs must not have.
 */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

export function matchesAny(patterns: readonly RegExp[], value: string): boolean {
  return patterns.some((p) => p.test(value));
}
