/** Helpers for the authentication tests: gateways that expose their bootstrap key, raw refusals, log leaks. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { captureSecrets } from './capture.js';
import { type Connected, INITIALIZE, post } from './client.js';
import { childPids } from './gateway.js';

export { recordingProxy, type Seen } from './recording-proxy.js';

export const CLI = resolve('dist/cli/main.js');

export { startTestGateway as startAuthGateway, type TestGateway as AuthGateway } from './gateway.js';

/** A fresh directory under the OS temp dir, removed by `cleanup`. */
export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The real SDK client, sending `headers` on every request. */
export async function connectWith(url: string, headers: Record<string, string>): Promise<Connected> {
  const client = new Client({ name: 'portcullis-auth-test', version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  return {
    client,
    transport,
    async close() {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

/** Connects with `headers`, calls echo, and closes: proves the credential is accepted end to end. */
export async function echoWith(url: string, headers: Record<string, string>, message = 'hi'): Promise<void> {
  const c = await connectWith(url, headers);
  try {
    const result = await c.client.callTool({ name: 'echo', arguments: { message } });
    assert.deepEqual(result.content, [{ type: 'text', text: `Echo: ${message}` }]);
  } finally {
    await c.close();
  }
}

export interface Refusal {
  readonly status: number;
  readonly headers: Headers;
  readonly code: string | undefined;
  readonly message: string;
  readonly text: string;
}

/** A raw initialize POST (what the SDK sends first), decoded. */
export async function initialize(
  url: string,
  headers: Record<string, string> = {},
  body: unknown = INITIALIZE,
): Promise<Refusal> {
  const res = await post(url, body, headers);
  let code: string | undefined;
  let message = '';
  try {
    const parsed = res.json() as { error?: { message?: string; data?: { error?: string } } };
    code = parsed.error?.data?.error;
    message = parsed.error?.message ?? '';
  } catch {
    // an SSE answer to a successful initialize
  }
  return { status: res.status, headers: res.headers, code, message, text: res.text };
}

/** Asserts an exact refusal: status, error.data.error and a fragment of the message. */
export function assertRefusal(r: Refusal, status: number, code: string, fragment: string | RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.code, code, r.text);
  if (typeof fragment === 'string') assert.ok(r.message.includes(fragment), `${r.message} ∌ ${fragment}`);
  else assert.match(r.message, fragment);
}

/** The RFC 6750 challenge a refused credential gets. */
export function bearerChallenge(metadata: string, code: string, description: string): string {
  const escaped = description.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '-');
  return `Bearer error="${code}", error_description="${escaped}", resource_metadata="${metadata}"`;
}

export async function readySessions(base: string): Promise<number> {
  const body = (await (await fetch(`${base}/readyz`)).json()) as { sessions: number };
  return body.sessions;
}

/** Runs `work` and asserts that it started no upstream process and opened no session. */
export async function assertNoUpstreamContact(
  gw: { url: string; logs: readonly string[] },
  work: () => Promise<void>,
): Promise<void> {
  const pids = childPids(gw.logs).length;
  const sessions = await readySessions(gw.url);
  await work();
  assert.equal(childPids(gw.logs).length, pids, 'no upstream process was started');
  assert.equal(await readySessions(gw.url), sessions, 'no session was opened');
}

/** Runs the built CLI. */
export function cli(args: readonly string[], input?: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
    ...(input !== undefined ? { input } : {}),
    timeout: 20_000,
  });
}

/** Every secret a test file used, and every log line its gateways wrote: none may contain any of them. */
export class LeakWatch {
  private readonly secrets = new Set<string>();
  private readonly sources: { name: string; lines: () => readonly string[] }[] = [];

  secret(...values: (string | undefined)[]): void {
    for (const v of values) if (v) this.secrets.add(v);
    captureSecrets(...values);
  }

  watch(name: string, lines: readonly string[] | (() => readonly string[])): void {
    this.sources.push({ name, lines: typeof lines === 'function' ? lines : () => lines });
  }

  /**
   * Asserts that some lines were captured and that none contains a secret, as is, JSON-escaped or
   * lower-cased. Every leak found is listed in the failure.
   */
  assertClean(): void {
    const lines = this.sources.flatMap((s) => s.lines().map((line) => ({ source: s.name, line })));
    assert.ok(lines.length > 0, 'some log lines were captured');
    assert.ok(this.secrets.size > 0, 'some secrets were recorded');
    const leaks: string[] = [];
    for (const secret of this.secrets) {
      const forms = [...new Set([secret, JSON.stringify(secret).slice(1, -1)])].map((f) => f.toLowerCase());
      for (const { source, line } of lines) {
        const lower = line.toLowerCase();
        if (forms.some((form) => lower.includes(form))) {
          leaks.push(`${source} logged a secret (${secret.slice(0, 6)}…): ${line.trim()}`);
        }
      }
    }
    assert.deepEqual(leaks, []);
  }

  get size(): number {
    return this.secrets.size;
  }
}

export function basic(user: string, password: string): string {
  captureSecrets(password);
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * Proves a credential passes authentication without starting an upstream: a request that needs a
 * session, sent without one, gets past authentication and is refused by the relay (400 session_required).
 */
export async function assertAuthenticated(url: string, headers: Record<string, string>): Promise<void> {
  const r = await initialize(url, headers, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.code, 'session_required', r.text);
}
