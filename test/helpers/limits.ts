/**
 * Helpers for the abuse-limit and hardening tests: a gateway config that authenticates with a
 * store of API keys in a temp dir, JSON-RPC calls with their decoded (and timed) answers, the
 * refusals the README promises asserted field by field, and a raw socket for slow or malformed HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeys } from '../../src/auth/api-keys.js';
import { loadServerSecret } from '../../src/store/server-secret.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { captureSecrets } from './capture.js';
import { post } from './client.js';
import type { TestGateway } from './gateway.js';
import { type RpcMessage, responsesOf } from './policy.js';

/** JSON-RPC code of a refusal by a limit (src/limits/stages.ts). */
export const LIMITED = -32004;
/** The protocol version of the raw sessions these tests open. */
export const PROTOCOL = '2025-11-25';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The JSON-RPC responses of the answer (a JSON body or an SSE stream). */
  readonly responses: RpcMessage[];
  /** The single response's error, if the answer is one error. */
  readonly error: NonNullable<RpcMessage['error']> | undefined;
  /** Milliseconds from sending to the end of the answer. */
  readonly ms: number;
}

export async function call(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const started = performance.now();
  const res = await post(url, body, headers);
  const ms = performance.now() - started;
  let responses: RpcMessage[] = [];
  try {
    responses = res.text === '' ? [] : responsesOf(res);
  } catch {
    // not JSON-RPC (an empty 202, a bare status)
  }
  const error = responses.length === 1 ? responses[0]?.error : undefined;
  return { status: res.status, headers: res.headers, text: res.text, responses, error, ms };
}

/** A request that passes every limit and authentication and then needs a session: 400 session_required. */
export const TOOLS_LIST = { jsonrpc: '2.0', id: 7, method: 'tools/list' };

export const ping = (id: number) => ({ jsonrpc: '2.0', id, method: 'ping' });

export const toolCall = (id: number, name: string, args: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

/** The headers of a request in raw session `session`, with `extra` (a credential, X-Forwarded-For). */
export function sessionHeaders(session: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL, ...extra };
}

/** Ends a session with DELETE (`headers` name it and carry the credential); asserts it was ended. */
export async function endSession(url: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { method: 'DELETE', headers });
  assert.equal(res.status, 200, await res.text());
}

export function assertPassedLimits(r: Reply): void {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.error?.data?.error, 'session_required', r.text);
}

/** Asserts a 200 answer that holds a result for request `id`; returns that result. */
export function assertResult(r: Reply, id: number): Record<string, unknown> {
  assert.equal(r.status, 200, r.text);
  const answer = r.responses.find((m) => m.id === id);
  assert.ok(answer?.result, `a result for id ${id}: ${r.text}`);
  return answer.result;
}

export interface Budget {
  readonly budget: string;
  readonly points: number;
  readonly seconds: number;
  /** The words of the message between "too many requests" and the colon. */
  readonly what: string;
}

export const ipBudget = (points: number, seconds: number): Budget => ({
  budget: 'ip',
  points,
  seconds,
  what: 'from this address',
});

export const principalBudget = (points: number, seconds: number): Budget => ({
  budget: 'principal',
  points,
  seconds,
  what: 'for this caller',
});

/** The budget of limits.tools[`tool`] ("upstream.tool"), kept per principal. */
export const toolBudget = (tool: string, points: number, seconds: number): Budget => ({
  budget: `tool:${tool}`,
  points,
  seconds,
  what: `to ${tool} for this caller`,
});

/**
 * Asserts a 429 rate_limited refusal with every header and field the README promises; returns
 * Retry-After. With `id` (null included), the refusal must also answer that request id.
 */
export function assertRateLimited(r: Reply, expected: Budget & { readonly id?: unknown }): number {
  assert.equal(r.status, 429, r.text);
  assert.equal(r.error?.code, LIMITED, r.text);
  const data = r.error?.data ?? {};
  assert.equal(data.error, 'rate_limited', r.text);
  assert.equal(data.limit, expected.budget, r.text);
  const retryAfter = Number(r.headers.get('retry-after'));
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= expected.seconds,
    `Retry-After ${r.headers.get('retry-after')} within the ${expected.seconds} s window`,
  );
  assert.equal(data.retryAfter, retryAfter, 'error.data.retryAfter matches Retry-After');
  assert.equal(
    r.headers.get('ratelimit-policy'),
    `"${expected.budget}";q=${expected.points};w=${expected.seconds}`,
  );
  assert.equal(r.headers.get('ratelimit'), `"${expected.budget}";r=0;t=${retryAfter}`);
  assert.equal(
    r.error?.message,
    `too many requests ${expected.what}: the limit is ${expected.points} per ${expected.seconds} s — retry in ${retryAfter} s`,
  );
  if ('id' in expected) assert.equal(r.responses[0]?.id, expected.id, 'the refusal answers the request id');
  return retryAfter;
}

