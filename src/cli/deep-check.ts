/**
 * What the config schema cannot see, checked against the machine: a stdio upstream whose command
 * cannot be found (an error: it can never start), and a rule requiring a scope nobody can hold (a
 * warning: keys created later may hold it). Shared by check-config and start. And for check-config,
 * the names an aggregated endpoint could not expose as `<prefix>__<name>`.
 */
import type { LoadedConfig } from '../config/load.js';
import { renamedLines, seedAggregates } from '../gateway/aggregate-seed.js';
import { aggregateEndpoints } from '../gateway/aggregates.js';
import { connectorFor } from '../gateway/channels.js';
import { createLogger } from '../log/logger.js';
import { offerCache } from '../policy/inspect.js';
import { Policy } from '../policy/policy.js';
import { keyGrants, unholdableRuleScopes } from '../policy/startup-check.js';
import { describeStore, openExistingStore } from '../store/open.js';
import { findCommand } from '../upstream/find-command.js';

/** One line per stdio upstream that cannot start, naming the field and the fix. */
export async function brokenUpstreams(loaded: LoadedConfig): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, upstream] of Object.entries(loaded.config.upstreams)) {
    if (upstream.command === undefined) continue;
    const { found, searched } = await findCommand(upstream, loaded.baseDir);
    if (found) continue;
    const field = `config: upstreams.${name}.command: '${upstream.command}'`;
    problems.push(
      searched.length > 0
        ? `${field} is not on PATH — the upstream is started with PATH=${searched.join(':')}; install it there, write its absolute path, or set upstreams.${name}.env.PATH`
        : `${field} is not an executable file — fix the path (a relative one starts from upstreams.${name}.cwd, else the config file's folder)`,
    );
  }
  return problems;
}

/**
 * One warning line per rule scope no role, user, default scope or stored API key can hold. Only a
 * store that exists is read (checking a config must not create one); a PostgreSQL store that
 * cannot be read is said so in a warning, and the check goes on without its keys.
 */
export async function ruleScopeWarnings(loaded: LoadedConfig): Promise<string[]> {
  const { config, baseDir } = loaded;
  const policy = new Policy(config.policy);
  let grants: string[] = [];
  const notes: string[] = [];
  if (config.auth.apiKeys) {
    try {
      const opened = await openExistingStore(config, baseDir);
      if (opened) {
        try {
          grants = keyGrants(await opened.store.apiKeys.list(), policy);
        } finally {
          await opened.store.close();
        }
      }
    } catch (err) {
      notes.push(
        `warning: store: cannot read the API keys of ${describeStore(config, baseDir)} (${(err as Error).message}) — scopes only keys hold are not counted below`,
      );
    }
  }
  return [
    ...notes,
    ...unholdableRuleScopes(config, policy, grants).map((w) => `warning: config: ${w.message}`),
  ];
}

/**
 * With several upstreams (or virtual servers), one note per tool or prompt an aggregated endpoint
 * exposes under a shortened name: the upstreams are started and listed, as the gateway does at start.
 */
export async function aggregateNames(loaded: LoadedConfig): Promise<string[]> {
  const { config, baseDir } = loaded;
  const logger = createLogger({ level: 'silent' });
  const aggregates = aggregateEndpoints(config, new Policy(config.policy), logger);
  if (aggregates.size === 0) return [];
  const connectors = new Map(
    Object.entries(config.upstreams).map(([name, upstream]) => [
      name,
      connectorFor(name, upstream, baseDir, logger),
    ]),
  );
  await seedAggregates(aggregates, offerCache(config.upstreams, connectors, logger), logger);
  return renamedLines(aggregates);
}
