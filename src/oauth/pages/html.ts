/**
 * HTML built by escaping, never by trusting: `html` is a tagged template that escapes every
 * interpolated value unless it is already `SafeHtml` (the output of another `html` call), so a
 * client name, a scope, a URL or an error message can only ever become text. Every template
 * quotes its attributes with `"`, and `escapeHtml` escapes `"` and `'` as well as `&`, `<` and
 * `>`, so a value can close neither an element nor an attribute. A value placed in an `href` or
 * `action` must also pass `safePath` or `safeHref`: escaping does not stop `javascript:`.
 */

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** `value` as HTML text or as a double- or single-quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** Markup that was built by `html`, so it is inserted as is. Only `html` makes one. */
export class SafeHtml {
  readonly #markup: string;

  /** @internal use `html`; a `SafeHtml` made from a raw string would bypass escaping. */
  constructor(markup: string, token: typeof CONSTRUCT) {
    if (token !== CONSTRUCT) throw new TypeError('SafeHtml is made by the html template tag only');
    this.#markup = markup;
  }

  toString(): string {
    return this.#markup;
  }
}

const CONSTRUCT: unique symbol = Symbol('SafeHtml');

/** What a template may interpolate: text (escaped), markup, a list of either, or nothing. */
export type HtmlValue = string | number | SafeHtml | undefined | null | false | readonly HtmlValue[];

/**
 * @example
 * html`<h1>${client.clientName}</h1>` // "<h1>&lt;script&gt;…</h1>" for a hostile name
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out, CONSTRUCT);
}

function render(value: HtmlValue): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/**
 * `path` when it is a path on this server (`/…`, not `//host`, no backslash or control
 * character): form actions and our own links must never leave the origin.
 */
export function safePath(path: string): string {
  if (!/^\/(?![/\\])[^\\\s]*$/.test(path)) {
    throw new TypeError(
      `${JSON.stringify(path.slice(0, 100))} is not a path on this server — write it like /oauth/login`,
    );
  }
  return path;
}

/** `href` when it is a path on this server or an https URL: a link must never run script. */
export function safeHref(href: string): string {
  if (href.startsWith('/')) return safePath(href);
  if (URL.canParse(href) && new URL(href).protocol === 'https:' && !/[\s\\]/.test(href)) return href;
  throw new TypeError(
    `${JSON.stringify(href.slice(0, 100))} is neither a path on this server nor an https:// URL`,
  );
}
