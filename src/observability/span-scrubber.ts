/**
 * The second net for span contents: every string is bounded and passes through the audit Redactor
 * (config secrets and credentials by their shape), URIs and paths lose their query, fragment and
 * user info, and attribute names are held to a plain shape.
 */
import { type RedactionLevel, Redactor } from '../audit/redact.js';

export const MAX_VALUE = 256;
export const MAX_NAME = 128;
export const ATTRIBUTE_NAME = /^[a-z][a-z0-9_.]{0,127}$/;

/** `text` cut before any query string or fragment: a URI or path without what might be a credential. */
export function withoutQuery(text: string): string {
  const cut = text.search(/[?#]/);
  return cut === -1 ? text : text.slice(0, cut);
}

/** A URI without its query, fragment or user info. */
export function cleanUri(uri: string): string {
  return withoutQuery(uri).replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

export interface Scrubber {
  /**
   * A string as it may appear on a span: bounded, with secrets and credentials masked; with
   * `full`, personal data too (free-form event values). Names and ids keep personal data readable,
   * as in the audit trail's who-fields.
   */
  text(value: string, max?: number, level?: RedactionLevel): string;
}

export function scrubber(secrets: readonly string[]): Scrubber {
  const redactor = new Redactor(secrets);
  return {
    text: (value, max = MAX_VALUE, level = 'credentials') =>
      redactor.text(value.slice(0, max * 2), level).slice(0, max),
  };
}
