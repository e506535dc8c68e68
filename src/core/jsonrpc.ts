/**
 * JSON-RPC 2.0 envelopes as MCP uses them, and the check every inbound body passes before anything
 * acts on it. Hand-written rather than a schema library: it runs on every message, and each refusal
 * must say exactly what is wrong with which message.
 */
import { GatewayError, type RequestId, RPC } from './errors.js';

export type { RequestId } from './errors.js';
export type Params = Record<string, unknown>;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: Params;
}
export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Params;
}
export interface JsonRpcResultResponse {
  jsonrpc: '2.0';
  id: RequestId;
  result: Params;
}
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}
export interface JsonRpcErrorResponse {
  jsonrpc: '2.0';
  id: RequestId | null;
  error: JsonRpcErrorObject;
}
export type JsonRpcResponse = JsonRpcResultResponse | JsonRpcErrorResponse;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export const isRequest = (m: JsonRpcMessage): m is JsonRpcRequest => 'method' in m && 'id' in m;
export const isNotification = (m: JsonRpcMessage): m is JsonRpcNotification => 'method' in m && !('id' in m);
export const isResponse = (m: JsonRpcMessage): m is JsonRpcResponse => !('method' in m);

const MAX_METHOD_LENGTH = 256;

function invalid(message: string): never {
  throw new GatewayError('invalid_request', message, { rpcCode: RPC.invalidRequest });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isValidId(id: unknown): id is RequestId {
  return typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id));
}

/** Checks one decoded value is a well-formed JSON-RPC message; `where` names it in a batch. */
export function toMessage(value: unknown, where = 'the message'): JsonRpcMessage {
  if (!isPlainObject(value)) invalid(`${where} is not a JSON object`);
  if (value.jsonrpc !== '2.0') invalid(`${where} must have "jsonrpc": "2.0"`);
  if ('method' in value) {
    const { method, params } = value;
    if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_LENGTH) {
      invalid(
        `${where} has a "method" that is not a non-empty string of at most ${MAX_METHOD_LENGTH} characters`,
      );
    }
    if (params !== undefined && !isPlainObject(params))
      invalid(`${where} has "params" that is not an object`);
    if ('result' in value || 'error' in value) invalid(`${where} mixes "method" with "result" or "error"`);
    if ('id' in value && !isValidId(value.id))
      invalid(`${where} has an "id" that is not a string or an integer`);
    return value as unknown as JsonRpcRequest | JsonRpcNotification;
  }
  if ('result' in value === 'error' in value)
    invalid(`${where} needs "method", or exactly one of "result" and "error"`);
  if ('result' in value) {
    if (!isValidId(value.id)) invalid(`${where} is a response whose "id" is not a string or an integer`);
    if (!isPlainObject(value.result)) invalid(`${where} has a "result" that is not an object`);
    return value as unknown as JsonRpcResultResponse;
  }
  const error = value.error;
  if (value.id !== null && !isValidId(value.id))
    invalid(`${where} is an error response with an invalid "id"`);
  if (!isPlainObject(error) || !Number.isInteger(error.code) || typeof error.message !== 'string') {
    invalid(`${where} has an "error" without an integer "code" and a string "message"`);
  }
  return value as unknown as JsonRpcErrorResponse;
}

/**
 * Nesting depth of a JSON text, counted before JSON.parse builds anything, so a body of a million
 * brackets costs one linear scan and no allocation.
 */
export function jsonDepthExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

export interface ParsedBody {
  readonly messages: JsonRpcMessage[];
  readonly isBatch: boolean;
}

/** Decodes a POST body into messages, enforcing depth and batch limits. */
export function parseBody(text: string, limits: { maxJsonDepth: number; maxBatch: number }): ParsedBody {
  if (jsonDepthExceeds(text, limits.maxJsonDepth)) {
    throw new GatewayError('json_too_deep', `the JSON body nests deeper than ${limits.maxJsonDepth} levels`, {
      rpcCode: RPC.invalidRequest,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new GatewayError('parse_error', `the body is not valid JSON: ${(err as Error).message}`, {
      rpcCode: RPC.parseError,
    });
  }
  if (!Array.isArray(value)) return { messages: [toMessage(value)], isBatch: false };
  if (value.length === 0) invalid('the batch is empty');
  if (value.length > limits.maxBatch) {
    throw new GatewayError(
      'batch_too_large',
      `the batch has ${value.length} messages; at most ${limits.maxBatch} are allowed`,
      {
        rpcCode: RPC.invalidRequest,
      },
    );
  }
  const messages = value.map((v, i) => toMessage(v, `message ${i} of the batch`));
  // Two requests with one id cannot both be answered: refuse the batch before anything is relayed.
  const seen = new Set<string>();
  for (const request of messages.filter(isRequest)) {
    const key = idKey(request.id);
    if (seen.has(key)) {
      throw new GatewayError(
        'duplicate_request_id',
        `the batch uses request id ${JSON.stringify(request.id)} twice — give every request its own id`,
      );
    }
    seen.add(key);
  }
  return { messages, isBatch: true };
}

/** A stable map key for a JSON-RPC id: 1 and "1" are different ids. */
export function idKey(id: RequestId): string {
  return typeof id === 'number' ? `n:${id}` : `s:${id}`;
}

/** `value` when it can serve as a JSON-RPC id or progress token (a string or a number), else undefined. */
export function asRequestId(value: unknown): RequestId | undefined {
  return typeof value === 'string' || typeof value === 'number' ? value : undefined;
}

/** The progress token a request asks progress notifications for (`_meta.progressToken`). */
/** The map key of a progress token (a notification's or a request's), or undefined when it is none. */
export function progressKeyOf(token: unknown): string | undefined {
  const id = asRequestId(token);
  return id === undefined ? undefined : idKey(id);
}

export function progressTokenOf(params: Params | undefined): RequestId | undefined {
  const meta = params?._meta;
  return meta !== null && typeof meta === 'object' ? asRequestId((meta as Params).progressToken) : undefined;
}
