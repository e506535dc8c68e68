/**
 * The page shown when /authorize cannot trust where it would send the browser (an unknown client,
 * a redirect URI the client did not register) or a form fails its CSRF check. It never redirects
 * and offers no link onward: the request is the only source of a destination, and it is the thing
 * that failed (OAuth 2.1 §4.1.2.1 — no open redirect). It says what is wrong and what the user can
 * do, and names the error code for whoever they ask for help.
 */
import type { CsrfError } from '../csrf.js';
import type { OAuthError } from '../errors.js';
import { html } from './html.js';
import { layout } from './layout.js';

export interface ErrorPageOptions {
  /** One line: what happened, e.g. "This sign-in link is not valid". */
  readonly title: string;
  /** What exactly is wrong (escaped: it may quote the request). */
  readonly problem: string;
  /** What the user can do about it. */
  readonly advice: string;
  /** A stable code for support (`invalid_client`, `csrf_cookie_missing`…). */
  readonly code?: string;
  readonly serviceName?: string;
}

export function renderErrorPage(options: ErrorPageOptions): string {
  const body = html`<h1>${options.title}</h1>
<div class="notice notice-error" role="alert"><p>${options.problem}</p></div>
<p>${options.advice}</p>
${options.code !== undefined && html`<p class="muted">Error code: <code>${options.code}</code></p>`}`;
  return layout({
    title: options.title,
    body,
    ...(options.serviceName !== undefined ? { serviceName: options.serviceName } : {}),
  });
}

const START_AGAIN = 'Go back to the application and connect again.';

/**
 * The page for an /authorize request that must not redirect (`parseAuthorizationRequest` returned
 * `redirect: false`). Answer it with status 400 and `PAGE_HEADERS`.
 */
export function renderAuthorizeErrorPage(error: OAuthError, serviceName?: string): string {
  const problem = error.expose
    ? capitalize(error.description)
    : 'The sign-in request could not be processed.';
  const advice =
    error.error === 'invalid_client'
      ? `The application that sent you here is not registered with this server, or no longer is. ${START_AGAIN} If this keeps happening, tell the application's developer or the operator of this server.`
      : error.expose
        ? `This server will not send you back to an address the application did not register, because that would let anyone use this page to send you anywhere. ${START_AGAIN} If this keeps happening, tell the application's developer.`
        : `Something went wrong on this server. Try again in a moment; if it keeps happening, tell the operator of this server.`;
  return renderErrorPage({
    title: error.expose ? 'This sign-in link is not valid' : 'Sign-in failed',
    problem,
    advice,
    code: error.error,
    ...(serviceName !== undefined ? { serviceName } : {}),
  });
}

/** The page for a login or consent form that failed its CSRF check. Answer it with status 403. */
export function renderCsrfErrorPage(error: CsrfError, serviceName?: string): string {
  return renderErrorPage({
    title: 'This form could not be accepted',
    problem: error.description,
    advice: `Nothing was signed in or approved. ${START_AGAIN}`,
    code: error.code,
    ...(serviceName !== undefined ? { serviceName } : {}),
  });
}

function capitalize(text: string): string {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
