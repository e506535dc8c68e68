/**
 * Human approval (policy.approval) end to end, with the real filesystem server: a destructive call
 * (edit_file) is held until a person approves it — on the approval page in headless Chromium, with
 * the CLI, or reached through the webhook — runs exactly once, and a replay, other arguments or
 * another caller need a new approval; denial and expiry refuse it; every step is audited. Callers of
 * each kind: a 2025 session without URL elicitation (waits, then approval_required), the SDK client
 * with URL elicitation (elicitation/create on its session), and 2026-07-28 clients (input_required).
 */
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { verifyWebhook } from '../../src/policy/approval-webhook.js';
import { type ApprovalFixture, approvalFixture, heldFor, PASSWORDS } from '../helpers/approval.js';
import { basic } from '../helpers/auth.js';
import { launchTestBrowser, type TestBrowser } from '../helpers/browser.js';
import { captureSecrets } from '../helpers/capture.js';
import { INITIALIZE, post } from '../helpers/client.js';
import { eventually } from '../helpers/gateway.js';
import { call, sleep } from '../helpers/limits.js';
import { modernEnvelope, modernHeaders, responsesOf } from '../helpers/policy.js';

const SCREENSHOTS = process.env.PORTCULLIS_SCREENSHOTS ?? join(tmpdir(), 'portcullis-screenshots');
const WEBHOOK_SECRET = 'webhook-secret-0f3a9c1e5b7d2e4f6a8c0b1d3e5f7a9c';

