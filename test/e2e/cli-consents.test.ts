/**
 * consents list / revoke and clients list as an operator reads them (issue 14 item 9): a header, the
 * client's name, a short consent id that revoke accepts; an empty list says so.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { DynamicClients } from '../../src/oauth/client-id.js';
import { openStore } from '../../src/store/open.js';
import { EVERYTHING } from '../helpers/gateway.js';

const CLI = resolve('dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'pcl-consents-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(registration: string): string {
  const file = join(dir, `${registration}.yaml`);
  writeFileSync(
    file,
    `listen: { port: 8787 }\nstore: { sqlite: ${join(dir, `${registration}.db`)} }\nauth:\n  basic: { bootstrapAdmin: true }\n  oauth: { registration: ${registration} }\nupstreams:\n  everything: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }\n`,
  );
  return file;
}
const run = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });

/** Remembers consents as the consent page does, in the store the config names. */
async function remember(file: string, consents: [string, string, string[]][]): Promise<void> {
  const loaded = parseConfig(readFileSync(file, 'utf8'), dir);
  const { store } = await openStore(loaded.config, loaded.baseDir);
  for (const [subject, clientId, scopes] of consents)
    await store.oauth.consents.remember(subject, clientId, scopes, Date.UTC(2026, 11, 1));
  await store.close();
}

describe('consents and clients on the command line', () => {
  it('clients list says when there are none, then shows a header and each client', () => {
    const file = config('static');
    const empty = run('clients', 'list', '--config', file);
    assert.equal(empty.status, 0, empty.stderr);
    assert.equal(empty.stdout, 'no clients registered — add one with: npx portcullis clients add\n');
    const added = run(
      'clients',
      'add',
      '--name',
      'Acme Desktop',
      '--public',
      '--redirect-uris',
      'http://127.0.0.1:9/cb',
      '--config',
      file,
    );
    const id = added.stdout.trim();
    const listed = run('clients', 'list', '--config', file).stdout.split('\n');
    assert.match(listed[0] ?? '', /^ID +NAME +TYPE +REDIRECT URIS +STATUS$/);
    assert.equal(listed[1], `${id}  Acme Desktop  public  http://127.0.0.1:9/cb  active`);
  });

  it('consents list shows a header, the client names and short ids; revoke takes the id', async () => {
    const file = config('open');
    assert.equal(run('consents', 'list', '--config', file).stdout, 'no consents remembered\n');
    // A registration as the gateway signs it (same issuer and secret as the gateway of this config).
    const { store, secret } = await openStore(parseConfig(readFileSync(file, 'utf8'), dir).config, dir);
    await store.close();
    const dynamic = new DynamicClients({ issuer: 'http://127.0.0.1:8787', secret });
    const named = await dynamic.register({
      client_name: 'Claude\u001b[31m Desktop',
      redirect_uris: ['http://127.0.0.1:9/cb'],
      token_endpoint_auth_method: 'none',
    });
    const anonymous = await dynamic.register({
      redirect_uris: ['http://127.0.0.1:9/cb'],
      token_endpoint_auth_method: 'none',
    });
    await remember(file, [
      ['admin', named.client_id, ['tools:read', 'tools:write']],
      ['alice', anonymous.client_id, ['tools:read']],
    ]);
    const listed = run('consents', 'list', '--config', file);
    assert.equal(listed.status, 0, listed.stderr);
    const lines = listed.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID +USER +CLIENT NAME +CLIENT ID +SCOPES +GRANTED$/);
    assert.match(
      lines[1] ?? '',
      /^cns_[0-9a-f]{12} {2}admin {2}Claude\?\[31m Desktop {2}pcd_\S{27}… {2}tools:read,tools:write {2}2026-12-01T00:00:00Z$/,
    );
    assert.match(
      lines[2] ?? '',
      /^cns_[0-9a-f]{12} {2}alice {2}- +pcd_\S{27}… {2}tools:read +2026-12-01T00:00:00Z$/,
    );
    assert.ok(!listed.stdout.includes(named.client_id), 'the long client id is cut to fit');
    assert.equal(
      run('consents', 'list', '--user', 'alice', '--config', file).stdout.trimEnd().split('\n').length,
      2,
    );

    const id = /^(cns_[0-9a-f]{12}) {2}admin/m.exec(listed.stdout)?.[1] as string;
    const revoked = run('consents', 'revoke', id, '--config', file);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.equal(revoked.stdout, 'revoked the consent of admin; 0 grant(s) revoked\n');
    assert.doesNotMatch(run('consents', 'list', '--config', file).stdout, /admin/);
    const again = run('consents', 'revoke', id, '--config', file);
    assert.equal(again.status, 1);
    assert.equal(again.stderr, `portcullis: no consent with id ${id} — see: npx portcullis consents list\n`);
    const neither = run('consents', 'revoke', '--config', file);
    assert.equal(neither.status, 1);
    assert.match(
      neither.stderr,
      /name the consent: consents revoke cns_… \(from consents list\), or --user U --client ID/,
    );
    const audit = run('audit', 'tail', '--json', '--config', file);
    assert.match(audit.stdout, /admin\.consent_revoked/);
  });
});
