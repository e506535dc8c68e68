/** The MCP endpoint paths: one per upstream, and /mcp when there is only one. */
export function endpointPaths(names: readonly string[]): string[] {
  const paths = names.map((n) => `/servers/${n}/mcp`);
  return names.length === 1 ? ['/mcp', ...paths] : paths;
}
