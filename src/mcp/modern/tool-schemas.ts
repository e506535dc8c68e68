/**
 * The input schemas of an upstream's tools, as one principal's backend sees them, for checking
 * x-mcp-header mirroring. Fetched on first need and refreshed when a call names a tool the cached
 * list lacks or the list is older than `maxAgeMs`.
 */
import type { Params } from '../jsonrpc.js';
import { type DeclaredParam, declaredParams } from './param-headers.js';

export type ListPage = (cursor: string | undefined) => Promise<Params>;

const MAX_PAGES = 100;

export class ToolSchemas {
  private schemas: Map<string, unknown> | undefined;
  private fetchedAt = 0;

  constructor(
    private readonly listPage: ListPage,
    private readonly maxAgeMs: number,
  ) {}

  /** The tool's mirrored parameters: [] when it declares none or is unknown; undefined when invalid. */
  async declared(tool: string): Promise<DeclaredParam[] | undefined> {
    const stale = Date.now() - this.fetchedAt > this.maxAgeMs;
    if (!this.schemas || stale || !this.schemas.has(tool)) await this.refresh();
    return this.schemas?.has(tool) ? declaredParams(this.schemas.get(tool)) : [];
  }

  private async refresh(): Promise<void> {
    const schemas = new Map<string, unknown>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await this.listPage(cursor);
      for (const tool of Array.isArray(result.tools) ? result.tools : []) {
        if (tool && typeof tool === 'object' && typeof (tool as Params).name === 'string') {
          schemas.set((tool as Params).name as string, (tool as Params).inputSchema);
        }
      }
      cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
      if (!cursor) break;
    }
    this.schemas = schemas;
    this.fetchedAt = Date.now();
  }
}
