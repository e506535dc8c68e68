/**
 * `portcullis clients add|list|revoke`: the pre-registered OAuth clients of `auth.oauth.registration:
 * static`, in the store the gateway uses (same --config). A confidential client's secret is printed
 * once on stdout and stored only as a hash.
 */
import type { Command } from 'commander';
import { OAuthError } from '../oauth/errors.js';
import { type StaticClientRecord, StaticClients } from '../oauth/static-clients.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';
import { openStoreOrExit } from './open-store-or-exit.js';
import { printTable } from './table.js';

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

async function withClients<T>(configFile: string, work: (clients: StaticClients) => Promise<T>): Promise<T> {
  const { config, baseDir } = loadOrExit(configFile);
  if (!config.auth.oauth)
    fail(
      'the OAuth authorization server is not enabled in this config — add auth: { oauth: { registration: static } }',
    );
  const { store } = await openStoreOrExit(config, baseDir);
  try {
    return await work(new StaticClients(store.oauth.clients));
  } catch (err) {
    if (err instanceof OAuthError) fail(err.description);
    throw err;
  } finally {
    await store.close();
  }
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function registerClients(program: Command): void {
  const clients = program
    .command('clients')
    .description('manage pre-registered OAuth clients (auth.oauth.registration: static)');

  clients
    .command('add')
    .description('register a client; a confidential client secret is printed once')
    .requiredOption('--name <name>', 'the name people see on the consent page')
    .requiredOption('--redirect-uris <list>', 'comma-separated redirect URIs (exact match)')
    .option('--public', 'a public client (PKCE only, no secret), e.g. a desktop or CLI app')
    .option('--scopes <list>', 'comma-separated scopes the client may be granted at most')
    .option(...CONFIG_OPTION)
    .action(
      async (options: {
        name: string;
        redirectUris: string;
        public?: boolean;
        scopes?: string;
        config: string;
      }) => {
        const { record, secret } = await withClients(options.config, (c) =>
          c.add({
            name: options.name,
            redirectUris: list(options.redirectUris),
            tokenEndpointAuthMethod: options.public ? 'none' : 'client_secret_basic',
            ...(options.scopes !== undefined ? { scopes: list(options.scopes) } : {}),
          }),
        );
        process.stderr.write(
          `Registered ${record.name} (${record.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential'}).\nclient_id: ${record.clientId}\n${secret ? 'The client secret is printed below once; it is stored only as a hash.\n' : ''}`,
        );
        process.stdout.write(secret ? `${record.clientId}\n${secret}\n` : `${record.clientId}\n`);
      },
    );

  clients
    .command('list')
    .description('list the pre-registered clients (never their secret)')
    .option(...CONFIG_OPTION)
    .action(async (options: { config: string }) => {
      const records = await withClients(options.config, (c) => c.list());
      if (records.length === 0) {
        process.stdout.write('no clients registered — add one with: npx portcullis clients add\n');
        return;
      }
      const status = (r: StaticClientRecord) => (r.revokedAt === null ? 'active' : 'revoked');
      printTable([
        ['ID', 'NAME', 'TYPE', 'REDIRECT URIS', 'STATUS'],
        ...records.map((r) => [
          r.clientId,
          r.name,
          r.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential',
          r.redirectUris.join(','),
          status(r),
        ]),
      ]);
    });

  clients
    .command('revoke')
    .description('revoke a client: it can no longer authorize or use its refresh tokens')
    .argument('<client-id>', 'the id shown by clients list (pcc_…)')
    .option(...CONFIG_OPTION)
    .action(async (id: string, options: { config: string }) => {
      if (!(await withClients(options.config, (c) => c.revoke(id))))
        fail(`no active client with id ${id} — see: npx portcullis clients list`);
      process.stdout.write(`revoked ${id}\n`);
    });
}
