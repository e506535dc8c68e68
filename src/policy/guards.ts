/**
 * Argument guards, declared per tool in `policy.tools`: checked by the gateway before the upstream
 * sees the call, and refused with a JSON-RPC invalid-params error naming the argument and the rule.
 * - schema: the arguments must satisfy the tool's own inputSchema (ajv, JSON Schema 2020-12);
 * - paths: confined to the configured roots — absolute, no `..`, no NUL, no `~`, no percent-encoded
 *   traversal, and every symlink on the path resolved, one component at a time, dangling ones too (a
 *   link to a file yet to be made is judged by where it points: a plain open() would follow it);
 * - urls: http(s) only, matching the allow-list when there is one, and every address the host
 *   resolves to must be public unicast (no private, loopback, link-local, metadata, ULA…: SSRF);
 * - sizes: string length and array length caps, anywhere in the arguments.
 * A path or URL argument left out is judged by the default the upstream would fill in (its
 * inputSchema `default`); with no default it is refused, unless its guard says `required: false`.
 */
import { lookup } from 'node:dns/promises';
import { lstat, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, parse, resolve, sep } from 'node:path';
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

/** The value at a dotted path, or undefined when it (or an object on the way) is absent or null. */
function valueAt(args: unknown, path: readonly string[]): unknown {
  let node: unknown = args;
  for (const key of path) node = isRecord(node) ? node[key] : undefined;
  return node === null ? undefined : node;
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/**
 * The defaults the upstream may fill a left-out argument with: its own `default` in the input
 * schema, or, for a nested one, the matching field of a parent's default — every candidate, so
 * each is judged.
 */
function defaultsAt(schema: unknown, path: readonly string[]): unknown[] {
  const [key, ...rest] = path;
  const property =
    isRecord(schema) && isRecord(schema.properties) ? schema.properties[key as string] : undefined;
  if (!isRecord(property)) return [];
  const own = rest.length === 0 ? property.default : valueAt(property.default, rest);
  return [
    ...(own === undefined || own === null ? [] : [own]),
    ...(rest.length > 0 ? defaultsAt(property, rest) : []),
  ];
}

function isRecord(value: unknown): value is Params {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
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
      for (const [name, value] of this.judged(arg, args, inputSchema, guards.paths?.required))
        await this.checkPath(name, value);
    }
    for (const arg of guards.urls?.args ?? []) {
      for (const [name, value] of this.judged(arg, args, inputSchema, guards.urls?.required))
        await this.checkUrl(name, value);
    }
  }

  /**
   * What a guarded argument will be upstream, as [name for messages, value] pairs: the values sent;
   * for one left out, the schema's defaults (the upstream fills them in); none when the schema has
   * no default and the guard allows absence (`required: false`) — otherwise absence is refused.
   */
  private judged(
    arg: string,
    args: Params | undefined,
    inputSchema: unknown,
    required = true,
  ): [string, unknown][] {
    const path = arg.split('.');
    const sent = valueAt(args, path);
    if (sent !== undefined) return asList(sent).map((value) => [arg, value]);
    const defaults = defaultsAt(inputSchema, path).flatMap(asList);
    if (defaults.length > 0) return defaults.map((value) => [`${arg} (left out: its schema default)`, value]);
    if (required)
      refuse(
        this.tool,
        `argument ${arg} is guarded and was left out, and the tool's input schema gives it no default — send it (or, in the gateway's policy, set required: false on the guard to allow leaving it out)`,
      );
    return [];
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
    const real = await resolveLinks(resolve(raw)).catch((err: Error) =>
      refuse(this.tool, `argument ${arg} ${err.message}`),
    );
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

/** Symbolic links followed on one path before it is refused, as Linux's own limit (MAXSYMLINKS). */
export const MAX_LINKS = 40;

/**
 * Where the absolute `path` leads: each existing component is lstat'ed, and a symlink — dangling or
 * not — is replaced by its target, so the result is the file an open() of `path` would reach. From
 * the first component that does not exist, the rest is joined as written (it cannot be a link yet).
 * Throws, with the reason to refuse, on a loop or a component that cannot be read.
 */
export async function resolveLinks(path: string): Promise<string> {
  const { root } = parse(path);
  let resolved = root;
  const pending = path.slice(root.length).split(sep);
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved = dirname(resolved);
      continue;
    }
    const next = join(resolved, part);
    let target: string | undefined;
    try {
      target = (await lstat(next)).isSymbolicLink() ? await readlink(next) : undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return resolve(next, ...pending);
      throw new Error(`cannot be checked: ${next} cannot be read (${code ?? 'error'})`);
    }
    if (target === undefined) {
      resolved = next;
      continue;
    }
    links++;
    if (links > MAX_LINKS) throw new Error(`passes through more than ${MAX_LINKS} symbolic links (a loop?)`);
    // An absolute target starts again from its root; a relative one from the link's directory.
    if (isAbsolute(target)) resolved = parse(target).root;
    pending.unshift(...target.slice(isAbsolute(target) ? parse(target).root.length : 0).split(sep));
  }
  return resolved;
}
