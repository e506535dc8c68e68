/** An upstream URL as it may appear in logs: no query string (it may carry an API key), no userinfo. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?[REDACTED]' : ''}`;
  } catch {
    return '[invalid url]';
  }
}
