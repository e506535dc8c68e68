/**
 * Argument guards, declared per tool in `policy.tools`: checked by the gateway before the upstream
 * sees the call, and refused with a JSON-RPC invalid-params error naming the argument and the rule.
 * - schema: the arguments must satisfy the tool's own inputSchema (ajv, JSON Schema 2020-12);
 * - paths: confined to the configured roots — absolute, no `..`, no NUL, no `~`, no percent-encoded
 *   traversal, and symlinks resolved (for a path that does not exist yet, its nearest existing parent);
 * - urls: http(s) only, matching the allow-list when there is one, and every address the host
 *   resolves to must be public unicast (no private, loopback, link-local, metadata, ULA…: SSRF);
 * - sizes: string length and array length caps, anywhere in the arguments.
 */
import { lookup } from 'node:dns/promises';
import { realpath } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';
import type { ToolPolicy } from '../config/policy-schema.js';
import { GatewayError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import { addressRange } from '../net/public-address.js';
import { globToRegExp } from './glob.js';

const OPTIONS = { strict: false, allErrors: false, validateFormats: false } as const;
/** MCP schemas default to JSON Schema 2020-12; SDK v1 servers still declare draft-07. */
const ajv2020 = new Ajv2020(OPTIONS);
const ajv07 = new Ajv(OPTIONS);
const compiled = new LRUCache<string, ReturnType<typeof ajv2020.compile>>({ max: 500 });

function compile(schema: object): ReturnType<typeof ajv2020.compile> {
  const { $schema, ...rest } = schema as { $schema?: unknown };
  const draft07 = typeof $schema === 'string' && /draft-0[467]/.test($schema);
  return (draft07 ? ajv07 : ajv2020).compile(rest);
}

function refuse(tool: string, message: string): never {
  throw new GatewayError('invalid_arguments', `tool '${tool}': ${message}`, { rpcCode: -32602 });
}

function valuesAt(args: unknown, path: string): unknown[] {
  let node: unknown = args;
  for (const key of path.split('.')) {
    node =
      node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Params)[key] : undefined;
  }
  if (node === undefined || node === null) return [];
  return Array.isArray(node) ? node : [node];
}

export class ArgumentGuards {
  private readonly roots: Promise<string[]>;
  private readonly allow: RegExp[] | undefined;

  constructor(
    private readonly tool: string,
    private readonly policy: ToolPolicy,
  ) {
    // Roots are resolved once, so a root that is itself a symlink is compared by its target.
    this.roots = Promise.all(
      (policy.guards.paths?.roots ?? []).map((r) => realpath(r).catch(() => resolve(r))),
    );
    this.allow = policy.guards.urls?.allow?.map(globToRegExp);
  }

  async check(args: Params | undefined, inputSchema: unknown): Promise<void> {
    const { guards } = this.policy;
    if (guards.schema && inputSchema && typeof inputSchema === 'object')
      this.checkSchema(args ?? {}, inputSchema);
    if (guards.maxStringLength !== undefined || guards.maxArrayItems !== undefined) this.checkSizes(args, '');
    for (const arg of guards.paths?.args ?? []) {
      for (const value of valuesAt(args, arg)) await this.checkPath(arg, value);
    }
    for (const arg of guards.urls?.args ?? []) {
      for (const value of valuesAt(args, arg)) await this.checkUrl(arg, value);
    }
  }

  private checkSchema(args: Params, schema: object): void {
    const key = JSON.stringify(schema);
    let validate = compiled.get(key);
    if (!validate) {
      try {
        validate = compile(schema);
      } catch {
        refuse(this.tool, 'its input schema cannot be checked, so the call is refused');
      }
      compiled.set(key, validate);
    }
    if (!validate(args)) {
      const error = validate.errors?.[0];
      refuse(
        this.tool,
        `arguments do not match its input schema: ${error?.instancePath || '(root)'} ${error?.message ?? 'is invalid'}`,
      );
    }
  }

  private checkSizes(value: unknown, where: string): void {
    const { maxStringLength, maxArrayItems } = this.policy.guards;
    if (typeof value === 'string' && maxStringLength !== undefined && value.length > maxStringLength) {
      refuse(this.tool, `argument ${where || '(root)'} is longer than ${maxStringLength} characters`);
    }
    if (Array.isArray(value)) {
      if (maxArrayItems !== undefined && value.length > maxArrayItems)
        refuse(this.tool, `argument ${where || '(root)'} has more than ${maxArrayItems} items`);
      for (const [i, item] of value.entries()) this.checkSizes(item, `${where}[${i}]`);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) this.checkSizes(v, where ? `${where}.${k}` : k);
    }
  }

  private async checkPath(arg: string, value: unknown): Promise<void> {
    if (typeof value !== 'string') refuse(this.tool, `argument ${arg} must be a path string`);
    const raw = value.startsWith('file://') ? this.fileUrlPath(arg, value) : value;
    if (raw.includes('\0')) refuse(this.tool, `argument ${arg} contains a NUL byte`);
    if (/%2e|%2f|%5c/i.test(raw))
      refuse(this.tool, `argument ${arg} contains percent-encoded path characters`);
    if (raw.startsWith('~'))
      refuse(this.tool, `argument ${arg} starts with ~ (home directories are not allowed)`);
    if (!isAbsolute(raw)) refuse(this.tool, `argument ${arg} must be an absolute path`);
    if (raw.split(/[\\/]/).includes('..')) refuse(this.tool, `argument ${arg} contains a .. segment`);
    const real = await realpathOfNearest(resolve(raw));
    const roots = await this.roots;
    if (
      !roots.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : `${root}${sep}`))
    ) {
      refuse(this.tool, `argument ${arg} is outside the allowed roots (${roots.join(', ')})`);
    }
  }

  private fileUrlPath(arg: string, value: string): string {
    try {
      return decodeURIComponent(new URL(value).pathname);
    } catch {
      refuse(this.tool, `argument ${arg} is not a well-formed file:// URL`);
    }
  }

  private async checkUrl(arg: string, value: unknown): Promise<void> {
    if (typeof value !== 'string') refuse(this.tool, `argument ${arg} must be a URL string`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      refuse(this.tool, `argument ${arg} is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      refuse(this.tool, `argument ${arg} must be an http(s) URL`);
    if (url.username || url.password) refuse(this.tool, `argument ${arg} must not carry credentials`);
    if (this.allow && !this.allow.some((p) => p.test(url.href)))
      refuse(this.tool, `argument ${arg} is not an allowed URL`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const addresses = ipaddr.isValid(host)
      ? [host]
      : await lookup(host, { all: true, verbatim: true }).then(
          (found) => found.map((a) => a.address),
          () => refuse(this.tool, `argument ${arg}: the host ${host} does not resolve`),
        );
    for (const address of addresses) {
      const range = addressRange(address);
      if (range !== 'unicast')
        refuse(this.tool, `argument ${arg} points at a ${range} address (${address}), which is not allowed`);
    }
  }
}

/** realpath of `path`, or of its nearest existing ancestor joined with the rest (for files yet to be made). */
async function realpathOfNearest(path: string): Promise<string> {
  const rest: string[] = [];
  let current = path;
  for (;;) {
    try {
      const real = await realpath(current);
      return rest.length > 0 ? resolve(real, ...rest.reverse()) : real;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = resolve(current, '..');
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === current) return path;
      rest.push(current.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      current = parent;
    }
  }
}
