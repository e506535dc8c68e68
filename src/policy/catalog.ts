/**
 * An upstream's tools as one principal's session sees them (servers may list different tools to
 * different sessions). Filled from every tools/list answer that passes through, fetched when a
 * call names a tool the catalog lacks or the catalog is older than `maxAgeMs`, and dropped on
 * notifications/tools/list_changed. A tool the upstream does not list is unknown — and denied.
 */
import type { Params } from '../core/jsonrpc.js';
import { type DeclaredParam, declaredParams } from '../relay/modern/param-headers.js';

export type ListPage = (cursor: string | undefined) => Promise<Params>;

export interface ToolEntry {
  readonly name: string;
  readonly inputSchema: unknown;
  readonly annotations: Readonly<Record<string, unknown>>;
  /** The tool as the upstream listed it (what pinning fingerprints). */
  readonly definition?: Params;
}

const MAX_PAGES = 100;
const MIN_REFRESH_MS = 5000;

export class ToolCatalog {
  private tools = new Map<string, ToolEntry>();
  private complete = false;
  private fetchedAt = 0;

  constructor(
    private readonly listPage: ListPage,
    private readonly maxAgeMs: number,
  ) {}

  async tool(name: string): Promise<ToolEntry | undefined> {
    const age = Date.now() - this.fetchedAt;
    // An unknown name refetches the list at most once per MIN_REFRESH_MS: a caller naming made-up
    // tools must not make the gateway list the upstream on every call.
    const unknownWorthChecking = !this.tools.has(name) && age > MIN_REFRESH_MS;
    if (!this.complete || age > this.maxAgeMs || unknownWorthChecking) await this.refresh();
    return this.tools.get(name);
  }

  /** The tool's mirrored parameters: [] when it declares none or is unknown; undefined when invalid. */
  async declared(name: string): Promise<DeclaredParam[] | undefined> {
    const tool = await this.tool(name);
    return tool ? declaredParams(tool.inputSchema) : [];
  }

  /** Records the tools of a tools/list page that passed through. */
  observe(result: Params): void {
    for (const tool of toEntries(result)) this.tools.set(tool.name, tool);
  }

  invalidate(): void {
    this.complete = false;
  }

  private async refresh(): Promise<void> {
    const tools = new Map<string, ToolEntry>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await this.listPage(cursor);
      for (const tool of toEntries(result)) tools.set(tool.name, tool);
      cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
      if (!cursor) break;
    }
    this.tools = tools;
    this.complete = true;
    this.fetchedAt = Date.now();
  }
}

function toEntries(result: Params): ToolEntry[] {
  const tools = Array.isArray(result.tools) ? result.tools : [];
  return tools
    .filter((t): t is Params => t !== null && typeof t === 'object' && typeof (t as Params).name === 'string')
    .map((t) => ({
      name: t.name as string,
      inputSchema: t.inputSchema,
      annotations: (t.annotations as Record<string, unknown> | undefined) ?? {},
      definition: t,
    }));
}
