/**
 * The approval page's routes (policy.approval), on the gateway's own port:
 *
 *   GET  /approvals/<id>           sign-in form (the gateway's Basic users, as the OAuth sign-in)
 *   POST /approvals/<id>/login     checks the form's CSRF token and the password; shows the call
 *   POST /approvals/<id>/decision  checks the CSRF token and the signed-in state; approves or denies
 *
 * Nothing is kept between the steps on the server: after sign-in the page carries a signed,
 * 10-minute state naming the approval, the person and a hash of this browser's CSRF binding, so the
 * decision form works only in the browser that signed in, for this request, and on any instance.
 * Who may decide is checked again at decision time from the current config: the approve scope
 * (`tools:approve` or `<upstream>:approve`), and not the caller themself unless
 * policy.approval.selfApproval. Every page has the strict page headers (no script, no framing).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditLog } from '../audit/audit-log.js';
import { signInRefusedEvent } from '../audit/sign-in-events.js';
import { AuthError } from '../auth/auth-error.js';
import type { BasicUsers } from '../auth/basic.js';
import type { Principal } from '../core/principal.js';
import { Csrf, CsrfError } from '../oauth/csrf.js';
import { deriveKey } from '../oauth/derive-key.js';
import { send } from '../oauth/endpoints/responses.js';
import {
  type ApprovalView,
  renderApprovalDecided,
  renderApprovalPage,
} from '../oauth/pages/approval-page.js';
import { renderCsrfErrorPage, renderErrorPage } from '../oauth/pages/error-page.js';
import { FIELDS } from '../oauth/pages/fields.js';
import { PAGE_HEADERS } from '../oauth/pages/headers.js';
import { renderLoginPage } from '../oauth/pages/login-page.js';
import { STYLESHEET, STYLESHEET_HEADERS, STYLESHEET_PATH } from '../oauth/pages/stylesheet.js';
import { SignedFormToken } from '../oauth/signed-form-token.js';
import { browserHash } from '../oauth/transactions.js';
import { APPROVAL_PATH_PREFIX, type Approvals, approverProblem } from '../policy/approvals.js';
import type { ScopeSet } from '../policy/scopes.js';
import type { ApprovalRecord } from '../store/store.js';
import { readBody } from './read-body.js';

const ROUTE = /^\/approvals\/([A-Za-z0-9_-]{22})(\/login|\/decision)?$/;
const MAX_FORM_BYTES = 16 * 1024;
const SIGN_IN_LIFETIME_S = 10 * 60;

export interface PageRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly clientIp: string;
  readonly secure: boolean;
  readonly requestId: string;
}

export type PageHandler = (r: PageRequest) => Promise<void>;

export interface ApprovalPagesOptions {
  readonly approvals: Approvals;
  /** Who may sign in; without users the page says to decide with the CLI. */
  readonly users: BasicUsers | undefined;
  readonly scopesOf: (principal: Principal) => ScopeSet;
  /** The server secret: the CSRF and signed-in keys are derived from it. */
  readonly secret: Uint8Array;
  readonly publicUrl: URL;
  readonly audit: Pick<AuditLog, 'record'>;
  /** Whether the OAuth server already serves the pages' stylesheet. */
  readonly servesStylesheet: boolean;
}

interface SignedIn {
  readonly approval: string;
  readonly subject: string;
  readonly browser: string;
}

export class ApprovalPages {
  private readonly csrf: Csrf;
  private readonly signedIn: SignedFormToken;

  constructor(private readonly options: ApprovalPagesOptions) {
    this.csrf = new Csrf({ key: deriveKey(options.secret, 'approval-csrf'), publicUrl: options.publicUrl });
    this.signedIn = new SignedFormToken(
      deriveKey(options.secret, 'approval-sign-in'),
      options.publicUrl.origin,
      'pcl-approval+jwt',
      SIGN_IN_LIFETIME_S,
    );
  }