export interface KeyStore {
  readonly dir: string;
  readonly db: string;
  readonly keys: Readonly<Record<string, string>>;
  /** Authorization header for the key named `name`. */
  auth(name: string): Record<string, string>;
  /** Headers of a request from client `ip` (X-Forwarded-For), with the key named `name` if given. */
  from(ip: string, name?: string): Record<string, string>;
}

/** A fresh store in a temp dir holding one API key (all scopes) per name. */
export async function keyStore(names: readonly string[], prefix = 'pcl-limits-'): Promise<KeyStore> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const db = join(dir, 'p.db');
  const store = openSqliteStore(db);
  const apiKeys = new ApiKeys(store.apiKeys, loadServerSecret(undefined, db));
  const keys: Record<string, string> = {};
  for (const name of names) keys[name] = (await apiKeys.create({ name, scopes: ['*'], expiresAt: null })).key;
  await apiKeys.close();
  await store.close();
  // The suite-wide leak check (npm test) looks for these in every log line and audit record.
  captureSecrets(...Object.values(keys));
  const auth = (name: string) => {
    const key = keys[name];
    assert.ok(key, `no key named ${name}`);
    return { authorization: `Bearer ${key}` };
  };
  return {
    dir,
    db,
    keys,
    auth,
    from: (ip, name) => ({ 'x-forwarded-for': ip, ...(name === undefined ? {} : auth(name)) }),
  };
}

export interface KeyedGatewayOptions {
  /** listen.host (127.0.0.1 unless given). */
  readonly host?: string;
  /** More fields of `listen`, each with its leading comma: ", trustedProxies: [127.0.0.1]". */
  readonly listen?: string;
  /** More fields of `store`, each with its leading comma: ', redis: "redis://…"'. */
  readonly store?: string;
}

/**
 * YAML for a gateway on port 0 that authenticates with the API keys in store `db`, in front of
 * `upstreams`; `rest` is appended (limits, publicUrl, …).
 */
export function keyedGatewayYaml(
  db: string,
  upstreams: string,
  rest = '',
  options: KeyedGatewayOptions = {},
): string {
  return [
    `listen: { host: ${options.host ?? '127.0.0.1'}, port: 0${options.listen ?? ''} }`,
    `store: { sqlite: ${JSON.stringify(db)}${options.store ?? ''} }`,
    'auth: { apiKeys: {} }',
    'upstreams:',
    upstreams,
    rest,
  ].join('\n');
}

/** What /readyz reports (its status, where limits are held, open sessions); asserts it answers 200. */
export async function readyz(gw: TestGateway): Promise<{ status: string; limits: string; sessions: number }> {
  const res = await fetch(`${gw.url}/readyz`);
  assert.equal(res.status, 200);
  return (await res.json()) as { status: string; limits: string; sessions: number };
}

/** The parsed log lines whose message is `msg`. */
export function logLines(logs: readonly string[], msg: string): Record<string, unknown>[] {
  return logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === msg);
}

export interface RawExchange {
  /** Everything the gateway sent back, as latin1 text. */
  readonly response: string;
  /** When the gateway closed the connection, in ms from connecting; undefined if it did not. */
  readonly closedAfterMs: number | undefined;
}

/**
 * Opens a raw TCP connection to 127.0.0.1:`port`, writes `head`, then one character of `trickle`
 * every `everyMs`; resolves with what came back once the gateway closes the connection, or after
 * `giveUpMs` whatever happens.
 */
export function rawExchange(
  port: number,
  head: string,
  trickle = '',
  { everyMs = 300, giveUpMs = 3000 } = {},
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = netConnect(port, '127.0.0.1');
    let response = '';
    let closedAfterMs: number | undefined;
    let i = 0;
    const timer = setInterval(() => {
      if (i < trickle.length && socket.writable) socket.write(trickle[i++] as string);
    }, everyMs);
    socket.on('data', (d: Buffer) => {
      response += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closedAfterMs = Date.now() - started;
      finish();
    });
    const deadline = setTimeout(() => finish(), giveUpMs);
    const finish = () => {
      clearInterval(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ response, closedAfterMs });
    };
    socket.write(head);
  });
}
