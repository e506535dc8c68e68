/**
 * The one stylesheet of the login, consent and error pages. It is served from a path that holds
 * its own hash, so the pages' CSP can say `style-src 'self'` (no inline style, no 'unsafe-inline'),
 * the `<link>` can carry Subresource Integrity, and the file can be cached forever: a changed
 * stylesheet is a new path.
 */
import { createHash } from 'node:crypto';

export const STYLESHEET = `:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --card: #fff; --text: #1b1f24; --muted: #59636e; --border: #d0d7de;
  --accent: #0b57d0; --accent-text: #fff; --warn-bg: #fff8e1; --warn-border: #b7791f;
  --error-bg: #fdecea; --error-border: #c62828; --ok: #1a7f37;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --card: #161b22; --text: #e6edf3; --muted: #9aa5b1; --border: #30363d;
    --accent: #4c8df6; --accent-text: #0d1117; --warn-bg: #2d2410; --warn-border: #d29922;
    --error-bg: #2d1214; --error-border: #f85149; --ok: #3fb950;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 34rem; margin: 1.5rem auto; padding: 0 1rem; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 8px; padding: 1.25rem 1.75rem; }
.service { margin: 0 0 .75rem; color: var(--muted); font-size: .875rem; }
h1 { margin: 0 0 .75rem; font-size: 1.375rem; line-height: 1.3; overflow-wrap: anywhere; }
h2 { margin: 1.25rem 0 .25rem; font-size: 1rem; }
h3 { margin: .75rem 0 .125rem; font-size: .8125rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
p { margin: .5rem 0; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .875em; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.badge { display: inline-block; margin: 0 0 .25rem; padding: .1rem .55rem; border-radius: 999px; font-size: .8125rem; font-weight: 600; border: 1px solid currentColor; }
.badge-unverified { color: var(--warn-border); }
.badge-verified { color: var(--ok); }
.badge-document { color: var(--accent); }
.name-mark { margin: 0; vertical-align: .2em; font-size: .75rem; white-space: nowrap; }
.notice { margin: .75rem 0; padding: .5rem 1rem; border-radius: 6px; border-left: 4px solid; }
.notice p { margin: .25rem 0; }
.notice-warning { background: var(--warn-bg); border-color: var(--warn-border); }
.notice-error { background: var(--error-bg); border-color: var(--error-border); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .125rem 1rem; margin: .75rem 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
ul.scopes { list-style: none; margin: 0; padding: 0; }
ul.scopes li { padding: .25rem 0; border-top: 1px solid var(--border); }
ul.scopes li:first-child { border-top: 0; }
ul.scopes .covers { color: var(--muted); font-size: .875rem; }
ul.scopes .description { display: block; color: var(--muted); font-size: .9375rem; }
.scope-group.destructive { margin: .5rem 0; padding: .125rem .75rem .25rem; border-left: 4px solid var(--warn-border); border-radius: 6px; background: var(--warn-bg); }
.scope-group.destructive h3 { color: var(--text); }
.destructive-warning { margin: 0; }
ul.dropped { display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
ul.dropped li, ul.dropped li:first-child { padding: 0; border: 0; }
ul.dropped code { text-decoration: line-through; }
label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
input[type="text"], input[type="password"] {
  width: 100%; padding: .55rem .7rem; font: inherit; color: inherit; background: var(--card);
  border: 1px solid var(--border); border-radius: 6px;
}
.actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1.25rem; }
/* However long the list, the decision stays in view (issue 14). */
.decision { position: sticky; bottom: 0; margin: 0 -.25rem; padding: 0 .25rem .75rem; background: var(--card); }
.decision .actions { margin-top: 0; padding-top: .75rem; }
/* One column on a phone: the form's sticky box is then the whole page, not one column. */
.consent-who, .consent-what { display: contents; }
@media (min-width: 60rem) {
  main.wide { max-width: 66rem; }
  .consent { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); column-gap: 2.5rem; }
  .consent-who, .consent-what { display: block; }
  .consent-what > h2:first-child { margin-top: 0; }
}
button, .button {
  display: inline-block; padding: .55rem 1.2rem; font: inherit; font-weight: 600; text-decoration: none;
  border-radius: 6px; border: 1px solid var(--border); background: var(--card); color: var(--text); cursor: pointer;
}
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
button:focus-visible, .button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
a { color: var(--accent); }
/* A held call's arguments (approval page): long values wrap, the box scrolls rather than the page. */
pre.arguments {
  margin: .25rem 0 0; padding: .75rem; max-height: 24rem; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere;
  font: .875rem/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--bg); border: 1px solid var(--border); border-radius: 6px;
}
.divider { margin: 1.5rem 0 1rem; text-align: center; color: var(--muted); font-size: .875rem; }
`;

const digest = createHash('sha256').update(STYLESHEET, 'utf8').digest();

/** For the `integrity` attribute of the `<link>` (Subresource Integrity). */
export const STYLESHEET_INTEGRITY = `sha256-${digest.toString('base64')}`;

/** Where the stylesheet is served; the hash in the name makes it safe to cache as immutable. */
export const STYLESHEET_PATH = `/oauth/assets/pages-${digest.toString('hex').slice(0, 16)}.css`;

/** Headers for the stylesheet response (GET and HEAD of `STYLESHEET_PATH`). */
export const STYLESHEET_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['content-type', 'text/css; charset=utf-8'],
  ['cache-control', 'public, max-age=31536000, immutable'],
  ['x-content-type-options', 'nosniff'],
  // The stylesheet is same-origin only; nothing else needs to load it.
  ['cross-origin-resource-policy', 'same-origin'],
];
