/**
 * The browser side's shared steps: a form POST whose CSRF token is verified, and the pending
 * request a form or link carries, opened from its sealed id. On a refusal each sends its error
 * page and returns undefined, so an endpoint only carries on with what checked out.
 */
import type { ServerResponse } from 'node:http';
import { readBody } from '../../http/read-body.js';
import { CsrfError, type CsrfForm } from '../csrf.js';
import { OAuthError } from '../errors.js';
import { renderAuthorizeErrorPage, renderCsrfErrorPage } from '../pages/error-page.js';
import { FIELDS } from '../pages/fields.js';
import { PAGE_HEADERS } from '../pages/headers.js';
import type { Transaction } from '../transactions.js';
import { type EndpointContext, MAX_FORM_BYTES, type OAuthRequest } from './endpoint-context.js';
import { send } from './responses.js';

/** A form POST with its CSRF token verified; on a refusal the error page is sent and undefined returned. */
export async function verifiedForm(
  ctx: EndpointContext,
  { req, res }: OAuthRequest,
  kind: CsrfForm,
): Promise<{ fields: URLSearchParams; requestId: string; binding: string } | undefined> {
  const fields = new URLSearchParams(await readBody(req, MAX_FORM_BYTES));
  const requestId = fields.get(FIELDS.requestId) ?? '';
  const binding = verifyCsrf(ctx, res, kind, requestId, req.headers.cookie, fields.get(FIELDS.csrfToken));
  return binding === undefined ? undefined : { fields, requestId, binding };
}

/** The browser's CSRF binding when `token` is good for this form and request; else the 403 page. */
export function verifyCsrf(
  ctx: EndpointContext,
  res: ServerResponse,
  kind: CsrfForm,
  requestId: string,
  cookie: string | undefined,
  token: string | null,
): string | undefined {
  try {
    return ctx.csrf.verify(kind, requestId, cookie, token ?? undefined);
  } catch (err) {
    if (!(err instanceof CsrfError)) throw err;
    send(res, 403, PAGE_HEADERS, renderCsrfErrorPage(err));
    return undefined;
  }
}

/** The pending authorization request sealed in `requestId`; else the 400 page. */
export async function openTransaction(
  ctx: EndpointContext,
  res: ServerResponse,
  requestId: string,
): Promise<Transaction | undefined> {
  const transaction = await ctx.transactions.open(requestId).catch((err: unknown) => err as OAuthError);
  if (!(transaction instanceof OAuthError)) return transaction;
  pageError(res, transaction);
  return undefined;
}

export function pageError(res: ServerResponse, error: OAuthError): void {
  send(res, 400, PAGE_HEADERS, renderAuthorizeErrorPage(error));
}
