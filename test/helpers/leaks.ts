/** Finds secrets, and credentials by their shape, in captured log lines (the suite-wide leak check). */

/** Credential shapes that must never be logged, whatever test produced them. */
const SHAPES: readonly [string, RegExp][] = [
  ['an API key', /pcl_[A-Za-z0-9_-]{43}/],
  // A self-registered client's id (pcd_ + a signed JWS) is public by design (RFC 7591): not a token.
  ['a JWT', /(?<!pcd_)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/],
  // A challenge's auth-params (Bearer realm=…, error=…) are not credentials.
  [
    'a Bearer credential',
    /\bBearer\s+(?!\[REDACTED\]|(?:realm|error|scope|resource_metadata)=)[A-Za-z0-9._~+/=-]{12,}/i,
  ],
  ['a Basic credential', /\bBasic\s+(?!\[REDACTED\])[A-Za-z0-9+/]{12,}={0,2}/],
];

export function credentialLeaks(
  lines: readonly { source: string; line: string }[],
  secrets: readonly string[],
): string[] {
  const leaks: string[] = [];
  const forms = [...new Set(secrets)].map((secret) => ({
    secret,
    forms: [...new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)])].map((f) =>
      f.toLowerCase(),
    ),
  }));
  for (const { source, line } of lines) {
    const lower = line.toLowerCase();
    for (const { secret, forms: variants } of forms)
      if (variants.some((v) => lower.includes(v)))
        leaks.push(`${source}: a secret (${secret.slice(0, 4)}…) in ${line.slice(0, 200)}`);
    for (const [what, shape] of SHAPES)
      if (shape.test(line)) leaks.push(`${source}: ${what} in ${line.slice(0, 200)}`);
  }
  return leaks;
}
