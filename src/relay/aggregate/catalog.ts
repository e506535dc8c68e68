/**
 * What an aggregated endpoint knows of its upstreams' names, shared by every session on it (and by
 * the per-tool limit, which runs before a session is found): the exposed name of each tool and
 * prompt (names.ts), and where each resource URI goes.
 *
 * Names come from the upstreams' full lists, as any session last saw them — never from a list
 * filtered for one principal, so every caller sees the same names.
 *
 * Resource URIs pass unchanged while only one upstream uses their scheme. Once two upstreams are seen
 * with the same scheme (`file:` twice, say), both are namespaced for good: their URIs become
 * `portcullis://<upstream>/<original URI>`, which routes back by its prefix alone, so a URI a client
 * holds keeps working whatever the gateway learns later. Templates take the same prefix, which
 * leaves their variables where they were.
 */
import type { EndpointNames } from '../../http/routes.js';
import type { Logger } from '../../log/logger.js';
import { globToRegExp } from '../../policy/glob.js';
import { type NameTable, nameTable, type Origin, type Renamed } from './names.js';

export type NamedKind = 'tool' | 'prompt';

const NAMED: Readonly<Record<string, NamedKind>> = {
  'tools/list': 'tool',
  'tools/call': 'tool',
  'prompts/list': 'prompt',
  'prompts/get': 'prompt',
};

/** Which kind of exposed name a method lists or calls by; undefined for resources and the rest. */
export function namedKind(method: string): NamedKind | undefined {
  return Object.hasOwn(NAMED, method) ? NAMED[method] : undefined;
}

export interface Member {
  readonly upstream: string;
  /** The prefix of its tools and prompts (the upstream's name unless configured). */
  readonly prefix: string;
}

/** The scheme of the gateway's own form of a namespaced upstream's URIs. */
export const GATEWAY_URI = 'portcullis://';

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** One `include` pattern of a virtual server, split at its first dot. */
interface Included {
  readonly upstream: RegExp;
  readonly name: RegExp;
  /** `<upstream>.*`: the upstream whole, its resources too. */
  readonly whole: boolean;
}

export class AggregateCatalog implements EndpointNames {
  readonly members: readonly Member[];
  private readonly include: readonly Included[] | undefined;
  private readonly listed: Record<NamedKind, Map<string, readonly string[]>> = {
    tool: new Map(),
    prompt: new Map(),
  };
  private readonly tables: Partial<Record<NamedKind, NameTable>> = {};
  private readonly prefixes: ReadonlyMap<string, string>;
  private readonly schemes = new Map<string, Set<string>>();
  private readonly namespaced = new Set<string>();

  constructor(
    members: readonly Member[],
    private readonly logger: Logger,
    /** A virtual server's `include` patterns; without them, everything of every member is served. */
    include?: readonly string[],
  ) {
    this.members = members;
    this.include = include?.map((pattern) => {
      const dot = pattern.indexOf('.');
      const name = pattern.slice(dot + 1);
      return { upstream: globToRegExp(pattern.slice(0, dot)), name: globToRegExp(name), whole: name === '*' };
    });
    this.prefixes = new Map(members.map((m) => [m.upstream, m.prefix]));
  }

  /** The upstream's whole list of tool (or prompt) names, as it just answered it. */
  observe(kind: NamedKind, upstream: string, names: readonly string[]): void {
    const before = this.listed[kind].get(upstream);
    if (before && before.length === names.length && before.every((n, i) => n === names[i])) return;
    this.listed[kind].set(upstream, names);
    const previous = this.tables[kind];
    const table = nameTable(this.listed[kind], this.prefixes);
    this.tables[kind] = table;
    const known = new Set(previous?.renamed.map((r) => r.exposed));
    for (const renamed of table.renamed) {
      if (known.has(renamed.exposed)) continue;
      this.logger.warn({ kind, ...renamed }, `aggregate: ${kind} exposed under a shortened name`);
    }
  }

  /** Whether this endpoint serves the tool or prompt `name` of `upstream`. */
  includes(upstream: string, name: string): boolean {
    return !this.include || this.include.some((i) => i.upstream.test(upstream) && i.name.test(name));
  }

