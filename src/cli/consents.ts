/**
 * `portcullis consents list|revoke`: what people approved on the OAuth consent page, in the store the
 * gateway uses (same --config). Revoking a consent also revokes the live grants of that user and
 * client, so its access and refresh tokens stop working at once, and the next sign-in asks again.
 */
import type { Command } from 'commander';
import { cliActor } from '../audit/admin-events.js';
import { AuditLog } from '../audit/audit-log.js';
import { Redactor } from '../audit/redact.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

async function withStore<T>(
  configFile: string,
  work: (store: Store, audit: AuditLog) => Promise<T>,
): Promise<T> {
  const { config, baseDir, secrets } = loadOrExit(configFile);
  if (!config.auth.oauth) fail('the OAuth authorization server is not enabled in this config (auth.oauth)');
  const { store } = openStore(config, baseDir);
  const audit = new AuditLog({
    redactor: new Redactor(secrets),
    ...(config.audit.store ? { store: store.audit } : {}),
  });
  try {
    return await work(store, audit);
  } finally {
    await audit.close();
    await store.close();
  }
}

export function registerConsents(program: Command): void {
  const consents = program.command('consents').description('OAuth consents people gave to clients');

  consents
    .command('list')
    .description('list remembered consents: user, client, scopes, when')
    .option('--user <name>', 'only this user')
    .option(...CONFIG_OPTION)
    .action(async (options: { user?: string; config: string }) => {
      const records = await withStore(options.config, (store) => store.oauth.consents.list(options.user));
      for (const r of records)
        process.stdout.write(
          `${r.subject}  ${r.clientId}  ${r.scopes.join(',') || '-'}  ${new Date(r.grantedAt).toISOString()}\n`,
        );
    });

  consents
    .command('revoke')
    .description("withdraw a user's consent to a client and revoke the tokens it led to")
    .requiredOption('--user <name>', 'the user who approved')
    .requiredOption('--client <id>', 'the client id (from consents list)')
    .option(...CONFIG_OPTION)
    .action(async (options: { user: string; client: string; config: string }) => {
      const at = Date.now();
      const { had, grants } = await withStore(options.config, async (store, audit) => {
        const had = await store.oauth.consents.revoke(options.user, options.client);
        const grants = await store.oauth.tokens.revokeGrantsOf(options.user, options.client, at);
        if (had || grants > 0)
          audit.record({
            type: 'admin.consent_revoked',
            actor: cliActor(),
            subject: options.user,
            clientId: options.client,
            grantsRevoked: grants,
          });
        return { had, grants };
      });
      if (!had && grants === 0)
        fail(
          `no consent or live grant of ${options.user} to that client — see: npx portcullis consents list`,
        );
      process.stdout.write(`revoked the consent of ${options.user}; ${grants} grant(s) revoked\n`);
    });
}
