/**
 * What the soak does to the gateway, each a loop until told to stop: session churn (open, call,
 * abandon without DELETE), 2026-07-28 stateless calls, OAuth refreshes, upstream crashes (a stdio
 * child the admin API reports, killed), and bursts past a per-tool rate limit. Every request's
 * answer is entered in the audit ledger with the events it must have left.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { obtainCode, pkce, registerPublicClient, tokenRequest } from '../../test/helpers/oauth-flow.js';
import { ownSignalPerPost } from '../own-signal-fetch.js';
import type { AuditLedger, ExpectedType } from './ledger.js';

export interface Counters {
  sessions: number;
  sessionCalls: number;
  statelessCalls: number;
  refreshes: number;
  crashes: number;
  rateLimited: number;
  /** Failures the soak provokes (calls on a killed child) and any other: by message. */
  readonly errors: Map<string, number>;
}

export const newCounters = (): Counters => ({
  sessions: 0,
  sessionCalls: 0,
  statelessCalls: 0,
  refreshes: 0,
  crashes: 0,
  rateLimited: 0,
  errors: new Map(),
});

/** The MCP methods that get a policy decision (src/core/methods.ts: the ones with a target). */
const GOVERNED = new Set(['tools/call', 'prompts/get', 'resources/read', 'completion/complete']);

/** The events a request with this body and this answer must leave (see ledger.ts). */
function expectedFor(body: unknown, status: number): ExpectedType[] {
  if (status === 401 || status === 403) return [];
  const types: ExpectedType[] = ['auth.success'];
  if (status === 429) return [...types, 'rate_limit.refused'];
  const method = (typeof body === 'string' ? (JSON.parse(body) as { method?: string }) : undefined)?.method;
  if (method !== undefined && GOVERNED.has(method)) types.push('policy.decision');
  return types;
}

/** An OAuth grant for one MCP endpoint: its current access token, refreshed on demand. */
export class Grant {
  private constructor(
    readonly resource: string,
    private readonly issuer: string,
    private readonly clientId: string,
    public accessToken: string,
    private refreshToken: string,
  ) {}

  /** Registers a public client, signs alice in through the pages and redeems the code. */
  static async obtain(issuer: string, resource: string, ledger: AuditLedger): Promise<Grant> {
    const redirectUri = 'http://127.0.0.1:9/callback';
    const clientId = await registerPublicClient(issuer, redirectUri);
    const { verifier, challenge } = pkce();
    const { code } = await obtainCode(issuer, { clientId, redirectUri, resource, challenge });
    const { res, body } = await tokenRequest(issuer, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: clientId,
      resource,
    });
    if (!res.ok || !body.access_token || !body.refresh_token)
      throw new Error(`soak: the code was not redeemed: ${JSON.stringify(body)}`);
    ledger.expect(res, 'oauth.token');
    return new Grant(resource, issuer, clientId, body.access_token, body.refresh_token);
  }

  async refresh(ledger: AuditLedger): Promise<void> {
    const { res, body } = await tokenRequest(this.issuer, {
      grant_type: 'refresh_token',
      refresh_token: this.refreshToken,
      client_id: this.clientId,
      resource: this.resource,
    });
    if (!res.ok || !body.access_token || !body.refresh_token)
      throw new Error(`refresh refused: ${body.error ?? res.status}`);
    ledger.expect(res, 'oauth.token');
    this.accessToken = body.access_token;
    this.refreshToken = body.refresh_token;
  }
}

export interface SoakContext {
  readonly base: string;
  /** One grant per MCP endpoint (the stdio and the HTTP upstream). */
  readonly grants: readonly Grant[];
  readonly adminKey: string;
  readonly ledger: AuditLedger;
  readonly counters: Counters;
  readonly stopped: () => boolean;
}

function countError(ctx: SoakContext, err: unknown): void {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\d+/g, 'N').slice(0, 120);
  ctx.counters.errors.set(message, (ctx.counters.errors.get(message) ?? 0) + 1);
}

