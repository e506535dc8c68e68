/** Scopes from a token's claims: a configured claim, else `scope` (space-separated), else `scp`. */
export function scopesFromClaims(claims: Record<string, unknown>, claim?: string): string[] {
  const raw = claim !== undefined ? claims[claim] : (claims.scope ?? claims.scp);
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string' && s.length > 0);
  return [];
}
