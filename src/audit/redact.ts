/**
 * Redaction for log lines and audit events alike. What is masked, in this order:
 *
 * 1. every secret value the config filled from ${env:…}/${file:…}, raw, JSON-escaped, URL-encoded
 *    and form-encoded;
 * 2. credential-bearing fields: JSON pairs and key=value pairs named like password, token, secret,
 *    client_secret, access_token, refresh_token, api_key…, and header lines (Authorization, Cookie,
 *    X-API-Key…) to the end of the line;
 * 3. credentials by their shape: `Bearer <token>` and `Basic <b64>` values, JWT-shaped tokens
 *    (eyJ….….…), Portcullis API keys (pcl_…);
 * 4. the user:password and the query string of URLs (scheme://…?… → scheme://…?[REDACTED]);
 * 5. personal data (unless turned off): email addresses, card numbers of 13–19 digits starting 2–6
 *    (the issuer ranges of Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay) with optional
 *    single spaces or dashes, only when the Luhn check passes (order numbers survive; epoch
 *    milliseconds start with 1 and survive too; in `value`, also card numbers held as numbers), and phone
 *    numbers written internationally (+44 20 7946 0958, +14155552671) or in common national forms
 *    ((415) 555-2671, 415-555-2671, 020 7946 0958, 01 23 45 67 89).
 *
 * Not masked on purpose: ISO dates and times, version numbers, UUIDs, IP addresses and ports,
 * epoch timestamps, and bare digit runs that could be a phone number or an id (4155552671).
 * Every replacement is `[REDACTED]` (after `Bearer `/`Basic `, `?` or the field name it masked),
 * and never removes a quote or a backslash, so a JSON line stays valid JSON.
 */

export const REDACTED = '[REDACTED]';

/** Replaces each secret (longest first, so a secret containing another is masked whole) in a line. */
export function secretMasker(secrets: readonly string[]): ((line: string) => string) | undefined {
  // Values under 4 characters would mask ordinary words in every line; they are not secrets worth the name.
  const values = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  if (values.length === 0) return undefined;
  // Raw, JSON-escaped, URL-encoded and form-encoded (spaces as +, as in OAuth request bodies).
  const forms = values.flatMap((v) => [
    v,
    JSON.stringify(v).slice(1, -1),
    encodeURIComponent(v),
    new URLSearchParams({ v }).toString().slice(2),
  ]);
  const pattern = new RegExp([...new Set(forms)].map(escapeRegExp).join('|'), 'g');
  return (line) => line.replace(pattern, REDACTED);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Field names whose whole value is a credential (compared lower-case, without - and _). */
const SENSITIVE_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'xapikey',
  'apikey',
  'password',
  'passwd',
  'passwordhash',
  'token',
  'secret',
  'clientsecret',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'privatekey',
]);

/** Whether a field named `key` holds a credential and is masked whole by `Redactor.value`. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEYS.has(key.toLowerCase().replace(/[-_]/g, ''));
}

const SEP = '[-_]?';
/** The same field names as they are spelled in text (JSON, forms, error messages). */
const KEY_NAMES = [
  `proxy${SEP}authorization`,
  'authorization',
  `set${SEP}cookie`,
  'cookie',
  `x${SEP}api${SEP}key`,
  `api${SEP}key`,
  `password${SEP}hash`,
  'password',
  'passwd',
  `client${SEP}secret`,
  'secret',
  `access${SEP}token`,
  `refresh${SEP}token`,
  `id${SEP}token`,
  'token',
  `private${SEP}key`,
].join('|');
const HEADER_NAMES = `proxy-authorization|authorization|set-cookie|cookie|x-api-key`;