describe('approval: the page, the CLI and a 2025 caller without URL elicitation', () => {
  let f: ApprovalFixture;
  let browser: TestBrowser;
  let receiver: Server;
  const deliveries: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as { port: number }).port;
    captureSecrets(WEBHOOK_SECRET);
    f = await approvalFixture(
      `{ rules: [{ class: destructive }], wait: 1s, ttl: 2m, webhook: { url: "http://127.0.0.1:${port}/hook", secret: "${WEBHOOK_SECRET}", allowPrivateAddress: true } }`,
    );
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    await f?.close();
    receiver?.close();
  });

  /** Signs in on the approval page at `url` as `user`; returns the page on the approval view. */
  async function signIn(url: string, user: keyof typeof PASSWORDS) {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const response = await tab.page.goto(url);
    assert.equal(response?.status(), 200);
    assert.match(
      await tab.page.locator('h1').innerText(),
      /Sign in to continue to the approval of files\.edit_file/,
    );
    await tab.page.getByLabel('User name').fill(user);
    await tab.page.getByLabel('Password').fill(PASSWORDS[user]);
    await tab.page.getByRole('button', { name: 'Sign in' }).click();
    await tab.page.locator('#tool').waitFor();
    return tab;
  }

  it('holds the call, alice approves it in the browser, and it runs exactly once', async () => {
    const headers = await f.session('app');
    const before = f.runs();
    const held = heldFor(await call(f.mcp, f.edit(), headers));
    assert.equal(f.runs(), before, 'the held call did not run');

    const tab = await signIn(held.url, 'alice');
    const { page } = tab;
    assert.equal(await page.locator('#tool').innerText(), 'edit_file');
    assert.equal(await page.locator('#upstream').innerText(), 'files');
    assert.equal(await page.locator('#caller').innerText(), 'app');
    assert.equal(await page.locator('#state').innerText(), 'pending');
    assert.match(await page.locator('#arguments').innerText(), /"oldText": "count:"/);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const shot = join(SCREENSHOTS, 'approval-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 20_000, `${shot} shows a rendered page, not a blank one`);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#outcome').waitFor();
    assert.match(await page.locator('h1').innerText(), /Approved/);
    assert.deepEqual(await tab.cspViolations(), [], 'the page keeps to its CSP');
    assert.deepEqual(tab.errors, []);

    const ran = await call(f.mcp, f.edit(4), headers);
    assert.ok(ran.responses[0]?.result, ran.text);
    assert.equal(f.runs(), before + 1, 'the approved call ran once');
    const replay = heldFor(await call(f.mcp, f.edit(5), headers));
    assert.notEqual(replay.id, held.id, 'a replay needs a new approval');
    assert.equal(f.runs(), before + 1);

    const approved = f.audits('approval.approved').find((e) => e.approvalId === held.id);
    assert.equal((approved?.approver as { id?: string } | undefined)?.id, 'basic:alice');
    assert.equal(f.audits('approval.used').filter((e) => e.approvalId === held.id).length, 1);
  });

  it('an approval is bound to its caller and its arguments', async () => {
    const app = await f.session('app');
    const held = heldFor(await call(f.mcp, f.edit(), app));
    assert.match(await f.cli('approve', held.id), /approved files.edit_file for app/);

    const other = heldFor(await call(f.mcp, f.edit(), await f.session('other')));
    assert.notEqual(other.id, held.id, 'another caller with the same arguments needs its own approval');
    const changed = {
      ...f.edit(6),
      params: {
        name: 'edit_file',
        arguments: { path: f.count, edits: [{ oldText: 'count:', newText: 'count:+', extra: 1 }] },
      },
    };
    const otherArgs = heldFor(await call(f.mcp, changed, app));
    assert.notEqual(otherArgs.id, held.id, 'other arguments need their own approval');

    const before = f.runs();
    const ran = await call(f.mcp, f.edit(7), app);
    assert.ok(ran.responses[0]?.result, 'the approval still serves the call it was given for');
    assert.equal(f.runs(), before + 1);
  });

  it('a denial refuses the call; the audit says who denied it', async () => {
    const app = await f.session('app');
    const held = heldFor(await call(f.mcp, f.edit(), app));
    assert.match(await f.cli('deny', held.id), /denied files.edit_file/);
    const before = f.runs();
    const again = heldFor(await call(f.mcp, f.edit(8), app));
    assert.notEqual(again.id, held.id, 'after a denial a retry asks anew');
    assert.equal(f.runs(), before);
    assert.match(await f.cli('list', '--status', 'denied'), new RegExp(held.id));
  });

  it('someone without the approve scope, and the caller themself, see the call but cannot decide it', async () => {
    const held = heldFor(await call(f.mcp, f.edit(), await f.session('app')));
    const bob = await signIn(held.url, 'bob');
    assert.match(
      await bob.page.locator('#notice').innerText(),
      /The user bob does not hold the scope tools:approve or files:approve/,
    );
    assert.equal(await bob.page.getByRole('button', { name: 'Approve' }).count(), 0);

    // alice calls herself (Basic credentials): she may not approve her own call.
    const mine = await post(f.mcp, INITIALIZE, { authorization: basic('alice', PASSWORDS.alice) });
    const session = {
      'mcp-session-id': mine.headers.get('mcp-session-id') as string,
      'mcp-protocol-version': '2025-11-25',
      authorization: basic('alice', PASSWORDS.alice),
    };
    const own = heldFor(await call(f.mcp, f.edit(), session));
    const alice = await signIn(own.url, 'alice');
    assert.match(
      await alice.page.locator('#notice').innerText(),
      /your own call: someone else must approve it/,
    );
    assert.equal(await alice.page.getByRole('button', { name: 'Approve' }).count(), 0);
    assert.match(await f.cli('list'), new RegExp(`${own.id}\\s+pending`));
  });

  it('shows the arguments redacted as the audit redacts them', async () => {
    const token = 'Bearer tok-5d1e8a7c3b9f2e6d4a0c8b7e1f3a5c9d';
    captureSecrets(token);
    const write = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: {
        name: 'write_file',
        arguments: { path: join(f.dir, 'note.txt'), content: `Authorization: ${token}` },
      },
    };
    const held = heldFor(await call(f.mcp, write, await f.session('app')));
    const tab = await browser.newPage();
    await tab.page.goto(held.url);
    await tab.page.getByLabel('User name').fill('alice');
    await tab.page.getByLabel('Password').fill(PASSWORDS.alice);
    await tab.page.getByRole('button', { name: 'Sign in' }).click();
    const shown = await tab.page.locator('#arguments').innerText();
    assert.match(shown, /\[REDACTED\]/);
    assert.ok(!shown.includes('tok-5d1e8a7c'), shown);
  });

  it('refuses a sign-in or a decision whose CSRF token is missing or forged', async () => {
    const held = heldFor(await call(f.mcp, f.edit(), await f.session('app')));
    const form = (fields: Record<string, string>, cookie?: string) =>
      fetch(`${f.gw.url}/approvals/${held.id}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
        body: new URLSearchParams(fields),
      });
    const noCookie = await form({ username: 'alice', password: PASSWORDS.alice, request_id: held.id });
    assert.equal(noCookie.status, 403);
    assert.match(await noCookie.text(), /csrf_cookie_missing/);
    const shown = await fetch(held.url);
    assert.equal(shown.status, 200);
    assert.match(shown.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(shown.headers.get('x-frame-options'), 'DENY');
    const cookie = (shown.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const forged = await form(
      { username: 'alice', password: PASSWORDS.alice, csrf_token: 'A'.repeat(64) },
      cookie,
    );
    assert.equal(forged.status, 403);
    assert.match(await forged.text(), /csrf_token_forged/);
    const decision = await fetch(`${f.gw.url}/approvals/${held.id}/decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ decision: 'approve', request_id: 'x', csrf_token: 'A'.repeat(64) }),
    });
    assert.equal(decision.status, 403);
    assert.match(await f.cli('list'), new RegExp(`${held.id}\\s+pending`), 'nothing was decided');
  });

  it('the webhook receives each request signed, with the link and no raw secret', async () => {
    const ofEdit = () =>
      deliveries.find((d) => (JSON.parse(d.body) as { tool?: string }).tool === 'edit_file');
    assert.ok(await eventually(() => ofEdit() !== undefined));
    const delivery = ofEdit() as (typeof deliveries)[number];
    const headers = {
      timestamp: delivery.headers['x-portcullis-timestamp'] as string,
      signature: delivery.headers['x-portcullis-signature'] as string,
    };
    assert.equal(verifyWebhook(WEBHOOK_SECRET, headers, delivery.body), true, 'the signature checks out');
    assert.equal(
      verifyWebhook(WEBHOOK_SECRET, headers, `${delivery.body} `),
      false,
      'a changed body does not',
    );
    assert.equal(verifyWebhook('another-secret-of-32-characters-long', headers, delivery.body), false);
    assert.equal(
      verifyWebhook(WEBHOOK_SECRET, headers, delivery.body, Number(headers.timestamp) + 301),
      false,
      'a replay after the window does not',
    );
    const payload = JSON.parse(delivery.body) as Record<string, unknown>;
    assert.equal(payload.type, 'approval.requested');
    assert.equal(payload.tool, 'edit_file');
    assert.match(String(payload.url), /\/approvals\/[A-Za-z0-9_-]{22}$/);
    assert.ok(!delivery.body.includes(WEBHOOK_SECRET));
  });
});

