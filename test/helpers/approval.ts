/**
 * A gateway in front of the real filesystem server whose destructive calls (edit_file, write_file,
 * move_file) policy.approval holds: API keys `app` and `other` (all scopes) call, Basic users
 * `alice` (tools:approve, and every files scope, to call herself) and `bob` (editor: no approve scope) sign in to the approval page; the
 * file count.txt gains one `+` each time the held edit runs, so a test can count runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hashPassword } from '../../src/auth/passwords.js';
import { CLI } from './auth.js';
import { captureSecrets } from './capture.js';
import { INITIALIZE } from './client.js';
import { FILESYSTEM, NODE, startTestGateway, type TestGateway } from './gateway.js';
import { call, type KeyStore, keyStore, type Reply, sessionHeaders } from './limits.js';

const run = promisify(execFile);
export const PASSWORDS = { alice: 'approve-alice-3f9c0a7d', bob: 'editor-bob-5e1d22b0' } as const;

export interface ApprovalFixture {
  readonly gw: TestGateway;
  readonly keys: KeyStore;
  readonly dir: string;
  readonly config: string;
  readonly count: string;
  readonly mcp: string;
  /** How many times the held edit ran. */
  runs(): number;
  /** The held call: one `+` appended to count.txt. */
  edit(id?: number): Record<string, unknown>;
  /** A raw 2025 session of key `name`; `capabilities` as its initialize declares them. */
  session(name: string, capabilities?: Record<string, unknown>): Promise<Record<string, string>>;
  cli(...args: string[]): Promise<string>;
  audits(type: string): Record<string, unknown>[];
  close(): Promise<void>;
}

export async function approvalFixture(approval: string, prefix = 'pcl-approval-'): Promise<ApprovalFixture> {
  const keys = await keyStore(['app', 'other'], prefix);
  captureSecrets(...Object.values(PASSWORDS));
  const dir = keys.dir;
  const count = join(dir, 'count.txt');
  writeFileSync(count, 'count:\n');
  const users = await Promise.all(
    Object.entries({ alice: '{ scopes: [tools:approve, "files:*"] }', bob: '{ roles: [editor] }' }).map(
      async ([name, rest]) =>
        `${name}: { passwordHash: "${await hashPassword(PASSWORDS[name as keyof typeof PASSWORDS])}", ${rest.slice(2)}`,
    ),
  );
  const yaml = [
    'listen: { host: 127.0.0.1, port: 0 }',
    `store: { sqlite: ${JSON.stringify(keys.db)} }`,
    'auth:',
    '  apiKeys: {}',
    `  basic: { users: { ${users.join(', ')} } }`,
    'audit: { store: true }',
    'upstreams:',
    `  files: { command: ${JSON.stringify(NODE)}, args: [${JSON.stringify(FILESYSTEM)}, ${JSON.stringify(dir)}] }`,
    `policy: { approval: ${approval} }`,
  ].join('\n');
  const config = join(dir, 'portcullis.yaml');
  writeFileSync(config, yaml);
  const gw = await startTestGateway(yaml);
  const mcp = `${gw.url}/mcp`;
  return {
    gw,
    keys,
    dir,
    config,
    count,
    mcp,
    runs: () => (readFileSync(count, 'utf8').match(/\+/g) ?? []).length,
    edit: (id = 3) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: {
        name: 'edit_file',
        arguments: { path: count, edits: [{ oldText: 'count:', newText: 'count:+' }] },
      },
    }),
    async session(name, capabilities = {}) {
      const init = { ...INITIALIZE, params: { ...INITIALIZE.params, capabilities } };
      const r = await call(mcp, init, keys.auth(name));
      assert.equal(r.status, 200, r.text);
      const headers = sessionHeaders(r.headers.get('mcp-session-id') as string, keys.auth(name));
      await call(mcp, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
      return headers;
    },
    async cli(...args) {
      const { stdout } = await run(NODE, [CLI, 'approvals', ...args, '--config', config]);
      return stdout;
    },
    audits: (type) =>
      gw.logs
        .map((l) => JSON.parse(l) as { audit?: Record<string, unknown> })
        .map((l) => l.audit)
        .filter((a): a is Record<string, unknown> => a?.type === type),
    async close() {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The approval_required refusal of `r`, with its id and link; asserts its shape. */
export function heldFor(r: Reply): { id: string; url: string } {
  assert.equal(r.status, 200, r.text);
  const error = r.responses.find((m) => m.error)?.error;
  assert.equal(error?.data?.error, 'approval_required', r.text);
  assert.equal(error?.code, -32003, r.text);
  const id = String(error?.data?.approvalId);
  const url = String(error?.data?.approvalUrl);
  assert.match(id, /^[A-Za-z0-9_-]{22}$/);
  assert.ok(url.endsWith(`/approvals/${id}`), url);
  assert.ok(error?.message.includes(url), 'the message carries the link');
  return { id, url };
}
