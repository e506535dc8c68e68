/**
 * MCP 2026-07-28 ("modern") requests: no session, no initialize; every request carries its protocol
 * version, client capabilities and client info in `params._meta`, mirrored in HTTP headers that
 * must agree with the body. A request is modern exactly when its `_meta` claims a protocol version.
 *
 * This check runs before authentication and every other stage: a request whose headers and body
 * disagree is refused with 400 HeaderMismatch (-32020), and every later stage decides from the body.
 */

import { GatewayError, RPC } from '../../core/errors.js';
import { isRequest, type JsonRpcMessage, type Params } from '../../core/jsonrpc.js';
import { methodFacts } from '../../core/methods.js';
import { META, MODERN_REVISIONS } from '../../core/revisions.js';
import type { RequestContext } from '../../pipeline/context.js';

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function mismatch(message: string): never {
  throw new GatewayError('header_mismatch', `the request headers and body disagree: ${message}`);
}

/** A header value as the client sent it, decoding the `=?base64?…?=` sentinel for non-ASCII values. */
export function decodeHeaderValue(value: string): string | undefined {
  const match = SENTINEL.exec(value.trim());
  if (!match) return value.trim();
  const bytes = Buffer.from(match[1] as string, 'base64');
  if (bytes.toString('base64') !== match[1]) return undefined;
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    return text.decode(bytes);
  } catch {
    return undefined;
  }
}

function header(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The envelope a message claims, or undefined for a 2025-family message. */
export function claimedVersion(message: JsonRpcMessage): string | undefined {
  if (!('method' in message) || !isObject(message.params?._meta)) return undefined;
  const version = (message.params._meta as Record<string, unknown>)[META.protocolVersion];
  return typeof version === 'string' ? version : undefined;
}

/**
 * Stage: classifies the POST body and, for a modern request, checks the envelope and every mirrored
 * header. Sets `ctx.modern`. A legacy body with a modern version header is refused (the client
 * meant 2026-07-28 but sent no envelope).
 */
export function checkModernRequest(ctx: RequestContext): void {
  const messages = ctx.messages;
  if (ctx.req.method !== 'POST' || !messages) return;
  const versionHeader = header(ctx, 'mcp-protocol-version')?.trim();
  const claimed = messages.map(claimedVersion);
  if (claimed.every((v) => v === undefined)) {
    if (versionHeader !== undefined && isModernVersionString(versionHeader)) {
      throw new GatewayError(
        'invalid_request',
        `MCP-Protocol-Version ${versionHeader} requires the per-request _meta envelope (${META.protocolVersion})`,
        {
          rpcCode: -32602,
        },
      );
    }
    return;
  }
  if (ctx.isBatch) {
    throw new GatewayError(
      'batch_not_supported',
      'batches may not contain 2026-07-28 requests — send one message per POST',
    );
  }
  const message = messages[0] as JsonRpcMessage & { method: string; params: Params };
  const version = claimed[0] as string;
  if (versionHeader !== undefined && versionHeader !== version) {
    mismatch(`MCP-Protocol-Version is ${versionHeader} but the body claims ${version}`);
  }
  if (!(MODERN_REVISIONS as readonly string[]).includes(version)) {
    throw new GatewayError('unsupported_protocol_version', `unsupported protocol version ${version}`, {
      rpcCode: RPC.unsupportedVersion,
      data: { supported: [...MODERN_REVISIONS], requested: version },
    });
  }
  const meta = message.params._meta as Record<string, unknown>;
  const capabilities = meta[META.clientCapabilities];
  if (!isObject(capabilities)) {
    throw new GatewayError('invalid_request', `the _meta envelope lacks ${META.clientCapabilities}`, {
      rpcCode: -32602,
    });
  }
  if (isRequest(message)) {
    if (versionHeader === undefined) mismatch('the MCP-Protocol-Version header is missing');
    const methodHeader = header(ctx, 'mcp-method')?.trim();
    if (methodHeader !== message.method)
      mismatch(`Mcp-Method is ${methodHeader ?? '(missing)'} but the body names ${message.method}`);
    const facts = methodFacts(message.method);
    // Mcp-Name mirrors the target's name, for the methods 2026-07-28 still has.
    const nameField = facts.sessionOnly ? undefined : facts.nameField;
    if (nameField !== undefined) {
      const raw = header(ctx, 'mcp-name');
      const name = raw === undefined ? undefined : decodeHeaderValue(raw);
      const body = message.params[nameField];
      if (name === undefined || name !== body)
        mismatch(`Mcp-Name is ${raw ?? '(missing)'} but the body names ${String(body)}`);
    }
  }
  const clientInfo = meta[META.clientInfo];
  const logLevel = meta[META.logLevel];
  ctx.modern = {
    protocolVersion: version,
    clientCapabilities: capabilities,
    clientInfo: isObject(clientInfo) ? clientInfo : undefined,
    logLevel: typeof logLevel === 'string' ? logLevel : undefined,
    paramHeaders: Object.fromEntries(
      Object.entries(ctx.req.headers)
        .filter(([name, value]) => name.startsWith('mcp-param-') && typeof value === 'string')
        .map(([name, value]) => [name, value as string]),
    ),
  };
}

/** Dates compare as strings: every revision from 2026-07-28 on is stateless. */
export function isModernVersionString(version: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= '2026-07-28';
}

/** The envelope of requests the gateway makes on its own (catalog listing): no client capabilities. */
export function gatewayEnvelope(): Record<string, unknown> {
  return {
    [META.protocolVersion]: MODERN_REVISIONS[0],
    [META.clientCapabilities]: {},
    [META.clientInfo]: { name: 'portcullis', version: '0.1.0' },
  };
}