describe('approval: expiry is a denial', () => {
  let f: ApprovalFixture;
  before(async () => {
    f = await approvalFixture(
      '{ rules: [{ tools: ["files.edit_*"] }], wait: 1s, ttl: 2s }',
      'pcl-approval-ttl-',
    );
  });
  after(() => f?.close());

  it('a request no one decides expires, is audited, and cannot be approved or used', async () => {
    const app = await f.session('app');
    const held = heldFor(await call(f.mcp, f.edit(), app));
    assert.ok(
      await eventually(() => f.audits('approval.expired').some((e) => e.approvalId === held.id), 10_000),
    );
    await assert.rejects(f.cli('approve', held.id), /is expired already/);
    const again = heldFor(await call(f.mcp, f.edit(4), app));
    assert.notEqual(again.id, held.id);
    assert.equal(f.runs(), 0);
  });
});

describe('approval: callers that can be sent to the page', () => {
  let f: ApprovalFixture;
  before(async () => {
    f = await approvalFixture('{ rules: [{ class: destructive }], wait: 2s, ttl: 2m }', 'pcl-approval-ask-');
  });
  after(() => f?.close());

  /** A raw 2026-07-28 tools/call of key `name`, declaring URL elicitation unless told not to. */
  const modern = (body: Record<string, unknown>, url = true, name = 'app') => {
    const params = body.params as Record<string, unknown>;
    const envelope = {
      ...modernEnvelope(),
      'io.modelcontextprotocol/clientCapabilities': url ? { elicitation: { url: {} } } : {},
    };
    return post(
      f.mcp,
      { ...body, params: { ...params, _meta: envelope } },
      { ...modernHeaders('tools/call', 'edit_file'), ...f.keys.auth(name) },
    );
  };
  const resultOf = (r: { headers: Headers; text: string }): Record<string, unknown> => {
    const result = responsesOf(r)[0]?.result as Record<string, unknown> | undefined;
    assert.ok(result, r.text);
    return result;
  };

  it('2026-07-28: input_required with a URL elicitation; the retry runs once approved, once', async () => {
    const before = f.runs();
    const first = resultOf(await modern(f.edit()));
    assert.equal(first?.resultType, 'input_required');
    const input = (first.inputRequests as Record<string, { method: string; params: Record<string, string> }>)
      .approval;
    assert.equal(input?.method, 'elicitation/create');
    assert.equal(input?.params.mode, 'url');
    const id = input?.params.elicitationId as string;
    assert.ok(input?.params.url?.endsWith(`/approvals/${id}`));
    const state = first?.requestState as string;
    assert.equal(f.runs(), before);

    const retry = (s: string, action = 'accept', body = f.edit(4)) =>
      modern({
        ...body,
        params: { ...(body.params as object), requestState: s, inputResponses: { approval: { action } } },
      });
    const pending = resultOf(await retry(state));
    assert.equal(pending?.resultType, 'input_required', 'asked again while no one decided');

    await f.cli('approve', id);
    const ran = resultOf(await retry(state));
    assert.equal(ran?.resultType, 'complete', JSON.stringify(ran));
    assert.equal(f.runs(), before + 1);
    const replay = resultOf(await retry(state));
    assert.equal(replay?.resultType, 'input_required', 'the state does not run it twice');
    const next = (replay.inputRequests as Record<string, { params: Record<string, string> }>).approval;
    assert.notEqual(next?.params.elicitationId, id, 'a replay asks for a new approval');
    assert.equal(f.runs(), before + 1);

    const otherArgs = {
      ...f.edit(9),
      params: { name: 'edit_file', arguments: { path: f.count, edits: [] } },
    };
    const refused = responsesOf(await retry(state, 'accept', otherArgs))[0]?.error;
    assert.equal(refused?.data?.error, 'invalid_request_state', 'a state is not good for other arguments');
  });

  it('2026-07-28: a denial refuses the retry; a declined elicitation ends the call', async () => {
    const first = resultOf(await modern(f.edit()));
    const id = (first.inputRequests as Record<string, { params: Record<string, string> }>).approval?.params
      .elicitationId as string;
    const state = first?.requestState as string;
    const retry = (action: string) =>
      modern({
        ...f.edit(4),
        params: {
          ...(f.edit().params as object),
          requestState: state,
          inputResponses: { approval: { action } },
        },
      });
    const declined = responsesOf(await retry('decline'))[0]?.error;
    assert.equal(declined?.data?.error, 'approval_required');
    await f.cli('deny', id);
    const denied = responsesOf(await retry('accept'))[0]?.error;
    assert.equal(denied?.data?.error, 'approval_denied');
    assert.equal(denied?.code, -32603, 'the 2026 revision has no -32003');
  });

  it('2026-07-28 without URL elicitation: waits, then approval_required with the link', async () => {
    const error = responsesOf(await modern(f.edit(), false))[0]?.error;
    assert.equal(error?.data?.error, 'approval_required');
    assert.match(String(error?.data?.approvalUrl), /\/approvals\//);
  });

  it('2025 SDK client with URL elicitation: gets elicitation/create and the call runs once approved', async () => {
    const client = new Client(
      { name: 'url-client', version: '1' },
      { capabilities: { elicitation: { url: {} } } },
    );
    const seen: Record<string, unknown>[] = [];
    client.setRequestHandler('elicitation/create', async (request) => {
      seen.push(request.params as Record<string, unknown>);
      // The person approves once the client has opened the page.
      setTimeout(
        () => void f.cli('approve', String((request.params as { elicitationId: string }).elicitationId)),
        200,
      );
      return { action: 'accept' };
    });
    const transport = new StreamableHTTPClientTransport(new URL(f.mcp), {
      requestInit: { headers: f.keys.auth('app') },
    });
    await client.connect(transport);
    try {
      const before = f.runs();
      const edit = f.edit().params as { name: string; arguments: Record<string, unknown> };
      const result = await client.callTool(edit, { timeout: 30_000 });
      assert.ok(!result.isError, JSON.stringify(result));
      assert.equal(seen[0]?.mode, 'url');
      assert.match(String(seen[0]?.url), /\/approvals\/[A-Za-z0-9_-]{22}$/);
      assert.equal(f.runs(), before + 1);

      // A denial reaches the waiting call as a refusal.
      client.setRequestHandler('elicitation/create', async (request) => {
        setTimeout(
          () => void f.cli('deny', String((request.params as { elicitationId: string }).elicitationId)),
          200,
        );
        return { action: 'accept' };
      });
      const refused = await client.callTool(edit, { timeout: 30_000 }).then(
        () => undefined,
        (err: { code?: number; data?: { error?: string } }) => err,
      );
      assert.equal(refused?.data?.error, 'approval_denied');
      assert.equal(f.runs(), before + 1);
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
  });

  it('2025 SDK client without URL elicitation: waits, then approval_required', async () => {
    const client = new Client({ name: 'plain-client', version: '1' }, { capabilities: {} });
    const transport = new StreamableHTTPClientTransport(new URL(f.mcp), {
      requestInit: { headers: f.keys.auth('other') },
    });
    await client.connect(transport);
    try {
      const edit = f.edit().params as { name: string; arguments: Record<string, unknown> };
      const refused = await client.callTool(edit).then(
        () => undefined,
        (err: { data?: { error?: string; approvalUrl?: string } }) => err,
      );
      assert.equal(refused?.data?.error, 'approval_required');
      assert.match(String(refused?.data?.approvalUrl), /\/approvals\//);
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
    await sleep(0);
  });
});
