/**
 * `x-mcp-header` (2026-07-28): a tool's input schema may mark primitive arguments to be mirrored
 * in `Mcp-Param-{Name}` headers. The gateway processes bodies, so it must check that what a client
 * mirrored agrees with the body, and it forwards to the upstream only the headers the tool's schema
 * declares — derived from the (checked) body, never copied from the client.
 */
import { GatewayError } from '../../core/errors.js';
import type { Params } from '../../core/jsonrpc.js';
import { decodeHeaderValue } from './envelope.js';

/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVES = new Set(['string', 'integer', 'boolean']);

export interface DeclaredParam {
  /** Header name, lower case: `mcp-param-<name>`. */
  readonly header: string;
  /** Where the value sits in `arguments`, through `properties` keys only. */
  readonly path: readonly string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The tool's mirrored parameters, or undefined when a declaration breaks the revision's rules. */
export function declaredParams(inputSchema: unknown): DeclaredParam[] | undefined {
  const found: DeclaredParam[] = [];
  const seen = new Set<string>();
  const walk = (schema: unknown, path: string[]): boolean => {
    if (!isObject(schema)) return true;
    const properties = schema.properties;
    if (!isObject(properties)) return true;
    for (const [key, property] of Object.entries(properties)) {
      if (!isObject(property)) continue;
      const name = property['x-mcp-header'];
      if (name !== undefined) {
        if (typeof name !== 'string' || !TOKEN.test(name) || !PRIMITIVES.has(String(property.type)))
          return false;
        const header = `mcp-param-${name.toLowerCase()}`;
        if (seen.has(header)) return false;
        seen.add(header);
        found.push({ header, path: [...path, key] });
      }
      if (!walk(property, [...path, key])) return false;
    }
    return true;
  };
  return walk(inputSchema, []) ? found : undefined;
}

function valueAt(args: unknown, path: readonly string[]): unknown {
  let node = args;
  for (const key of path) node = isObject(node) ? node[key] : undefined;
  return node;
}

/** A body value as it travels in a header: plain when safe, else the base64 sentinel. */
export function encodeParamValue(value: string | number | boolean): string {
  if (typeof value !== 'string') return String(value);
  const plain = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !/^=\?base64\?.*\?=$/.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

function sameValue(header: string, body: unknown): boolean {
  const decoded = decodeHeaderValue(header);
  if (decoded === undefined) return false;
  if (typeof body === 'number') return /^-?\d+$/.test(decoded) && Number(decoded) === body;
  return decoded === String(body);
}

/** Refuses (400 HeaderMismatch) a declared parameter present in the body but not mirrored exactly. */
export function checkMirrored(
  declared: readonly DeclaredParam[],
  args: Params | undefined,
  sent: Readonly<Record<string, string>>,
): void {
  for (const param of declared) {
    const value = valueAt(args, param.path);
    if (value === undefined || value === null) continue;
    const header = sent[param.header];
    if (header === undefined || !sameValue(header, value)) {
      throw new GatewayError(
        'header_mismatch',
        `the request headers and body disagree: ${param.header} is ${header ?? '(missing)'} but the argument ${param.path.join('.')} is ${JSON.stringify(value)}`,
      );
    }
  }
}

/** The Mcp-Param headers for a 2026 upstream, derived from the body as the tool's schema declares. */
export function deriveHeaders(
  declared: readonly DeclaredParam[],
  args: Params | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const param of declared) {
    const value = valueAt(args, param.path);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      headers[param.header] = encodeParamValue(value);
  }
  return headers;
}
