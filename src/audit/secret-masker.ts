/**
 * The first mask: every secret value the config filled from ${env:…}/${file:…}, in each form it can
 * take in a line — raw, JSON-escaped, URL-encoded and form-encoded.
 */
import { REDACTED } from './redaction-marker.js';

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
