/**
 * Helpers for the abuse-limit tests: a JSON-RPC call with its decoded answer, the refusals the
 * README promises asserted field by field, and a store of API keys in a temp dir.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeys } from '../../src/auth/api-keys.js';
import { loadServerSecret } from '../../src/store/server-secret.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { post } from './client.js';
import { type RpcMessage, responsesOf } from './policy.js';

/** JSON-RPC code of a refusal by a limit (src/limits/stages.ts). */
export const LIMITED = -32004;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The JSON-RPC responses of the answer (a JSON body or an SSE stream). */
  readonly responses: RpcMessage[];
  /** The single response's error, if the answer is one error. */
  readonly error: NonNullable<RpcMessage['error']> | undefined;
}

export async function call(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await post(url, body, headers);
  let responses: RpcMessage[] = [];
  try {
    responses = res.text === '' ? [] : responsesOf(res);
  } catch {
    // not JSON-RPC (an empty 202, a bare status)
  }
  const error = responses.length === 1 ? responses[0]?.error : undefined;
  return { status: res.status, headers: res.headers, text: res.text, responses, error };
}

/** A request that passes every limit and authentication and then needs a session: 400 session_required. */
export const TOOLS_LIST = { jsonrpc: '2.0', id: 7, method: 'tools/list' };

export function assertPassedLimits(r: Reply): void {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.error?.data?.error, 'session_required', r.text);
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

/** Asserts a 429 rate_limited refusal with every header and field the README promises; returns Retry-After. */
export function assertRateLimited(r: Reply, expected: Budget): number {
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
  return retryAfter;
}

export interface KeyStore {
  readonly dir: string;
  readonly db: string;
  readonly keys: Readonly<Record<string, string>>;
  /** Authorization header for the key named `name`. */
  auth(name: string): Record<string, string>;
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
  return {
    dir,
    db,
    keys,
    auth(name) {
      const key = keys[name];
      assert.ok(key, `no key named ${name}`);
      return { authorization: `Bearer ${key}` };
    },
  };
}

/** The parsed log lines whose message is `msg`. */
export function logLines(logs: readonly string[], msg: string): Record<string, unknown>[] {
  return logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === msg);
}
