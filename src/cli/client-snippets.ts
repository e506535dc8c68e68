/**
 * How each MCP client is pointed at the gateway, with the API key when there is one: printed in the
 * start banner, and the README's "Connecting clients" section shows these same texts (a test keeps
 * them equal). Each client has its own format: VS Code's mcp.json says `servers`, Cursor's and
 * Claude Desktop's `mcpServers`; Claude Desktop speaks only stdio, so mcp-remote bridges it, with the
 * header in an environment variable because a space inside its args does not survive everywhere.
 */

export interface ClientSnippet {
  /** The client, and where the snippet goes. */
  readonly title: string;
  readonly text: string;
}

export function clientSnippets(name: string, url: string, key: string | undefined): ClientSnippet[] {
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  const headers = key ? { headers: { Authorization: `Bearer ${key}` } } : {};
  const header = key ? ` --header "Authorization: Bearer ${key}"` : '';
  return [
    {
      title: 'Claude Code (a command)',
      text: `claude mcp add --transport http ${name} ${url}${header}`,
    },
    {
      title: 'Cursor (~/.cursor/mcp.json or .cursor/mcp.json)',
      text: json({ mcpServers: { [name]: { url, ...headers } } }),
    },
    {
      title: 'VS Code (.vscode/mcp.json)',
      text: json({ servers: { [name]: { type: 'http', url, ...headers } } }),
    },
    {
      title: 'Claude Desktop (claude_desktop_config.json, through mcp-remote)',
      text: json({
        mcpServers: {
          [name]: key
            ? {
                command: 'npx',
                // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp-remote expands ${AUTH_HEADER} from env
                args: ['-y', 'mcp-remote', url, '--header', 'Authorization:${AUTH_HEADER}'],
                env: { AUTH_HEADER: `Bearer ${key}` },
              }
            : { command: 'npx', args: ['-y', 'mcp-remote', url] },
        },
      }),
    },
    {
      title: 'MCP Inspector (a command)',
      text: `npx -y @modelcontextprotocol/inspector@1 --cli ${url} --transport http${header} --method tools/list`,
    },
  ];
}
