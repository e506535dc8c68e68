/**
 * The document every page shares: language, charset, viewport, the one hashed stylesheet, and a
 * `main` landmark holding the card. No script and no inline style, so the strict page CSP holds.
 */
import { html, type SafeHtml } from './html.js';
import { STYLESHEET_INTEGRITY, STYLESHEET_PATH } from './stylesheet.js';

/** Shown above every heading and in the title, so the user knows whose page this is. */
export const DEFAULT_SERVICE_NAME = 'Portcullis';

export interface LayoutOptions {
  /** The `<title>`, after the service name. */
  readonly title: string;
  /** Who runs this server, as the operator names it (`oauth.serviceName`); default "Portcullis". */
  readonly serviceName?: string;
  readonly body: SafeHtml;
  /** A wider card on large screens, for a page laid out in two columns (the consent page). */
  readonly wide?: boolean;
}

export function layout(options: LayoutOptions): string {
  const service = options.serviceName ?? DEFAULT_SERVICE_NAME;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${options.title} · ${service}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}" integrity="${STYLESHEET_INTEGRITY}">
</head>
<body>
<main${options.wide === true && html` class="wide"`}>
<div class="card">
<p class="service">${service}</p>
${options.body}
</div>
</main>
</body>
</html>
`.toString();
}
