/**
 * What the fuzz properties compare the code against, written from the specifications rather than
 * from the code under test: JSON-RPC 2.0 validity, where a path really leads on disk, which
 * addresses must never be reached (the classic SSRF set), and what a redirect URI may be.
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { dirname, isAbsolute, resolve, sep } from 'node:path';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const isId = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v));

/** JSON-RPC 2.0 (as MCP narrows it: params an object, ids strings or integers, methods ≤ 256 chars). */
export function isValidMessage(m: unknown): boolean {
  if (!isPlainObject(m) || m.jsonrpc !== '2.0') return false;
  if ('method' in m) {
    return (
      typeof m.method === 'string' &&
      m.method.length >= 1 &&
      m.method.length <= 256 &&
      (!('params' in m) || isPlainObject(m.params)) &&
      !('result' in m) &&
      !('error' in m) &&
      (!('id' in m) || isId(m.id))
    );
  }
  if ('result' in m && 'error' in m) return false;
  if ('result' in m) return isId(m.id) && isPlainObject(m.result);
  if ('error' in m) {
    const e = m.error;
    return (
      (m.id === null || isId(m.id)) &&
      isPlainObject(e) &&
      Number.isInteger(e.code) &&
      typeof e.message === 'string'
    );
  }
  return false;
}

/** Nesting depth of a decoded JSON value: a scalar is 0, `[]` and `{}` are 1. */
export function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((max, child) => Math.max(max, depthOf(child)), 0);
}

/** Whether a POST body must be accepted: valid JSON, shallow enough, one message or a fair batch. */
export function isAcceptableBody(text: string, limits: { maxJsonDepth: number; maxBatch: number }): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (depthOf(value) > limits.maxJsonDepth) return false;
  if (!Array.isArray(value)) return isValidMessage(value);
  if (value.length === 0 || value.length > limits.maxBatch || !value.every(isValidMessage)) return false;
  const ids = value.filter((m) => 'method' in m && 'id' in m).map((m) => `${typeof m.id}:${String(m.id)}`);
  return new Set(ids).size === ids.length;
}

/**
 * Where an absolute path leads for a process that opens it: every symlink on the way followed,
 * dangling or not (a dangling link's target is where a write would create the file), components
 * that do not exist taken as written.
 */
export async function whereItLeads(path: string, hops = 0): Promise<string> {
  if (hops > 40) throw new Error(`symlink loop at ${path}`);
  const parts = resolve(path).split(sep).filter(Boolean);
  let current: string = sep;
  for (const [i, part] of parts.entries()) {
    const next = resolve(current, part);
    const stat = await lstat(next).catch(() => undefined);
    if (stat?.isSymbolicLink()) {
      const link = await readlink(next);
      const target = isAbsolute(link) ? link : resolve(dirname(next), link);
      return whereItLeads(resolve(target, ...parts.slice(i + 1)), hops + 1);
    }
    if (!stat) return resolve(next, ...parts.slice(i + 1));
    current = next;
  }
  return current;
}

export async function isInside(path: string, root: string): Promise<boolean> {
  const realRoot = await realpath(root);
  const leads = await whereItLeads(path);
  return leads === realRoot || leads.startsWith(`${realRoot}${sep}`);
}

const V4_NEVER = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const;
const V6_NEVER = [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  // Teredo: the real peer is hidden in the address, obfuscated.
  ['2001::', 32],
] as const;
const never = new BlockList();
for (const [net, prefix] of V4_NEVER) never.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of V6_NEVER) never.addSubnet(net, prefix, 'ipv6');

function v6Words(address: string): number[] {
  // Expand `::` and a dotted IPv4 tail into eight 16-bit words.
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((w) => Number.parseInt(w, 16));
}

const v4Of = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/**
 * The IPv4 address an IPv6 address carries, by the transition forms that reach it: IPv4-mapped
 * (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64
 * (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
 */
function embeddedV4(address: string): string | undefined {
  const w = v6Words(address);
  const zero = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  const [w0, w1, w2, , , w5, w6, w7] = w as [number, number, number, number, number, number, number, number];
  if (zero(0, 5) && (w5 === 0xffff || w5 === 0)) return v4Of(w6, w7);
  if (zero(0, 4) && w5 === 0 && w[4] === 0xffff) return v4Of(w6, w7);
  if (w0 === 0x64 && w1 === 0xff9b && zero(2, 6)) return v4Of(w6, w7);
  if (w0 === 0x2002) return v4Of(w1, w2);
  return undefined;
}

/** True for an address a tool URL must never be allowed to reach. */
export function mustNeverReach(address: string): boolean {
  const kind = isIP(address);
  if (kind === 4) return never.check(address, 'ipv4');
  if (kind !== 6) return true;
  if (never.check(address, 'ipv6')) return true;
  const v4 = embeddedV4(address);
  return v4 !== undefined && never.check(v4, 'ipv4');
}

/**
 * Whether a redirect URI is one a client may register: parses as an absolute URL, no fragment, no
 * user info, no whitespace, control character or backslash, and https, or http only to a loopback
 * host, or a private-use scheme that is not one a browser runs itself.
 */
export function isSafeRedirectUri(uri: string): boolean {
  if ([...uri].some((c) => c <= ' ' || c === '\x7f' || c === '\\' || c === '#')) return false;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === 'https:') return true;
  if (url.protocol === 'http:') return ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  return !/^(javascript|data|vbscript|file|blob|about|filesystem|view-source|ftp|wss?|mailto|tel|sms):$/.test(
    url.protocol,
  );
}

/** Whether two redirect URIs name the same place, a loopback one's port aside (RFC 8252 §7.3). */
export function sameRedirectTarget(presented: string, registered: string): boolean {
  if (presented === registered) return true;
  if (!URL.canParse(presented) || !URL.canParse(registered)) return false;
  const a = new URL(presented);
  const b = new URL(registered);
  const loopback = (u: URL) =>
    u.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname);
  return (
    loopback(a) &&
    loopback(b) &&
    a.hostname === b.hostname &&
    a.pathname === b.pathname &&
    a.search === b.search
  );
}
