/**
 * The sign-in page of /authorize: a local user name and password (the Basic users' hashes), and
 * optionally a link to sign in with an external OpenID provider instead. The form posts back with
 * the pending request's id and a CSRF token bound to it and to this browser (src/oauth/csrf.ts).
 * The heading names the client as the consent page does, marked when the name is its own claim.
 */
import { clientHeadingName, type NamedClient } from './client-name.js';
import { FIELDS } from './fields.js';
import { html, safeHref, safePath } from './html.js';
import { layout } from './layout.js';

export interface LoginPageOptions {
  /** Where the form posts, a path on this server (e.g. `/oauth/login`). */
  readonly action: string;
  /** The pending authorization request, echoed in a hidden field. */
  readonly requestId: string;
  /** `csrf.token('login', requestId, binding)`. */
  readonly csrfToken: string;
  /** The client that asks, named in the heading (with its mark when it named itself). */
  readonly client: NamedClient;
  /** False when only the external provider may be used; default true. */
  readonly localLogin?: boolean;
  /** "Sign in with <name>": a path here that starts the delegated login, or the provider's https URL. */
  readonly externalLogin?: { readonly name: string; readonly href: string };
  /** After a failed attempt: the name typed, so only the password must be typed again. */
  readonly username?: string;
  /** After a failed attempt: what went wrong, e.g. "The user name or password is not right." */
  readonly error?: string;
  readonly serviceName?: string;
}

export function renderLoginPage(options: LoginPageOptions): string {
  const local = options.localLogin ?? true;
  if (!local && options.externalLogin === undefined) {
    throw new TypeError('the login page needs local login, an external provider, or both');
  }
  const action = safePath(options.action);
  const external = options.externalLogin;
  const externalHref = external === undefined ? undefined : safeHref(external.href);
  const error = options.error;
  const body = html`<h1>Sign in to continue to ${clientHeadingName(options.client)}</h1>
${error !== undefined && html`<div class="notice notice-error" role="alert" id="login-error"><p>${error}</p></div>`}
${
  local &&
  html`<form method="post" action="${action}">
<input type="hidden" name="${FIELDS.requestId}" value="${options.requestId}">
<input type="hidden" name="${FIELDS.csrfToken}" value="${options.csrfToken}">
<label for="username">User name</label>
<input type="text" id="username" name="${FIELDS.username}" value="${options.username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required${error !== undefined && html` aria-describedby="login-error"`}${options.username === undefined && html` autofocus`}>
<label for="password">Password</label>
<input type="password" id="password" name="${FIELDS.password}" autocomplete="current-password" required${options.username !== undefined && html` autofocus`}>
<div class="actions"><button type="submit" class="primary">Sign in</button></div>
</form>`
}
${
  external !== undefined &&
  html`${local && html`<p class="divider">or</p>`}
<p><a class="button" href="${externalHref}">Sign in with ${external.name}</a></p>`
}`;
  return layout({
    title: 'Sign in',
    body,
    ...(options.serviceName !== undefined ? { serviceName: options.serviceName } : {}),
  });
}