/** Waits `ms`, or less when the soak stops meanwhile (so the end is measured while sessions are live). */
async function pause(ctx: SoakContext, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!ctx.stopped() && Date.now() < until)
    await new Promise((resolve) => setTimeout(resolve, Math.min(250, until - Date.now())));
}

/** Runs `step` every `everyMs` until the soak stops; a failing step is counted and the loop goes on. */
export async function loop(ctx: SoakContext, everyMs: number, step: () => Promise<void>): Promise<void> {
  while (!ctx.stopped()) {
    const started = Date.now();
    await step().catch((err: unknown) => countError(ctx, err));
    await pause(ctx, everyMs - (Date.now() - started));
  }
}

/** The SDK transport's fetch: the grant's current token on every request, every answer in the ledger. */
function recordingFetch(ctx: SoakContext, grant: Grant) {
  return async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${grant.accessToken}`);
    const res = await ownSignalPerPost(url, { ...init, headers });
    ctx.ledger.expect(res, ...expectedFor(init?.body, res.status));
    return res;
  };
}

/** One session: initialize, tools/list, an echo, then dropped without DELETE (the idle timeout ends it). */
export async function churn(ctx: SoakContext, grant: Grant): Promise<void> {
  const client = new Client({ name: 'soak-churn', version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(grant.resource), {
    fetch: recordingFetch(ctx, grant),
  });
  try {
    await client.connect(transport);
    ctx.counters.sessions++;
    await client.listTools();
    await client.callTool({ name: 'echo', arguments: { message: 'soak' } });
    ctx.counters.sessionCalls++;
  } finally {
    // Closes the client's streams only: no DELETE, as a client that crashed or lost its network.
    await client.close().catch(() => {});
  }
}

const V2026 = '2026-07-28';

/** One 2026-07-28 request: no session, the envelope in _meta, mirrored in the headers. */
export async function stateless(
  ctx: SoakContext,
  grant: Grant,
  tool: string,
  args: object,
): Promise<Response> {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: {
      name: tool,
      arguments: args,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': V2026,
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/clientInfo': { name: 'soak', version: '1.0.0' },
      },
    },
  });
  const res = await fetch(grant.resource, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${grant.accessToken}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': V2026,
      'mcp-method': 'tools/call',
      'mcp-name': tool,
    },
    body,
  });
  const text = await res.text();
  ctx.ledger.expect(res, ...expectedFor(body, res.status));
  if (res.status === 429) ctx.counters.rateLimited++;
  else if (!res.ok) throw new Error(`stateless ${tool}: ${res.status} ${text.slice(0, 200)}`);
  else ctx.counters.statelessCalls++;
  return res;
}

/** Kills one stdio child the admin API reports (a crashed upstream, as the gateway sees it). */
export async function crashOne(ctx: SoakContext): Promise<void> {
  const res = await fetch(`${ctx.base}/admin/sessions`, {
    headers: { authorization: `Bearer ${ctx.adminKey}` },
  });
  const body = (await res.json()) as { sessions?: { pid?: number }[] };
  ctx.ledger.expect(res, ...expectedFor(undefined, res.status));
  if (!res.ok || !body.sessions) throw new Error(`admin sessions: ${res.status}`);
  const victim = body.sessions.find((s) => typeof s.pid === 'number');
  if (!victim?.pid) return;
  process.kill(victim.pid, 'SIGKILL');
  ctx.counters.crashes++;
}

/** Several calls at once to a tool with a small per-tool rate limit: some are refused with 429. */
export async function burst(ctx: SoakContext, grant: Grant, tool: string, size: number): Promise<void> {
  await Promise.all(
    Array.from({ length: size }, () =>
      stateless(ctx, grant, tool, { a: 1, b: 2 }).catch((err: unknown) => countError(ctx, err)),
    ),
  );
}