/** "password": "…" in JSON text. */
const JSON_PAIR = new RegExp(`("(?:${KEY_NAMES})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
/** \"password\": \"…\" in JSON text that is itself inside a JSON string (a logged body). */
const ESCAPED_JSON_PAIR = new RegExp(
  `(\\\\"(?:${KEY_NAMES})\\\\"\\s*:\\s*)\\\\"(?:[^"\\\\]|\\\\[^"])*\\\\"`,
  'gi',
);
/** Authorization: … to the end of the line (a raw newline, an escaped \n, or the end of a JSON string). */
const HEADER_LINE = new RegExp(
  `(?<![\\w-])((?:${HEADER_NAMES})\\s*:[ \\t]*)(?:\\\\[^nr]|[^\\\\"\\r\\n])+`,
  'gi',
);
/**
 * password=…, token: … in forms, query strings and messages (one token of value). After a colon a
 * space is required: `api-key:key_…` is a principal id, not a credential.
 */
const KEY_VALUE = new RegExp(
  `(?<![\\w-])((?:${KEY_NAMES})(?:=|:[ \\t]+))(?!\\[REDACTED\\])[^\\s&,;"'\\\\<>]+`,
  'gi',
);
/** A Bearer or Basic credential; the callback keeps auth-params and plain words (see below). */
const AUTH_SCHEME = /\b(bearer|basic)(\s+|%20|\+)([A-Za-z0-9._~+/%-]+=*)/gi;
/** Auth-params of a WWW-Authenticate challenge, which follow the scheme and are not credentials. */
const CHALLENGE_PARAMS = new Set([
  'realm',
  'error',
  'error_description',
  'error_uri',
  'scope',
  'resource_metadata',
  'charset',
]);
const JWT = /\beyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){2,4}/g;
const API_KEY = /\bpcl_[A-Za-z0-9_-]{4,}/g;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'\\<>]+@/gi;
const URL_QUERY = /\b([a-z][a-z0-9+.-]*:\/\/[^\s?#"'\\<>]+)\?[^\s#"'\\<>]*/gi;
const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b/g;
/** 13–19 digits starting 2–6, single spaces or dashes between; Luhn decides in the callback. */
const CARD = /(?<![\w.+-])[2-6](?:[ -]?\d){12,18}(?![\w-])/g;
/** A number must not run on into more digits, a time or a decimal. */
const PHONE_END = '(?![\\w:]|[.-]\\d)';
const PHONE_INTERNATIONAL = new RegExp(
  `(?<![\\w+])\\+\\d{1,3}(?:[ .-]?\\(\\d{1,4}\\))?[ .-]?\\d+(?:[ .-]\\d+){0,5}${PHONE_END}`,
  'g',
);
const PHONE_NANP = new RegExp(
  `(?<![\\w.+-])(?:1[ .-])?(?:\\(\\d{3}\\)[ ]?|\\d{3}[ .-])\\d{3}[ .-]\\d{4}${PHONE_END}`,
  'g',
);
/** National numbers with a trunk 0 and one consistent separator: 020 7946 0958, 01-23-45-67-89. */
const PHONE_TRUNK = new RegExp(`(?<![\\w.+-])0\\d{1,4}([ -])\\d{2,8}(?:\\1\\d{2,8}){0,3}${PHONE_END}`, 'g');

export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

const digitCount = (text: string): number => text.replace(/\D/g, '').length;

function isCard(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && /^[2-6]/.test(digits) && luhn(digits);
}

function maskCard(match: string, offset: number, whole: string): string {
  if (!isCard(match.replace(/[ -]/g, ''))) return match;
  // A bare JSON number ({"n":4111…}) becomes a string, so the line stays JSON.
  const before = whole.slice(0, offset).trimEnd().at(-1);
  const after = whole.slice(offset + match.length).trimStart()[0];
  const bare =
    /^\d+$/.test(match) &&
    (before === ':' || before === '[' || before === ',') &&
    (after === undefined || ',}]'.includes(after));
  return bare ? `"${REDACTED}"` : REDACTED;
}

const phoneMask =
  (min: number, max: number) =>
  (match: string): string => {
    const n = digitCount(match);
    return n >= min && n <= max ? REDACTED : match;
  };
const maskInternational = phoneMask(8, 15);
const maskNational = phoneMask(9, 12);

function maskAuthScheme(
  match: string,
  scheme: string,
  space: string,
  token: string,
  offset: number,
  whole: string,
): string {
  const name = token.replace(/=+$/, '');
  const next = whole.slice(offset + match.length, offset + match.length + 2);
  // `Bearer error="…"`, `Basic realm="…"`: a challenge, not a credential.
  if (token.endsWith('=') && CHALLENGE_PARAMS.has(name.toLowerCase()) && (next[0] === '"' || next === '\\"'))
    return match;
  // "Basic authentication is off", "a bearer token": prose, not a credential. Real credentials are
  // base64 or opaque tokens, which carry a capital, a digit or a symbol.
  if (/^[a-z]+$/.test(token) && token.length < 20) return match;
  return `${scheme}${space}${REDACTED}`;
}

export interface RedactorOptions {
  /** Mask emails, phone numbers and card numbers too (default true). */
  readonly pii?: boolean;
}

/** How much `value` masks: everything, or secrets and credentials only (for who-did-it fields). */
export type RedactionLevel = 'full' | 'credentials';

const MAX_DEPTH = 32;

export class Redactor {
  private readonly maskSecrets: ((line: string) => string) | undefined;
  private readonly pii: boolean;

  /** `secrets`: every value the config filled from ${env:…}/${file:…}. */
  constructor(secrets: readonly string[] = [], options: RedactorOptions = {}) {
    this.maskSecrets = secretMasker(secrets);
    this.pii = options.pii ?? true;
  }

  /** `s` with every secret, credential, URL query and (unless off) personal datum masked. */
  text(s: string, level: RedactionLevel = 'full'): string {
    let out = this.maskSecrets ? this.maskSecrets(s) : s;
    out = out
      .replace(JSON_PAIR, `$1"${REDACTED}"`)
      .replace(ESCAPED_JSON_PAIR, `$1\\"${REDACTED}\\"`)
      .replace(HEADER_LINE, `$1${REDACTED}`)
      .replace(AUTH_SCHEME, maskAuthScheme)
      .replace(KEY_VALUE, `$1${REDACTED}`)
      .replace(JWT, REDACTED)
      .replace(API_KEY, REDACTED);
    if (out.includes('://'))
      out = out.replace(URL_USERINFO, `$1${REDACTED}@`).replace(URL_QUERY, `$1?${REDACTED}`);
    if (level === 'credentials' || !this.pii) return out;
    if (out.includes('@') || out.includes('%40')) out = out.replace(EMAIL, REDACTED);
    if (/\d/.test(out)) {
      out = out
        .replace(CARD, maskCard)
        .replace(PHONE_INTERNATIONAL, maskInternational)
        .replace(PHONE_NANP, maskNational)
        .replace(PHONE_TRUNK, maskNational);
    }
    return out;
  }

  /**
   * A redacted deep copy of `value`, safe to serialize: every string through `text`, every field
   * named like a credential (authorization, cookie, x-api-key, password, token, secret,
   * client_secret, access_token, refresh_token…) replaced whole, object keys redacted like text,
   * Errors as { name, message, stack }, cycles and nesting deeper than 32 cut short.
   */
  value<T>(value: T, level: RedactionLevel = 'full'): T {
    return this.walk(value, level, 0, new WeakSet()) as T;
  }

  private walk(value: unknown, level: RedactionLevel, depth: number, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.text(value, level);
    if (value === null || typeof value !== 'object') {
      // Functions and symbols have no JSON form; bigints have none either.
      if (typeof value === 'function' || typeof value === 'symbol') return undefined;
      if (typeof value === 'bigint') return this.text(value.toString(), level);
      // A card number held as a number (epoch milliseconds start with 1, so they survive).
      if (
        typeof value === 'number' &&
        level === 'full' &&
        this.pii &&
        Number.isSafeInteger(value) &&
        isCard(String(value))
      )
        return REDACTED;
      return value;
    }
    if (seen.has(value)) return '[Circular]';
    if (depth >= MAX_DEPTH) return '[Truncated]';
    seen.add(value);
    try {
      if (Array.isArray(value)) return value.map((item) => this.walk(item, level, depth + 1, seen) ?? null);
      if (value instanceof Error) {
        return {
          name: value.name,
          message: this.text(value.message, level),
          ...(value.stack ? { stack: this.text(value.stack, level) } : {}),
        };
      }
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return this.walk(toJSON.call(value), level, depth + 1, seen);
      if (value instanceof Map) return this.walk(Object.fromEntries(value), level, depth + 1, seen);
      if (value instanceof Set) return this.walk([...value], level, depth + 1, seen);
      if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const redacted =
          isSensitiveKey(key) && item !== null ? REDACTED : this.walk(item, level, depth + 1, seen);
        if (item !== undefined && redacted !== undefined) out[this.text(key, level)] = redacted;
      }
      return out;
    } finally {
      seen.delete(value);
    }
  }
}
