/** Loads the config for a CLI command, or prints each problem on its own line and exits 2. */
import { ConfigError } from '../config/errors.js';
import { type LoadedConfig, loadConfigFile } from '../config/load.js';

export const CONFIG_OPTION = ['-c, --config <file>', 'config file', './portcullis.yaml'] as const;

export function loadOrExit(file: string): LoadedConfig {
  try {
    return loadConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}
