/**
 * `portcullis wrap -- node server.js` (or `--stdio "cmd"`, `--url https://…`): one MCP server behind
 * the gateway with no YAML. It builds the config a careful user would write — loopback only, an
 * admin API key created on the first run and printed once, the embedded store in a per-user data
 * directory, the audit trail on — as YAML text, and parses and serves it exactly as `start` does a
 * file; `--print-config` prints that YAML instead, for when the user outgrows the one-liner.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ConfigError } from '../config/errors.js';
import { type LoadedConfig, parseConfig } from '../config/load.js';
import { findCommand } from '../upstream/find-command.js';
import { brokenUpstreams } from './deep-check.js';
import { serve } from './start.js';

interface WrapOptions {
  stdio?: string;
  url?: string;
  name: string;
  port: string;
  dataDir?: string;
  printConfig?: boolean;
}

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

/** Where wrap keeps its store: $XDG_DATA_HOME/portcullis, else ~/.local/share/portcullis. */
export function dataDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME ? resolve(env.XDG_DATA_HOME) : join(homedir(), '.local', 'share');
  return join(base, 'portcullis');
}

/**
 * Splits `--stdio "cmd a 'b c'"` into words: whitespace separates, quotes group, nothing is
 * expanded; undefined for an unclosed quote.
 */
export function splitCommandLine(line: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  let end = 0;
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|([^\s"']+)/g)) {
    if (line.slice(end, m.index).trim() !== '') return undefined;
    // Parts with no space between them (a"b c"d) are one word.
    if (word !== undefined && m.index !== end) {
      words.push(word);
      word = undefined;
    }
    word = (word ?? '') + (m[1] ?? m[2] ?? m[3] ?? '');
    end = m.index + m[0].length;
  }
  if (line.slice(end).trim() !== '') return undefined;
  if (word !== undefined) words.push(word);
  return words;
}

/** The upstream: a stdio command found on the user's PATH now (the child gets a minimal PATH), or a URL. */
async function upstreamOf(words: readonly string[], options: WrapOptions): Promise<Record<string, unknown>> {
  const chosen = [words.length > 0, options.stdio !== undefined, options.url !== undefined].filter(Boolean);
  if (chosen.length !== 1)
    fail(
      'name one server: portcullis wrap -- node server.js, or --stdio "node server.js", or --url https://host/mcp',
    );
  if (options.url !== undefined) return { url: options.url };
  const split = words.length > 0 ? words : splitCommandLine(options.stdio ?? '');
  if (split === undefined)
    fail('--stdio: a quote is not closed — write it like --stdio "node \'my server.js\'"');
  const [command, ...args] = split;
  if (command === undefined || command === '')
    fail('--stdio: the command is empty — write it like --stdio "node server.js"');
  const cwd = process.cwd();
  const lookup = await findCommand({ command, env: { PATH: process.env.PATH ?? '' } }, cwd);
  return { command: lookup.found ?? command, args, cwd };
}

export async function wrapYaml(words: readonly string[], options: WrapOptions): Promise<string> {
  const port = Number(options.port);
  const dataDir = resolve(options.dataDir ?? dataDirectory());
  const config = {
    listen: { host: '127.0.0.1', port: Number.isInteger(port) ? port : options.port },
    upstreams: { [options.name]: await upstreamOf(words, options) },
    store: { sqlite: join(dataDir, 'portcullis.db') },
    auth: { apiKeys: { bootstrapAdmin: true } },
    audit: { stdout: true, store: true },
  };
  return `# Written by portcullis wrap: the config it serves. Start it with: portcullis start --config FILE\n${stringify(config)}`;
}

export function registerWrap(program: Command): void {
  program
    .command('wrap')
    .description(
      'serve one MCP server with safe defaults and no config file: portcullis wrap -- node server.js',
    )
    .argument('[command...]', 'the stdio server to run, after --')
    .option('--stdio <command>', 'the stdio server to run, as one string')
    .option('--url <url>', 'a Streamable HTTP MCP server to put behind the gateway')
    .option('--name <name>', 'the upstream name (in /servers/<name>/mcp and the audit trail)', 'server')
    .option('--port <port>', 'the loopback port to listen on (0: any free port)', '8787')
    .option('--data-dir <dir>', 'where the store and API keys are kept (default: $XDG_DATA_HOME/portcullis)')
    .option('--print-config', 'print the equivalent portcullis.yaml and exit')
    .action(async (words: string[], options: WrapOptions) => {
      const yaml = await wrapYaml(words, options);
      if (options.printConfig) {
        process.stdout.write(yaml);
        return;
      }
      let loaded: LoadedConfig;
      try {
        loaded = parseConfig(yaml, process.cwd());
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`${err.message}\n`);
        process.exit(2);
      }
      // One server: if it cannot start there is nothing to serve.
      const broken = await brokenUpstreams(loaded);
      if (broken.length > 0) {
        process.stderr.write(`${broken.join('\n')}\n`);
        process.exit(2);
      }
      await serve(
        loaded,
        'portcullis wrap --print-config … > portcullis.yaml, then: npx portcullis keys create --name my-laptop --scopes "*" --config portcullis.yaml',
      );
    });
}
