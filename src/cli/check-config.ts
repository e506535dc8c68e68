import type { Command } from 'commander';
import { aggregateNames, brokenUpstreams, ruleScopeWarnings } from './deep-check.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';

export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('validate the config file and exit non-zero with one line per problem')
    .option(...CONFIG_OPTION)
    .action(async (options: { config: string }) => {
      const loaded = loadOrExit(options.config);
      const errors = await brokenUpstreams(loaded);
      const warnings = await ruleScopeWarnings(loaded);
      for (const line of [...errors, ...warnings]) process.stderr.write(`${line}\n`);
      if (errors.length > 0) process.exit(2);
      for (const line of await aggregateNames(loaded)) process.stderr.write(`${line}\n`);
      const upstreams = Object.keys(loaded.config.upstreams);
      const warned = warnings.length > 0 ? ` (${warnings.length} warning(s) above)` : '';
      process.stdout.write(
        `${loaded.file}: ok — ${upstreams.length} upstream(s): ${upstreams.join(', ')}${warned}\n`,
      );
    });
}