  /** The handler for `method` and `pathname`, when it is one of the approval pages. */
  route(method: string | undefined, pathname: string): PageHandler | undefined {
    if (
      pathname === STYLESHEET_PATH &&
      !this.options.servesStylesheet &&
      (method === 'GET' || method === 'HEAD')
    )
      return async ({ res }) => send(res, 200, STYLESHEET_HEADERS, STYLESHEET);
    if (!pathname.startsWith(APPROVAL_PATH_PREFIX)) return undefined;
    const match = ROUTE.exec(pathname);
    if (!match) return async ({ res }) => this.notFound(res);
    const id = match[1] as string;
    const step = match[2];
    const wanted = step === undefined ? 'GET' : 'POST';
    if ((method === 'HEAD' ? 'GET' : method) !== wanted)
      return async ({ res }) => {
        res.setHeader('allow', wanted);
        send(
          res,
          405,
          PAGE_HEADERS,
          errorPage('This address does not take that request', `Use ${wanted}.`, 'method_not_allowed'),
        );
      };
    if (step === undefined) return (r) => this.showSignIn(r, id);
    if (step === '/login') return (r) => this.signIn(r, id);
    return (r) => this.decision(r, id);
  }

  private async showSignIn(
    r: PageRequest,
    id: string,
    failure?: { username: string; error: string; status: number; retryAfter?: number },
  ): Promise<void> {
    const record = await this.options.approvals.store.get(id);
    if (!record) return this.notFound(r.res);
    if (!this.options.users)
      return send(
        r.res,
        200,
        PAGE_HEADERS,
        errorPage(
          'Decide this call with the command line',
          'This gateway has no users who can sign in here (auth.basic).',
          `An operator can approve it with: portcullis approvals approve ${id}`,
        ),
      );
    const binding = this.csrf.binding(r.req.headers.cookie);
    const page = renderLoginPage({
      action: `${APPROVAL_PATH_PREFIX}${id}/login`,
      requestId: id,
      csrfToken: this.csrf.token('approval-login', id, binding.value),
      client: {
        clientId: 'approval',
        kind: 'static',
        clientName: `the approval of ${record.upstream}.${record.tool}`,
      },
      ...(failure ? { username: failure.username, error: failure.error } : {}),
    });
    const headers = [
      ...PAGE_HEADERS,
      ...(binding.setCookie ? [['set-cookie', binding.setCookie] as const] : []),
      ...(failure?.retryAfter !== undefined ? [['retry-after', String(failure.retryAfter)] as const] : []),
    ];
    send(r.res, failure?.status ?? 200, headers, page);
  }

