/**
 * Redaction for log lines and audit events alike (Redactor; the masks are the modules it imports).
 * What is masked, in this order:
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
import { isSensitiveKey, maskCredentials } from './credential-patterns.js';
import { isCard, maskPersonalData } from './personal-data.js';
import { REDACTED } from './redaction-marker.js';
import { secretMasker } from './secret-masker.js';

// Callers take the marker and the masks' helpers from here, with the Redactor.
export { isSensitiveKey } from './credential-patterns.js';
export { luhn } from './personal-data.js';
export { REDACTED } from './redaction-marker.js';
export { secretMasker } from './secret-masker.js';

export interface RedactorOptions {
  /** Mask emails, phone numbers and card numbers too (default true). */
  readonly pii?: boolean;
}

/** How much `value` masks: everything, or secrets and credentials only (for who-did-it fields). */
export type RedactionLevel = 'full' | 'credentials';

const MAX_DEPTH = 32;
/** Clean strings remembered per level (then forgotten all at once), and the longest one (see `clean`). */
const CLEAN_STRINGS = 4096;
const CLEAN_MAX_LENGTH = 256;

export class Redactor {
  private readonly maskSecrets: ((line: string) => string) | undefined;
  private readonly pii: boolean;
  /**
   * Short strings `text` left unchanged, by level. An audit event's keys and most of its values
   * repeat from one event to the next (event type, method, upstream, tool, outcome, principal), and
   * each string costs ~1.5 µs through the dozen masks: remembered, a repeat costs a lookup and the
   * result is the same. Only strings in which no mask found anything are kept, so the cache never
   * holds a secret, a credential or personal data. A plain set, emptied when full: unique strings
   * (request ids, times) fill it, and the repeating ones are back after one event; an LRU's
   * bookkeeping cost more than it saved.
   */
  private readonly clean: Record<RedactionLevel, Set<string>> = { full: new Set(), credentials: new Set() };

  /** `secrets`: every value the config filled from ${env:…}/${file:…}. */
  constructor(secrets: readonly string[] = [], options: RedactorOptions = {}) {
    this.maskSecrets = secretMasker(secrets);
    this.pii = options.pii ?? true;
  }

  /** `s` with every secret, credential, URL query and (unless off) personal datum masked. */
  text(s: string, level: RedactionLevel = 'full'): string {
    const short = s.length <= CLEAN_MAX_LENGTH;
    if (short && this.clean[level].has(s)) return s;
    const masked = maskCredentials(this.maskSecrets ? this.maskSecrets(s) : s);
    const out = level === 'credentials' || !this.pii ? masked : maskPersonalData(masked);
    if (short && out === s) {
      const clean = this.clean[level];
      if (clean.size >= CLEAN_STRINGS) clean.clear();
      clean.add(s);
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

  /**
   * `value(record)` for one audit event, in one copy: the top-level fields named in `readable`
   * (who acted) are masked at the 'credentials' level and come last, in that order; the fields in
   * `omit` are left out.
   */
  record<T extends object>(record: T, readable: readonly string[], omit?: ReadonlySet<string>): T {
    const seen = new WeakSet<object>([record]);
    const fields = record as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const put = (key: string, level: RedactionLevel) => {
      const item = fields[key];
      const redacted = isSensitiveKey(key) && item !== null ? REDACTED : this.walk(item, level, 1, seen);
      if (item !== undefined && redacted !== undefined) out[this.text(key, level)] = redacted;
    };
    for (const key of Object.keys(fields)) {
      if (!readable.includes(key) && !omit?.has(key)) put(key, 'full');
    }
    for (const key of readable) if (Object.hasOwn(fields, key)) put(key, 'credentials');
    return out as T;
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
