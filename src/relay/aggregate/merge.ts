/**
 * The aggregated endpoint's answers made from its upstreams' answers: one initialize result, one
 * list per list method, and results whose names and URIs are the ones the client sees.
 */
import type { Params } from '../../core/jsonrpc.js';
import { methodFacts } from '../../core/methods.js';
import { type AggregateCatalog, type Member, namedKind } from './catalog.js';

/** Bounds of the combined instructions: a client puts them in a model's context. */
const INSTRUCTIONS_PER_UPSTREAM = 1_000;
const INSTRUCTIONS_TOTAL = 4_000;

export interface Answered {
  readonly upstream: string;
  readonly result: Params;
}

/**
 * One initialize result for the client: the revision every upstream agreed on (else the oldest
 * they answered, which the client asked for or accepted from one of them), the union of their
 * capabilities with list_changed on (an upstream that joins later changes the lists), and
 * instructions naming each upstream.
 */
export function mergeInitialize(
  answered: readonly Answered[],
  absent: readonly string[],
  members: readonly Member[],
): Params {
  const versions = answered
    .map((a) => a.result.protocolVersion)
    .filter((v): v is string => typeof v === 'string')
    .sort();
  const caps = answered.map((a) => (a.result.capabilities as Params | undefined) ?? {});
  const any = (key: string) => absent.length > 0 || caps.some((c) => c[key] !== undefined);
  const capabilities: Params = {};
  if (any('tools')) capabilities.tools = { listChanged: true };
  if (any('prompts')) capabilities.prompts = { listChanged: true };
  if (any('resources')) {
    const subscribe = caps.some((c) => (c.resources as Params | undefined)?.subscribe === true);
    capabilities.resources = { listChanged: true, ...(subscribe ? { subscribe: true } : {}) };
  }
  if (caps.some((c) => c.logging !== undefined)) capabilities.logging = {};
  if (caps.some((c) => c.completions !== undefined)) capabilities.completions = {};
  return {
    protocolVersion: versions[0],
    capabilities,
    serverInfo: serverInfo(members),
    instructions: instructions(answered, absent, members),
  };
}

function serverInfo(members: readonly Member[]): Params {
  return {
    name: 'portcullis-aggregate',
    title: `Portcullis: ${members.map((m) => m.upstream).join(', ')}`,
    version: '1',
  };
}

/**
 * One `server/discover` result (2026-07-28): the revisions every upstream's answer supports, the
 * union of their capabilities (sub-objects merged), instructions naming each upstream.
 */
export function mergeDiscovery(
  answered: readonly Answered[],
  absent: readonly string[],
  members: readonly Member[],
  serverInfoKey: string,
): Params {
  const lists = answered.map((a) =>
    Array.isArray(a.result.supportedVersions) ? a.result.supportedVersions : [],
  );
  const supportedVersions = (lists[0] ?? []).filter((v) => lists.every((l) => l.includes(v)));
  const capabilities: Params = {};
  for (const { result } of answered) {
    for (const [key, value] of Object.entries((result.capabilities as Params | undefined) ?? {})) {
      const before = capabilities[key];
      capabilities[key] =
        value !== null && typeof value === 'object' && before !== null && typeof before === 'object'
          ? { ...(before as Params), ...(value as Params) }
          : value;
    }
  }
  return {
    supportedVersions,
    capabilities,
    instructions: instructions(answered, absent, members),
    _meta: { [serverInfoKey]: serverInfo(members) },
  };
}

function instructions(
  answered: readonly Answered[],
  absent: readonly string[],
  members: readonly Member[],
): string {
  const lines = [
    `This server combines ${members.length} MCP servers. Tool and prompt names start with the server's prefix and "__".`,
  ];
  for (const member of members) {
    const answer = answered.find((a) => a.upstream === member.upstream);
    const own = typeof answer?.result.instructions === 'string' ? answer.result.instructions.trim() : '';
    const state = absent.includes(member.upstream) ? ' (not reachable now; it joins when it comes back)' : '';
    const text = own.length > INSTRUCTIONS_PER_UPSTREAM ? `${own.slice(0, INSTRUCTIONS_PER_UPSTREAM)}…` : own;
    lines.push(`- ${member.upstream} (prefix ${member.prefix}__)${state}${text ? `: ${text}` : ''}`);
  }
  const all = lines.join('\n');
  return all.length > INSTRUCTIONS_TOTAL ? `${all.slice(0, INSTRUCTIONS_TOTAL)}…` : all;
}

/** The names a raw list result of `method` carries (tools and prompts), for the catalog. */
export function listedNames(method: string, result: Params): string[] | undefined {
  const { list } = methodFacts(method);
  if (!list || !namedKind(method)) return undefined;
  const items = Array.isArray(result[list.field]) ? (result[list.field] as unknown[]) : [];
  return items.flatMap((item) => {
    const name = item !== null && typeof item === 'object' ? (item as Params).name : undefined;
    return typeof name === 'string' ? [name] : [];
  });
}

/** The items of one upstream's (filtered) list, under the names and URIs the client sees. */
export function exposeItems(
  method: string,
  upstream: string,
  items: readonly unknown[],
  catalog: AggregateCatalog,
): Params[] {
  const { list } = methodFacts(method);
  const kind = namedKind(method);
  if (!kind && !catalog.servesResources(upstream)) return [];
  return items.flatMap((item) => {
    if (item === null || typeof item !== 'object' || !list) return [];
    const value = (item as Params)[list.key];
    if (typeof value !== 'string' || (kind && !catalog.includes(upstream, value))) return [];
    const exposed = kind ? catalog.exposed(kind, upstream, value) : catalog.exposeUri(upstream, value);
    return [{ ...(item as Params), [list.key]: exposed }];
  });
}

/**
 * A result or notification of `upstream` with its resource URIs as the client sees them: embedded
 * resources and resource links in content (tool results, prompt messages), read contents, and the
 * URI of a resource update.
 */
export function exposeUris(value: Params, upstream: string, catalog: AggregateCatalog): Params {
  const expose = (uri: unknown) => (typeof uri === 'string' ? catalog.exposeUri(upstream, uri) : uri);
  const block = (item: unknown): unknown => {
    if (item === null || typeof item !== 'object') return item;
    const b = item as Params;
    if (b.type === 'resource_link') return { ...b, uri: expose(b.uri) };
    if (b.type === 'resource' && b.resource && typeof b.resource === 'object')
      return { ...b, resource: { ...(b.resource as Params), uri: expose((b.resource as Params).uri) } };
    return b;
  };
  const out: Params = { ...value };
  if (Array.isArray(value.content)) out.content = value.content.map(block);
  if (Array.isArray(value.contents))
    out.contents = value.contents.map((c: unknown) =>
      c !== null && typeof c === 'object' ? { ...(c as Params), uri: expose((c as Params).uri) } : c,
    );
  if (Array.isArray(value.messages))
    out.messages = value.messages.map((m: unknown) =>
      m !== null && typeof m === 'object' ? { ...(m as Params), content: block((m as Params).content) } : m,
    );
  if (typeof value.uri === 'string') out.uri = expose(value.uri);
  return out;
}
