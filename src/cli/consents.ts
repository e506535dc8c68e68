/**
 * `portcullis consents list|revoke`: what people approved on the OAuth consent page, in the store the
 * gateway uses (same --config). Revoking a consent also revokes the live grants of that user and
 * client, so its access and refresh tokens stop working at once, and the next sign-in asks again.
 */
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { cliActor } from '../audit/admin-events.js';
import { AuditLog } from '../audit/audit-log.js';
import { Redactor } from '../audit/redact.js';
import type { LoadedConfig } from '../config/load.js';
import { hostForUrl } from '../gateway/listen.js';
import { DynamicClients } from '../oauth/client-id.js';
import { OAuthClients } from '../oauth/clients.js';
import type { ConsentRecord } from '../oauth/consents.js';
import { StaticClients } from '../oauth/static-clients.js';
import type { Store } from '../store/store.js';
import { CONFIG_OPTION, loadOrExit } from './load-or-exit.js';
import { openStoreOrExit } from './open-store-or-exit.js';
import { printTable } from './table.js';

function fail(message: string): never {
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}

interface Opened {
  readonly store: Store;
  readonly audit: AuditLog;
  /** The client's name as registered (self-declared for open registration), or undefined. */
  clientName(clientId: string): Promise<string | undefined>;
}

async function withStore<T>(configFile: string, work: (opened: Opened) => Promise<T>): Promise<T> {
  const loaded = loadOrExit(configFile);
  const { config, baseDir, secrets } = loaded;
  const oauth = config.auth.oauth;
  if (!oauth) fail('the OAuth authorization server is not enabled in this config (auth.oauth)');
  const { store, secret } = await openStoreOrExit(config, baseDir);
  const audit = new AuditLog({
    redactor: new Redactor(secrets),
    ...(config.audit.store ? { store: store.audit } : {}),
  });
  // As the gateway reads client ids, minus metadata documents: listing must not fetch URLs.
  const clients = new OAuthClients({
    ...(oauth.registration === 'open'
      ? {
          dynamic: new DynamicClients({
            issuer: issuerOf(loaded),
            secret: oauth.signingSecret ? Buffer.from(oauth.signingSecret, 'utf8') : secret,
          }),
        }
      : {}),
    ...(oauth.registration === 'static' ? { static: new StaticClients(store.oauth.clients) } : {}),
  });
  const clientName = (clientId: string) =>
    clients.resolve(clientId).then(
      (client) => client.clientName,
      () => undefined,
    );
  try {
    return await work({ store, audit, clientName });
  } finally {
    await audit.close();
    await store.close();
  }
}

/** The gateway's issuer: the origin of publicUrl, else of the listen address (as src/gateway/start.ts). */
function issuerOf({ config }: LoadedConfig): string {
  const { host, port, tls } = config.listen;
  return new URL(config.publicUrl ?? `${tls ? 'https' : 'http'}://${hostForUrl(host)}:${port}`).origin;
}

/** A short, stable id for a consent: the same user and client always give the same one. */
export function consentId(record: Pick<ConsentRecord, 'subject' | 'clientId'>): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([record.subject, record.clientId]))
    .digest('hex');
  return `cns_${digest.slice(0, 12)}`;
}

/** A name or id fit for one terminal cell: no control characters (a client picks its own name), capped. */
function cell(text: string, max: number): string {
  const clean = text.replace(/[\p{Cc}\p{Cf}]/gu, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

export function registerConsents(program: Command): void {
  const consents = program.command('consents').description('OAuth consents people gave to clients');

  consents
    .command('list')
    .description('list remembered consents: id, user, client, scopes, when')
    .option('--user <name>', 'only this user')
    .option(...CONFIG_OPTION)
    .action(async (options: { user?: string; config: string }) => {
      const rows = await withStore(options.config, async ({ store, clientName }) => {
        const records = await store.oauth.consents.list(options.user);
        return Promise.all(
          records.map(async (r) => [
            consentId(r),
            cell(r.subject, 40),
            cell((await clientName(r.clientId)) ?? '-', 40),
            cell(r.clientId, 32),
            r.scopes.join(',') || '-',
            new Date(r.grantedAt).toISOString().replace(/\.\d+Z$/, 'Z'),
          ]),
        );
      });
      if (rows.length === 0) {
        process.stdout.write(`no consents remembered${options.user ? ` for ${options.user}` : ''}\n`);
        return;
      }
      printTable([['ID', 'USER', 'CLIENT NAME', 'CLIENT ID', 'SCOPES', 'GRANTED'], ...rows]);
    });

  consents
    .command('revoke')
    .description("withdraw a user's consent to a client and revoke the tokens it led to")
    .argument('[id]', 'the consent id shown by consents list (cns_…)')
    .option('--user <name>', 'instead of an id: the user who approved')
    .option('--client <id>', 'and the client id (also revokes grants left after the consent was removed)')
    .option(...CONFIG_OPTION)
    .action(async (id: string | undefined, options: { user?: string; client?: string; config: string }) => {
      if ((id === undefined) === (options.user === undefined || options.client === undefined))
        fail('name the consent: consents revoke cns_… (from consents list), or --user U --client ID');
      const at = Date.now();
      const { subject, had, grants } = await withStore(options.config, async ({ store, audit }) => {
        const target = id
          ? (await store.oauth.consents.list()).find((r) => consentId(r) === id)
          : { subject: options.user as string, clientId: options.client as string };
        if (!target) fail(`no consent with id ${id} — see: npx portcullis consents list`);
        const had = await store.oauth.consents.revoke(target.subject, target.clientId);
        const grants = await store.oauth.tokens.revokeGrantsOf(target.subject, target.clientId, at);
        if (had || grants > 0)
          audit.record({
            type: 'admin.consent_revoked',
            actor: cliActor(),
            subject: target.subject,
            clientId: target.clientId,
            grantsRevoked: grants,
          });
        return { subject: target.subject, had, grants };
      });
      if (!had && grants === 0)
        fail(`no consent or live grant of ${subject} to that client — see: npx portcullis consents list`);
      process.stdout.write(`revoked the consent of ${subject}; ${grants} grant(s) revoked\n`);
    });
}
