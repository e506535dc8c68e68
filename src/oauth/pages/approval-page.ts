/**
 * The approval page of one held call (policy.approval): what would run — tool, upstream, caller,
 * the rule that held it, the arguments as the audit shows them (redacted) — and, for a signed-in
 * person who may decide it, Approve and Deny. The form posts back here with the signed-in state and
 * a CSRF token bound to it and to this browser; without the right to decide, the page says why and
 * offers no buttons. Like every page: no script, the strict page CSP (headers.ts).
 */
import { FIELDS } from './fields.js';
import { html, safePath } from './html.js';
import { layout } from './layout.js';

export interface ApprovalView {
  readonly id: string;
  readonly upstream: string;
  readonly tool: string;
  readonly caller: string;
  /** JSON, redacted where the audit redacts. */
  readonly argumentsShown: string;
  readonly argumentsHash: string;
  /** pending, approved, used, denied or expired. */
  readonly state: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
}

export interface ApprovalPageOptions {
  readonly approval: ApprovalView;
  readonly userName: string;
  /** The form, when the signed-in person may decide now. */
  readonly decide?: { readonly action: string; readonly requestId: string; readonly csrfToken: string };
  /** Why there is nothing to decide (decided already, expired, no right to). */
  readonly notice?: string;
  readonly serviceName?: string;
}

export function renderApprovalPage(options: ApprovalPageOptions): string {
  const { approval, decide } = options;
  const body = html`<h1>Approve a call to <code>${approval.tool}</code>?</h1>
<p>A caller of this gateway wants to run a tool that needs a person's approval first. It runs once if you approve, and not at all if you deny it or no one decides by ${approval.expiresAt}.</p>
<dl>
<dt>Tool</dt><dd class="mono" id="tool">${approval.tool}</dd>
<dt>Upstream</dt><dd class="mono" id="upstream">${approval.upstream}</dd>
<dt>Caller</dt><dd id="caller">${approval.caller}</dd>
<dt>Requested</dt><dd>${approval.requestedAt}</dd>
<dt>State</dt><dd id="state">${approval.state}</dd>
<dt>Signed in as</dt><dd id="approver">${options.userName}</dd>
</dl>
<h2>Arguments</h2>
<pre class="arguments" id="arguments">${approval.argumentsShown}</pre>
<p class="muted">Secrets, tokens and personal data are masked as in the audit trail. Argument hash <span class="mono">${approval.argumentsHash.slice(0, 16)}</span>.</p>
${options.notice !== undefined && html`<div class="notice notice-warning" role="status" id="notice"><p>${options.notice}</p></div>`}
${
  decide !== undefined &&
  html`<form class="decision" method="post" action="${safePath(decide.action)}">
<input type="hidden" name="${FIELDS.requestId}" value="${decide.requestId}">
<input type="hidden" name="${FIELDS.csrfToken}" value="${decide.csrfToken}">
<div class="actions">
<button type="submit" class="primary" name="${FIELDS.decision}" value="approve">Approve</button>
<button type="submit" name="${FIELDS.decision}" value="deny">Deny</button>
</div>
</form>`
}`;
  return layout({
    title: 'Approve a call',
    body,
    ...(options.serviceName !== undefined ? { serviceName: options.serviceName } : {}),
  });
}

/** After a decision: what it means for the waiting call. */
export function renderApprovalDecided(approval: ApprovalView, decision: 'approved' | 'denied'): string {
  const body =
    decision === 'approved'
      ? html`<h1>Approved</h1>
<div class="notice" role="status" id="outcome"><p>The call to <code>${approval.tool}</code> on <code>${approval.upstream}</code> by ${approval.caller} may now run, once, with exactly these arguments, until ${approval.expiresAt}.</p></div>
<p>You can close this page.</p>`
      : html`<h1>Denied</h1>
<div class="notice" role="status" id="outcome"><p>The call to <code>${approval.tool}</code> on <code>${approval.upstream}</code> by ${approval.caller} is refused. It did not run.</p></div>
<p>You can close this page.</p>`;
  return layout({ title: decision === 'approved' ? 'Approved' : 'Denied', body });
}