  private async signIn(r: PageRequest, id: string): Promise<void> {
    const { users } = this.options;
    const fields = new URLSearchParams(await readBody(r.req, MAX_FORM_BYTES));
    const binding = this.verifyCsrf(r, 'approval-login', id, fields.get(FIELDS.csrfToken));
    if (binding === undefined) return;
    if (!users) return this.showSignIn(r, id);
    const username = fields.get(FIELDS.username) ?? '';
    let user: Principal;
    try {
      user = await users.verify({
        username,
        password: fields.get(FIELDS.password) ?? '',
        clientIp: r.clientIp,
        secure: r.secure,
      });
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      this.options.audit.record(
        signInRefusedEvent(err, {
          requestId: r.requestId,
          clientIp: r.clientIp,
          endpoint: `${APPROVAL_PATH_PREFIX}${id}/login`,
          username,
        }),
      );
      const throttled = err.status === 429;
      return this.showSignIn(r, id, {
        username,
        error: throttled
          ? 'Too many failed attempts. Wait a while and try again.'
          : 'The user name or password is not right.',
        status: throttled ? 429 : 401,
        ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}),
      });
    }
    this.options.audit.record({
      type: 'auth.success',
      requestId: r.requestId,
      method: 'basic',
      principal: { id: user.id, kind: user.kind, name: user.name },
      clientIp: r.clientIp,
      upstream: '-',
      endpoint: `${APPROVAL_PATH_PREFIX}${id}/login`,
    });
    const record = await this.options.approvals.store.get(id);
    if (!record) return this.notFound(r.res);
    await this.showApproval(r.res, record, user, binding);
  }

  private async decision(r: PageRequest, id: string): Promise<void> {
    const fields = new URLSearchParams(await readBody(r.req, MAX_FORM_BYTES));
    const state = fields.get(FIELDS.requestId) ?? '';
    const binding = this.verifyCsrf(r, 'approval', state, fields.get(FIELDS.csrfToken));
    if (binding === undefined) return;
    const signedIn = await this.open(state);
    if (!signedIn || signedIn.approval !== id || signedIn.browser !== browserHash(binding))
      return send(
        r.res,
        400,
        PAGE_HEADERS,
        errorPage(
          'This approval form has expired',
          'The sign-in it carries is no longer valid, or belongs to another request.',
          'Open the approval link again and sign in.',
          'invalid_request',
        ),
      );
    const user = this.options.users?.principalOf(signedIn.subject);
    const record = await this.options.approvals.store.get(id);
    if (!user || !record) return this.notFound(r.res);
    const problem = approverProblem(
      user,
      this.options.scopesOf(user),
      record,
      this.options.approvals.selfApproval,
    );
    if (problem)
      return send(
        r.res,
        403,
        PAGE_HEADERS,
        errorPage(
          'You cannot decide this call',
          capitalize(problem),
          'Ask someone who may approve calls of this upstream.',
          'insufficient_scope',
        ),
      );
    const decision =
      fields.get(FIELDS.decision) === 'approve'
        ? 'approved'
        : fields.get(FIELDS.decision) === 'deny'
          ? 'denied'
          : undefined;
    if (!decision)
      return send(
        r.res,
        400,
        PAGE_HEADERS,
        errorPage(
          'The form was incomplete',
          'It said neither approve nor deny.',
          'Open the approval link again.',
          'invalid_request',
        ),
      );
    const outcome = await this.options.approvals.decide(id, decision, { principal: user });
    if (!outcome.ok) return this.showApproval(r.res, outcome.record ?? record, user, binding, 409);
    send(r.res, 200, PAGE_HEADERS, renderApprovalDecided(view(outcome.record), decision));
  }

  /** The call, and the decision form when `user` may decide it now. */
  private async showApproval(
    res: ServerResponse,
    record: ApprovalRecord,
    user: Principal,
    binding: string,
    status = 200,
  ): Promise<void> {
    const pending = record.status === 'pending' && record.expiresAt > Date.now();
    const problem = pending
      ? approverProblem(user, this.options.scopesOf(user), record, this.options.approvals.selfApproval)
      : `This request is ${stateOf(record)}: there is nothing to decide.`;
    const state =
      problem === undefined
        ? await this.seal({ approval: record.id, subject: user.name, browser: browserHash(binding) })
        : undefined;
    const page = renderApprovalPage({
      approval: view(record),
      userName: user.name,
      ...(state !== undefined
        ? {
            decide: {
              action: `${APPROVAL_PATH_PREFIX}${record.id}/decision`,
              requestId: state,
              csrfToken: this.csrf.token('approval', state, binding),
            },
          }
        : {}),
      ...(problem !== undefined ? { notice: capitalize(problem) } : {}),
    });
    send(res, status, PAGE_HEADERS, page);
  }

  /** The form's CSRF binding when its token is good for `form` and `requestId`; else the 403 page. */
  private verifyCsrf(
    r: PageRequest,
    form: 'approval-login' | 'approval',
    requestId: string,
    token: string | null,
  ): string | undefined {
    try {
      return this.csrf.verify(form, requestId, r.req.headers.cookie, token ?? undefined);
    } catch (err) {
      if (!(err instanceof CsrfError)) throw err;
      send(r.res, 403, PAGE_HEADERS, renderCsrfErrorPage(err));
      return undefined;
    }
  }

  private seal(signedIn: SignedIn): Promise<string> {
    return this.signedIn.sign({ a: signedIn.approval, s: signedIn.subject, b: signedIn.browser });
  }

  private async open(token: string): Promise<SignedIn | undefined> {
    const { a, s, b } = (await this.signedIn.verify(token)) ?? {};
    return typeof a === 'string' && typeof s === 'string' && typeof b === 'string'
      ? { approval: a, subject: s, browser: b }
      : undefined;
  }

  private notFound(res: ServerResponse): void {
    send(
      res,
      404,
      PAGE_HEADERS,
      errorPage(
        'There is no such approval request',
        'The link is wrong, or the request was removed.',
        'Ask the caller for a new link.',
        'not_found',
      ),
    );
  }
}

function stateOf(record: ApprovalRecord): string {
  if (record.status === 'approved' && record.usedAt !== null) return 'used';
  if (record.status === 'pending' && record.expiresAt <= Date.now()) return 'expired';
  return record.status;
}

function view(record: ApprovalRecord): ApprovalView {
  return {
    id: record.id,
    upstream: record.upstream,
    tool: record.tool,
    caller: record.principalName,
    argumentsShown: record.argumentsShown,
    argumentsHash: record.argumentsHash,
    state: stateOf(record),
    requestedAt: new Date(record.createdAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
  };
}

function errorPage(title: string, problem: string, advice: string, code?: string): string {
  return renderErrorPage({ title, problem, advice, ...(code !== undefined ? { code } : {}) });
}

function capitalize(text: string): string {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?:]$/.test(sentence) ? sentence : `${sentence}.`;
}
