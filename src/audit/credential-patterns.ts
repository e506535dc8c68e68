/**
 * Credentials found by their field name or their shape: JSON pairs and key=value pairs named like
 * password, token, secret…, header lines (Authorization, Cookie, X-API-Key…) to the end of the line,
 * `Bearer`/`Basic` values (not a challenge's auth-params, not prose), JWT-shaped tokens, Portcullis
 * API keys, and the user info and query string of URLs.
 */
import { REDACTED } from './redaction-marker.js';

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

/** `text` with credentials masked by name and by shape, and URLs without user info or query. */
export function maskCredentials(text: string): string {
  const out = text
    .replace(JSON_PAIR, `$1"${REDACTED}"`)
    .replace(ESCAPED_JSON_PAIR, `$1\\"${REDACTED}\\"`)
    .replace(HEADER_LINE, `$1${REDACTED}`)
    .replace(AUTH_SCHEME, maskAuthScheme)
    .replace(KEY_VALUE, `$1${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(API_KEY, REDACTED);
  if (!out.includes('://')) return out;
  return out.replace(URL_USERINFO, `$1${REDACTED}@`).replace(URL_QUERY, `$1?${REDACTED}`);
}
