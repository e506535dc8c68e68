/**
 * How the authorization server writes its answers: pages with their own headers, JSON that is
 * never cached, and 302s to the client whose CSP allows the form that led there.
 */
import type { ServerResponse } from 'node:http';
import { authorizationResponseLocation } from '../authorization-request.js';
import { pageHeaders } from '../pages/headers.js';
import type { Transaction } from '../transactions.js';

/** setHeader, not writeHead's list: a page's CSP must replace the front door's, not join it. */
export function send(
  res: ServerResponse,
  status: number,
  headers: ReadonlyArray<readonly [string, string]>,
  body: string,
): void {
  for (const [name, value] of headers) res.setHeader(name, value);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.writeHead(status);
  res.end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: object | undefined,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    // RFC 6749 §5.1: token responses (and everything else here) are never cached.
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** 302 to the client; a page whose form led here must allow that target in its form-action. */
export function redirect(res: ServerResponse, location: string, redirectUris: readonly string[] = []): void {
  send(res, 302, [...pageHeaders({ redirectUris }), ['location', location]], '');
}

/**
 * The authorization response at the transaction's redirect URI, with its state and iss (RFC 9207);
 * `formAction` says whether a page of ours (whose form posted here) must allow that target.
 */
export function respondToClient(
  res: ServerResponse,
  issuer: string,
  transaction: Transaction,
  response: Parameters<typeof authorizationResponseLocation>[1],
  formAction: boolean,
): void {
  redirect(
    res,
    authorizationResponseLocation(transaction.redirectUri, response, transaction.state, issuer),
    formAction ? [transaction.redirectUri] : [],
  );
}
