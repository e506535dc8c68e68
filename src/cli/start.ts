import type { Command } from 'commander';
import { startGateway } from '../gateway.js';
import { createLogger } from '../log/logger.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the gateway')
    .option(...CONFIG_OPTION)
    .action(async (options: { config: string }) => {
      const loaded = loadOrExit(options.config);
      const logger = createLogger({ secrets: loaded.secrets });
      let gateway: Awaited<ReturnType<typeof startGateway>>;
      try {
        gateway = await startGateway(loaded, logger);
      } catch (err) {
        process.stderr.write(`portcullis: ${(err as Error).message}\n`);
        process.exit(1);
      }
      process.stderr.write(banner(gateway.url, Object.keys(loaded.config.upstreams)));
      const stop = async (signal: string) => {
        logger.info({ signal }, 'shutting down');
        await gateway.close();
        logger.flush();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}

function banner(url: string, upstreams: readonly string[]): string {
  const endpoints = upstreams.map((u) => `  ${url}/servers/${u}/mcp`);
  if (upstreams.length === 1) endpoints.unshift(`  ${url}/mcp`);
  const snippet = JSON.stringify(
    { mcpServers: { [upstreams[0] ?? 'portcullis']: { type: 'http', url: `${url}/mcp` } } },
    null,
    2,
  );
  return `\nPortcullis is listening.\n\nMCP endpoints:\n${endpoints.join('\n')}\n\nClient config (Claude Code, Cursor, VS Code and other clients that take a URL):\n${snippet}\n\nClaude Desktop (through mcp-remote):\n${JSON.stringify({ mcpServers: { portcullis: { command: 'npx', args: ['mcp-remote', `${url}/mcp`] } } }, null, 2)}\n\n`;
}
