/** The MCP endpoint paths: one per upstream, and /mcp (the one upstream, or all of them aggregated). */
export function endpointPaths(names: readonly string[]): string[] {
  return ['/mcp', ...names.map((n) => `/servers/${n}/mcp`)];
}
