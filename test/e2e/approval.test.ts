/**
 * Human approval (policy.approval) end to end, with the real filesystem server: a destructive call
 * is held until a person approves it, runs exactly once, and a replay, other arguments or another
 * caller need a new approval; denial and expiry refuse it; every step is audited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApprovalFixture, approvalFixture, heldFor } from '../helpers/approval.js';
import { call } from '../helpers/limits.js';

describe('approval: a caller that cannot be sent to the page (plain wait) and the CLI', () => {
  let f: ApprovalFixture;
  before(async () => {
    f = await approvalFixture('{ rules: [{ class: destructive }], wait: 1s, ttl: 2m }');
  });
  after(() => f?.close());

  it('holds the call, runs it once after approvals approve, and needs a new approval for a replay', async () => {
    const headers = await f.session('app');
    const held = heldFor(await call(f.mcp, f.edit(), headers));
    assert.equal(f.runs(), 0, 'the held call did not run');
    assert.match(await f.cli('list'), new RegExp(`${held.id}\\s+pending\\s+app\\s+files.edit_file`));

    assert.match(await f.cli('approve', held.id), /approved files.edit_file for app/);
    const ran = await call(f.mcp, f.edit(4), headers);
    assert.ok(ran.responses[0]?.result, ran.text);
    assert.equal(f.runs(), 1, 'the approved call ran once');

    const replay = heldFor(await call(f.mcp, f.edit(5), headers));
    assert.notEqual(replay.id, held.id, 'a replay needs a new approval');
    assert.equal(f.runs(), 1);
    assert.match(await f.cli('list', '--all'), new RegExp(`${held.id}\\s+used`));

    const requested = f.audits('approval.requested').find((e) => e.approvalId === held.id);
    assert.ok(requested, 'requested is audited');
    assert.equal(requested.upstream, 'files');
    assert.equal(requested.tool, 'edit_file');
    assert.match(String(requested.argumentsHash), /^[0-9a-f]{64}$/);
    assert.equal(
      (f.audits('approval.used') as { approvalId?: string }[]).filter((e) => e.approvalId === held.id).length,
      1,
    );
  });

  it('leaves read-only calls alone', async () => {
    const headers = await f.session('app');
    const r = await call(
      f.mcp,
      {
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'list_allowed_directories', arguments: {} },
      },
      headers,
    );
    assert.ok(r.responses[0]?.result, r.text);
  });
});