  /** Whether this endpoint serves `upstream`'s resources (a virtual server: only of one included whole). */
  servesResources(upstream: string): boolean {
    return !this.include || this.include.some((i) => i.whole && i.upstream.test(upstream));
  }

  /** The name a client sees for `name` of `upstream`. */
  exposed(kind: NamedKind, upstream: string, name: string): string {
    return this.tables[kind]?.exposedName(upstream, name) ?? `${this.prefixOf(upstream)}__${name}`;
  }

  /**
   * The upstream and original name behind an exposed one. Before an upstream's list has been seen,
   * `<prefix>__<name>` is read by its prefix; afterwards only the names the table holds exist.
   */
  origin(kind: NamedKind, exposed: string): Origin | undefined {
    const table = this.tables[kind];
    const known = table?.origins.get(exposed);
    if (known) return known;
    const candidates = this.members.filter(
      (m) => exposed.startsWith(`${m.prefix}__`) && !this.listed[kind].has(m.upstream),
    );
    if (candidates.length !== 1) return undefined;
    const [member] = candidates as [Member];
    return { upstream: member.upstream, name: exposed.slice(member.prefix.length + 2) };
  }

  tool(exposed: string): Origin | undefined {
    return this.origin('tool', exposed);
  }

  /** The upstreams a request will reach: the one its name or URI belongs to, else every member. */
  targets(method: string, params: Readonly<Record<string, unknown>> | undefined): readonly string[] {
    const named = namedKind(method);
    const origin = named
      ? this.origin(named, String(params?.name))
      : typeof params?.uri === 'string'
        ? this.routeUri(params.uri)
        : undefined;
    return origin ? [origin.upstream] : this.members.map((m) => m.upstream);
  }

  /** Names that could not be `<prefix>__<name>`, for the start-up report and check-config. */
  renamed(kind: NamedKind): readonly Renamed[] {
    return this.tables[kind]?.renamed ?? [];
  }

  /** The URI (or URI template) a client sees for one of `upstream`'s. */
  exposeUri(upstream: string, uri: string): string {
    this.observeUri(upstream, uri);
    return this.namespaced.has(upstream) ? `${GATEWAY_URI}${upstream}/${uri}` : uri;
  }

  /** The upstream a client's URI goes to, and the URI as that upstream knows it. */
  routeUri(uri: string): Origin | undefined {
    if (uri.startsWith(GATEWAY_URI)) {
      const rest = uri.slice(GATEWAY_URI.length);
      const slash = rest.indexOf('/');
      const upstream = rest.slice(0, slash);
      if (slash <= 0 || !this.prefixes.has(upstream)) return undefined;
      return { upstream, name: rest.slice(slash + 1) };
    }
    const owners = this.schemes.get(schemeOf(uri));
    if (owners?.size !== 1) return undefined;
    const [upstream] = owners as Set<string> & [string];
    if (this.namespaced.has(upstream)) return undefined;
    return { upstream, name: uri };
  }

  /** Records the schemes of the `key` field (uri, uriTemplate) of a list's items. */
  observeUris(upstream: string, items: readonly unknown[], key: string): void {
    for (const item of items) {
      const uri =
        item !== null && typeof item === 'object' ? (item as Record<string, unknown>)[key] : undefined;
      if (typeof uri === 'string') this.observeUri(upstream, uri);
    }
  }

  /** Records that `upstream` uses the URI's scheme: a scheme two upstreams use namespaces both. */
  observeUri(upstream: string, uri: string): void {
    const scheme = schemeOf(uri);
    let owners = this.schemes.get(scheme);
    if (!owners) {
      owners = new Set();
      this.schemes.set(scheme, owners);
    }
    if (owners.has(upstream)) return;
    owners.add(upstream);
    if (owners.size < 2) return;
    for (const owner of owners) {
      if (this.namespaced.has(owner)) continue;
      this.namespaced.add(owner);
      this.logger.info({ upstream: owner, scheme }, `aggregate: ${owner}'s resource URIs are namespaced`);
    }
  }

  private prefixOf(upstream: string): string {
    return this.prefixes.get(upstream) ?? upstream;
  }
}

function schemeOf(uri: string): string {
  return SCHEME.exec(uri)?.[1]?.toLowerCase() ?? '';
}
