/**
 * The one renderer of answers that are not the upstream's: JSON bodies, JSON-RPC error bodies,
 * OAuth error objects (RFC 6749 §5.2) and WWW-Authenticate challenges (RFC 6750 §3, RFC 9728 §5.1).
 */
import type { ServerResponse } from 'node:http';
import type { GatewayError, RequestId } from './errors.js';
import type { JsonRpcErrorObject } from './jsonrpc.js';

const GENERIC_5XX = 'internal error in the gateway — quote the requestId to the operator';

/** The JSON-RPC error object a client sees for `err`; `requestId` lets an operator find the log line. */
export function rpcError(err: GatewayError, requestId: string): JsonRpcErrorObject {
  return {
    code: err.rpcCode,
    message: err.expose ? err.message : GENERIC_5XX,
    data: { ...err.data, error: err.code, requestId },
  };
}

/** Writes a JSON body; `noStore` for answers that carry or concern credentials (RFC 6749 §5.1). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: object | undefined,
  headers: Readonly<Record<string, string>> = {},
  noStore = false,
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    ...(noStore ? { 'cache-control': 'no-store', pragma: 'no-cache' } : {}),
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Writes `err` with a JSON-RPC error body, unless the response has already begun (then it ends it). */
export function sendError(
  res: ServerResponse,
  err: GatewayError,
  requestId: string,
  id: RequestId | null = null,
): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  sendJson(res, err.status, { jsonrpc: '2.0', id, error: rpcError(err, requestId) }, err.headers);
}

/** An OAuth error object (RFC 6749 §5.2), never cached. */
export function sendOAuthError(
  res: ServerResponse,
  status: number,
  error: string,
  description: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  sendJson(res, status, { error, error_description: description }, headers, true);
}

/** `err` as an OAuth error object: for endpoints outside MCP (the authorization server's). */
export function sendGatewayErrorAsOAuth(res: ServerResponse, err: GatewayError): void {
  sendOAuthError(res, err.status, err.code, err.expose ? err.message : GENERIC_5XX, err.headers);
}

/**
 * One challenge: `scheme` then its auth-params (RFC 9110 §11.6.1). Values are quoted strings of
 * visible ASCII (RFC 6750 §3): quotes and backslashes become apostrophes, the rest dashes.
 */
export function challenge(scheme: string, params: Readonly<Record<string, string | undefined>> = {}): string {
  const parts = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}="${value.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '-')}"`);
  return parts.length === 0 ? scheme : `${scheme} ${parts.join(', ')}`;
}
