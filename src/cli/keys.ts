/** `portcullis keys create|list|revoke`: API keys in the store the gateway uses (same --config). */
import type { Command } from 'commander';
import { cliActor, keyCreatedEvent, keyRevokedEvent } from '../audit/admin-events.js';
import { AuditLog } from '../audit/audit-log.js';
import { Redactor } from '../audit/redact.js';
import { ApiKeys } from '../auth/api-keys.js';
import { scopeSchema } from '../config/auth-schema.js';
import { DEFAULT_ROLES } from '../config/policy-schema.js';
import { duration } from '../config/units.js';
import { knownScopes, unknownScopeProblem } from '../policy/vocabulary.js';
import type { ApiKeyRecord } from '../store/store.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';
import { openStoreOrExit } from './open-store-or-exit.js';

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

/** Runs `work` on the configured store's keys; what it records goes to the store's audit trail. */
async function withKeys<T>(
  configFile: string,
  work: (keys: ApiKeys, audit: AuditLog) => Promise<T>,
): Promise<T> {
  const { config, baseDir, secrets } = loadOrExit(configFile);
  if (!config.auth.apiKeys) fail('API keys are not enabled in this config — add auth: { apiKeys: {} }');
  const { store, secret } = await openStoreOrExit(config, baseDir);
  const keys = new ApiKeys(store.apiKeys, secret);
  // No stdout sink: the CLI's stdout carries the key, for scripts to read.
  const audit = new AuditLog({
    redactor: new Redactor(secrets),
    ...(config.audit.store ? { store: store.audit } : {}),
  });
  try {
    return await work(keys, audit);
  } finally {
    await audit.close();
    await keys.close();
    await store.close();
  }
}

function date(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** active, expired or revoked. */
export function keyStatus(record: ApiKeyRecord, now: number): string {
  if (record.revokedAt !== null) return 'revoked';
  if (record.expiresAt !== null && record.expiresAt <= now) return 'expired';
  return 'active';
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage API keys');

  keys
    .command('create')
    .description('create an API key and print it once')
    .requiredOption('--name <name>', 'a label for the key (who or what uses it)')
    .option('--scopes <list>', 'comma-separated scopes', '')
    .option('--roles <list>', 'comma-separated roles (policy.roles, or viewer, editor, admin)', '')
    .option('--expires <duration>', 'lifetime, e.g. 30d or 12h (default: no expiry)')
    .option(...CONFIG_OPTION)
    .action(
      async (options: { name: string; scopes: string; roles: string; expires?: string; config: string }) => {
        const scopes = options.scopes
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const badScope = scopes.find((s) => !scopeSchema.safeParse(s).success);
        if (badScope !== undefined)
          fail(
            `--scopes: "${badScope}" is not a valid scope — use letters, digits and : . _ - * (comma-separated, no spaces inside a scope)`,
          );
        const { config } = loadOrExit(options.config);
        const vocabulary = knownScopes(Object.keys(config.upstreams), config.policy.rules);
        for (const scope of scopes) {
          const problem = unknownScopeProblem(scope, vocabulary);
          if (problem) fail(`--scopes: ${problem}`);
        }
        const roles = options.roles
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const known = config.policy.roles ?? DEFAULT_ROLES;
        const badRole = roles.find((r) => !Object.hasOwn(known, r));
        if (badRole !== undefined)
          fail(`--roles: "${badRole}" is not a role — known roles: ${Object.keys(known).join(', ')}`);
        let expiresAt: number | null = null;
        if (options.expires !== undefined) {
          const parsed = duration.safeParse(options.expires);
          if (!parsed.success || parsed.data <= 0)
            fail(`--expires "${options.expires}" is not a positive duration — write it like 30d or 12h`);
          expiresAt = Date.now() + parsed.data;
        }
        const { key, record } = await withKeys(options.config, async (k, audit) => {
          const created = await k.create({ name: options.name, scopes, roles, expiresAt });
          audit.record(keyCreatedEvent(created.record, cliActor()));
          return created;
        });
        process.stderr.write(
          `Created ${record.id} "${record.name}" with scopes [${scopes.join(', ')}]${roles.length > 0 ? ` and roles [${roles.join(', ')}]` : ''}, expires ${date(expiresAt)}.\nThe key is printed below once; it is stored only as a hash and cannot be shown again.\n`,
        );
        process.stdout.write(`${key}\n`);
      },
    );

  keys
    .command('list')
    .description('list API keys (never their secret)')
    .option(...CONFIG_OPTION)
    .action(async (options: { config: string }) => {
      const records = await withKeys(options.config, (k) => k.list());
      const now = Date.now();
      const rows = [
        ['ID', 'NAME', 'SCOPES', 'ROLES', 'CREATED', 'EXPIRES', 'LAST USED', 'STATUS'],
        ...records.map((r) => [
          r.id,
          r.name,
          r.scopes.join(',') || '-',
          r.roles.join(',') || '-',
          date(r.createdAt),
          date(r.expiresAt),
          date(r.lastUsedAt),
          keyStatus(r, now),
        ]),
      ];
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length))) ?? [];
      for (const row of rows)
        process.stdout.write(
          `${row
            .map((cell, i) => cell.padEnd(widths[i] ?? 0))
            .join('  ')
            .trimEnd()}\n`,
        );
    });

  keys
    .command('revoke')
    .description('revoke an API key at once (a running gateway refuses it within a second)')
    .argument('<id>', 'the key id shown by keys list (key_…)')
    .option(...CONFIG_OPTION)
    .action(async (id: string, options: { config: string }) => {
      const revoked = await withKeys(options.config, async (k, audit) => {
        const done = await k.revoke(id);
        if (done) audit.record(keyRevokedEvent(id, cliActor()));
        return done;
      });
      if (!revoked) fail(`no active key with id ${id} — see: npx portcullis keys list`);
      process.stdout.write(`revoked ${id}\n`);
    });
}
