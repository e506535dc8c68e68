import type { Command } from 'commander';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';

export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('validate the config file and exit non-zero with one line per problem')
    .option(...CONFIG_OPTION)
    .action((options: { config: string }) => {
      const { config, file } = loadOrExit(options.config);
      const upstreams = Object.keys(config.upstreams);
      process.stdout.write(`${file}: ok — ${upstreams.length} upstream(s): ${upstreams.join(', ')}\n`);
    });
}
