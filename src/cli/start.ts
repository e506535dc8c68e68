import type { Command } from 'commander';
import type { LoadedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { endpointPaths } from '../gateway/endpoints.js';
import { type RunningGateway, startGateway } from '../gateway/start.js';
import { createLogger, flushLogger } from '../log/logger.js';
import { clientSnippets } from './client-snippets.js';
import { brokenUpstreams } from './deep-check.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the gateway')
    .option(...CONFIG_OPTION)
    .action((options: { config: string }) =>
      serve(
        loadOrExit(options.config),
        `npx portcullis keys create --name my-laptop --scopes "*" --config ${options.config}`,
      ),
    );
}

/**
 * Runs the gateway until SIGINT or SIGTERM: the one start path of `start` and `wrap`. `createKey`
 * is the command that makes a key for this config's store, shown when none was just created.
 */
export async function serve(loaded: LoadedConfig, createKey: string): Promise<void> {
  const logger = createLogger({ secrets: loaded.secrets });
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(loaded, logger);
  } catch (err) {
    process.stderr.write(`portcullis: ${(err as Error).message}\n`);
    process.exit(1);
  }
  // Serving goes on (the other upstreams work, a fixed command is found on the next session),
  // but the banner must not read as if all were well.
  const broken = await brokenUpstreams(loaded);
  for (const line of broken) logger.error(line);
  process.stderr.write(banner(gateway, loaded.config, broken, createKey));
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Records gateway.stop and writes every queued audit event before the process ends.
    await gateway.close(signal);
    await flushLogger(logger);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/** What a person needs to connect a client: the endpoints, and a config snippet with the credential. */
function banner(
  gateway: RunningGateway,
  config: Config,
  broken: readonly string[],
  createKey: string,
): string {
  const { url, bootstrapKey, bootstrapPassword } = gateway;
  // /mcp is the one upstream, or all of them aggregated; then each upstream and virtual server.
  const endpoints = endpointPaths(config).map((path) => `  ${url}${path}`);
  const mcpUrl = `${url}/mcp`;
  const status =
    broken.length === 0
      ? ['Portcullis is listening.']
      : [
          `Portcullis is listening, but ${broken.length} upstream(s) cannot start — fix the config and restart:`,
          ...broken.map((line) => `  ${line}`),
        ];
  const lines = ['', ...status, '', 'MCP endpoints:', ...endpoints, ''];
  const key = bootstrapKey ?? (config.auth.apiKeys ? '<your API key>' : undefined);
  if (bootstrapKey) {
    lines.push(
      'An admin API key was created (it is shown only this once; only its hash is stored):',
      '',
      `  ${bootstrapKey}`,
      '',
    );
  } else if (config.auth.apiKeys) {
    lines.push(`Create an API key with: ${createKey}`, '');
  }
  if (config.auth.oauth) {
    lines.push(
      'OAuth sign-in is on: clients that log people in (Claude Desktop, Cursor, the MCP Inspector) need only the URL;',
      `they find the authorization server at ${url}/.well-known/oauth-authorization-server.`,
      '',
    );
  }
  if (bootstrapPassword) {
    lines.push(
      'A sign-in user was created (the password is shown only this once; only its hash is stored):',
      '',
      `  user: admin    password: ${bootstrapPassword}`,
      '',
    );
  }
  lines.push('Connect a client:', '');
  const upstreams = Object.keys(config.upstreams);
  const serverName = upstreams.length === 1 ? (upstreams[0] as string) : 'portcullis';
  for (const { title, text } of clientSnippets(serverName, mcpUrl, key)) lines.push(`${title}:`, text, '');
  lines.push('');
  return lines.join('\n');
}
