/**
 * `portcullis policy explain`: starts each upstream as the gateway would, lists what it offers,
 * and prints for every tool, resource and prompt whether the given caller may use it and which
 * rule decided — so an operator can check a deployment before opening it.
 */
import type { Command } from 'commander';
import { ApiKeys } from '../auth/api-keys.js';
import { BOOTSTRAP_ADMIN, BOOTSTRAP_ADMIN_ROLES } from '../auth/bootstrap-admin.js';
import type { UpstreamConfig } from '../config/schema.js';
import { connectorFor } from '../gateway/channels.js';
import { createLogger } from '../log/logger.js';
import { explainUpstream, formatExplained } from '../policy/explain.js';
import { inspectUpstream, offeredNames } from '../policy/inspect.js';
import { Policy } from '../policy/policy.js';
import { knownScopes, scopeTables, unknownScopeProblem } from '../policy/vocabulary.js';
import { keyStatus } from './keys.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';
import { openStoreOrExit } from './open-store-or-exit.js';

interface ExplainOptions {
  config: string;
  scopes?: string;
  roles?: string;
  key?: string;
  user?: string;
}

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('inspect the authorization policy');
  policy
    .command('scopes')
    .description('print the scope vocabulary and the default roles (the tables in the README)')
    .action(() => {
      process.stdout.write(scopeTables());
    });
  policy
    .command('explain')
    .description(
      'print, for every tool, resource and prompt of each upstream, allowed or denied and the rule that decided',
    )
    .option('--scopes <list>', 'explain for a caller holding these comma-separated scopes')
    .option('--roles <list>', 'and these roles')
    .option('--key <id>', 'explain for the API key with this id (keys list)')
    .option('--user <name>', 'explain for this Basic user')
    .option(...CONFIG_OPTION)
    .action(async (options: ExplainOptions) => {
      const { config, baseDir, secrets } = loadOrExit(options.config);
      const rules = new Policy(config.policy);
      const subject = await callerScopes(options, config, baseDir);
      const scopes = rules.scopesOf({
        id: 'explain',
        kind: 'api-key',
        name: 'explain',
        scopes: subject.scopes,
        roles: subject.roles,
      });
      // Upstream logs (child stderr) go to stderr so the explanation on stdout stays readable.
      const logger = createLogger({ level: 'warn', secrets, destination: process.stderr });
      process.stdout.write(
        `Caller: ${subject.label}${config.policy.readOnly ? ' (read-only mode)' : ''}\n\n`,
      );
      const unused = new Map<number, number>();
      const names = Object.keys(config.upstreams);
      for (const name of names) {
        const upstream = config.upstreams[name] as UpstreamConfig;
        const offer = await inspectUpstream(
          name,
          connectorFor(name, upstream, baseDir, logger),
          upstream.protocol === '2026-07-28',
          logger,
        ).catch((err: Error) => fail(`upstream '${name}' could not be listed: ${err.message}`));
        process.stdout.write(`${formatExplained(name, explainUpstream(rules, scopes, name, offer))}\n\n`);
        for (const index of rules.unusedRules(name, offeredNames(offer)))
          unused.set(index, (unused.get(index) ?? 0) + 1);
      }
      for (const [index, count] of unused) {
        if (count === names.length)
          process.stdout.write(`warning: policy.rules[${index - 1}] matches nothing any upstream offers\n`);
      }
    });
}

async function callerScopes(
  options: ExplainOptions,
  config: ReturnType<typeof loadOrExit>['config'],
  baseDir: string,
): Promise<{ scopes: string[]; roles: string[]; label: string }> {
  if (options.key) {
    if (!config.auth.apiKeys) fail('API keys are not enabled in this config');
    const { store, secret } = await openStoreOrExit(config, baseDir);
    const keys = new ApiKeys(store.apiKeys, secret);
    const record = (await keys.list()).find((k) => k.id === options.key);
    await keys.close();
    await store.close();
    if (!record) fail(`no key with id ${options.key} — see: npx portcullis keys list`);
    const state = keyStatus(record, Date.now());
    if (state !== 'active') {
      // Its scopes no longer matter: the gateway refuses every request that presents it.
      process.stdout.write(
        `API key ${record.id} "${record.name}" is ${state}: the gateway refuses every request with it, so it may use nothing.\n`,
      );
      process.exit(0);
    }
    return {
      scopes: [...record.scopes],
      roles: [...record.roles],
      label: `API key ${record.id} "${record.name}" [${describeGrant(record.scopes, record.roles)}]`,
    };
  }
  if (options.user) {
    const basic = config.auth.basic;
    const users = basic?.users ?? {};
    const bootstrapped =
      basic?.bootstrapAdmin === true &&
      options.user === BOOTSTRAP_ADMIN &&
      !Object.hasOwn(users, BOOTSTRAP_ADMIN);
    const user = bootstrapped
      ? { scopes: undefined, roles: [...BOOTSTRAP_ADMIN_ROLES] }
      : Object.hasOwn(users, options.user)
        ? users[options.user]
        : undefined;
    if (!user)
      fail(
        `no Basic user named ${options.user} in auth.basic.users${basic?.bootstrapAdmin ? ` (nor the bootstrap user ${BOOTSTRAP_ADMIN})` : ''}`,
      );
    const scopes = user.scopes ?? config.auth.defaultScopes;
    return {
      scopes,
      roles: user.roles,
      label: `Basic user ${options.user} [${describeGrant(scopes, user.roles)}]`,
    };
  }
  const scopes = list(options.scopes);
  const roles = list(options.roles);
  const vocabulary = knownScopes(Object.keys(config.upstreams), config.policy.rules);
  for (const scope of scopes) {
    const problem = unknownScopeProblem(scope, vocabulary);
    if (problem) process.stdout.write(`warning: --scopes: ${problem}\n`);
  }
  return {
    scopes,
    roles,
    label: `scopes [${scopes.join(', ')}]${roles.length > 0 ? ` roles [${roles.join(', ')}]` : ''}`,
  };
}

function describeGrant(scopes: readonly string[], roles: readonly string[]): string {
  return [...scopes, ...roles.map((r) => `role ${r}`)].join(', ');
}
