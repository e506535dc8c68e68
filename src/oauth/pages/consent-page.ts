/**
 * The consent page (issue 7 §3, §5): who is asking, how far that is verified, where the answer
 * goes, and exactly which scopes it gets — and which it asked for but will not get, because the
 * user cannot grant them (the intersection rule of `grantScopes`). The page states facts the user
 * can check rather than trusting the client's own words: a self-registered client's name is
 * marked unverified, a metadata-document client is named by the host that published it, and a
 * client that only listens on loopback is called out, since any local program could be it.
 */
import type { OAuthClient } from '../client-metadata.js';
import { isLoopbackRedirectUri } from '../redirect-uri.js';
import type { ScopeGrant } from '../scopes.js';
import { clientDisplayName, clientHeadingName } from './client-name.js';
import { FIELDS } from './fields.js';
import { html, type SafeHtml, safePath } from './html.js';
import { layout } from './layout.js';
import { describeScope } from './scope-descriptions.js';
import { groupScopes, type ScopeGroup } from './scope-groups.js';

/** The part of a client the page shows. */
export type ConsentClient = Pick<OAuthClient, 'clientId' | 'kind' | 'redirectUris' | 'clientName'>;

export interface ConsentPageOptions {
  /** Where the form posts, a path on this server (e.g. `/oauth/consent`). */
  readonly action: string;
  readonly requestId: string;
  /** `csrf.token('consent', requestId, binding)`. */
  readonly csrfToken: string;
  readonly client: ConsentClient;
  /** The validated redirect URI of this request (the one the answer goes to). */
  readonly redirectUri: string;
  /** The resource (MCP endpoint URL) the token will be bound to. */
  readonly resource: string;
  /** `grantScopes(request.scopes, userScopes, client.scopes)`. */
  readonly grant: ScopeGrant;
  /** The signed-in user, as they know themselves. */
  readonly userName: string;
  /** Upstream names, so `files:read` is described as limited to `files`. */
  readonly upstreams?: readonly string[];
  readonly serviceName?: string;
}

export function renderConsentPage(options: ConsentPageOptions): string {
  const { client, grant } = options;
  const action = safePath(options.action);
  const name = clientDisplayName(client);
  const upstreams = options.upstreams ?? [];
  const loopbackOnly = client.redirectUris.length > 0 && client.redirectUris.every(isLoopbackRedirectUri);
  // Two columns on a laptop screen (who asks | what it gets, and the decision), one on a phone.
  const body = html`<div class="consent">
<div class="consent-who">
<h1>${clientHeadingName(client)} wants to access your account</h1>
${trustSection(client, name)}
${
  loopbackOnly &&
  html`<div class="notice notice-warning" id="loopback-warning"><p><strong>It only receives answers on this computer.</strong>
That is usual for desktop apps and command-line tools, but any program running here could have started this request.</p></div>`
}
<dl>
<dt>Signed in as</dt><dd>${options.userName}</dd>
<dt>Access to</dt><dd class="mono">${options.resource}</dd>
<dt>Returns you to</dt><dd>${redirectTarget(options.redirectUri)}</dd>
</dl>
</div>
<div class="consent-what">
<h2>If you approve, it will be able to</h2>
${
  grant.granted.length > 0
    ? groupScopes(grant.granted, upstreams).map((group) => scopeGroup(group, upstreams))
    : html`<p id="nothing-granted">Nothing: none of the permissions it asked for are yours to give.</p>`
}
${
  grant.dropped.length > 0 &&
  html`<section id="dropped-scopes" aria-labelledby="dropped-heading">
<h2 id="dropped-heading">It asked for, but will not get</h2>
<ul class="scopes dropped">${grant.dropped.map((s) => html`<li><code>${s}</code></li>`)}</ul>
<p class="muted">Your account does not have these permissions, so you cannot give them to the application.</p>
</section>`
}
<form class="decision" method="post" action="${action}">
<input type="hidden" name="${FIELDS.requestId}" value="${options.requestId}">
<input type="hidden" name="${FIELDS.csrfToken}" value="${options.csrfToken}">
<div class="actions">
${grant.granted.length > 0 && html`<button type="submit" class="primary" name="${FIELDS.decision}" value="approve">Approve</button>`}
<button type="submit" name="${FIELDS.decision}" value="deny">Deny</button>
</div>
</form>
</div>
</div>`;
  return layout({
    title: `Allow ${name}?`,
    body,
    wide: true,
    ...(options.serviceName !== undefined ? { serviceName: options.serviceName } : {}),
  });
}

/**
 * One group of granted scopes: each widest scope with what it means and the narrower ones it
 * covers; a group that can delete data carries the warning.
 */
function scopeGroup(group: ScopeGroup, upstreams: readonly string[]): SafeHtml {
  const destructive = group.meaning === 'everything' || group.meaning === 'destructive';
  const id = `scopes-${group.meaning}`;
  return html`<section class="scope-group${destructive ? ' destructive' : ''}" id="${id}" aria-labelledby="${id}-heading">
<h3 id="${id}-heading">${group.title}</h3>
${destructive && html`<p class="destructive-warning" id="destructive-warning"><strong>It could delete or overwrite data.</strong> Approve only if you trust it with that.</p>`}
<ul class="scopes granted">${group.scopes.map(
    ({ scope, covers }) =>
      html`<li><code>${scope}</code>${covers.length > 0 && html` <span class="covers">includes ${covers.map((c, i) => html`${i > 0 && ', '}<code>${c}</code>`)}</span>`}<span class="description">${describeScope(scope, upstreams)}</span></li>`,
  )}</ul>
</section>`;
}

/** What backs the client's identity, by how it registered. */
function trustSection(client: ConsentClient, name: string): SafeHtml {
  switch (client.kind) {
    case 'dynamic':
      return html`<p><span class="badge badge-unverified" id="client-kind">Unverified application</span></p>
<div class="notice notice-warning" id="unverified-warning"><p><strong>This application registered itself, and its name has not been checked.</strong>
Anyone can register an application called “${name}”. Approve only if you started this sign-in yourself, just now, from an app you trust.</p></div>`;
    case 'static':
      return html`<p><span class="badge badge-verified" id="client-kind">Verified application</span></p>
<p class="muted">The operator of this server registered this application.</p>`;
    case 'metadata-document': {
      const host = URL.canParse(client.clientId) ? new URL(client.clientId).host : client.clientId;
      return html`<p><span class="badge badge-document" id="client-kind">Published by ${host}</span></p>
<p class="muted">This application is described at <span class="mono">${client.clientId}</span>; its name is whatever
<strong>${host}</strong> says. Approve only if you recognise ${host}.</p>`;
    }
    default:
      throw new TypeError(`unknown client kind ${String((client as { kind: unknown }).kind)}`);
  }
}

/** Where the answer goes: a host for http(s), "this computer" for loopback, an app for a scheme. */
export function redirectTarget(redirectUri: string): SafeHtml {
  if (!URL.canParse(redirectUri)) return html`<span class="mono">${redirectUri}</span>`;
  const url = new URL(redirectUri);
  if (isLoopbackRedirectUri(redirectUri)) return html`<span class="mono">${url.host}</span> (this computer)`;
  if (url.protocol === 'https:' || url.protocol === 'http:')
    return html`<span class="mono">${url.host}</span>`;
  return html`the app that handles <span class="mono">${url.protocol}</span> links on this device`;
}
