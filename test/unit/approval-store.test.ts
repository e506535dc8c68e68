/** The approvals sub-store (SQLite, migration 6): open requests by binding, one decision, one use. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { ApprovalBinding, ApprovalRecord, Store } from '../../src/store/store.js';

const T0 = 1_800_000_000_000;
const binding: ApprovalBinding = {
  principalId: 'api-key:key_1',
  upstream: 'files',
  tool: 'write_file',
  argumentsHash: 'a'.repeat(64),
  policyVersion: 'p'.repeat(64),
};
const request = (id: string, extra: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  ...binding,
  id,
  principalName: 'ci',
  argumentsShown: '{}',
  status: 'pending',
  createdAt: T0,
  expiresAt: T0 + 60_000,
  decidedAt: null,
  decidedBy: null,
  usedAt: null,
  ...extra,
});

describe('sqlite approval store', () => {
  let dir: string;
  let store: Store;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-approvals-'));
    store = openSqliteStore(join(dir, 'p.db'));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the open request of a binding, and nothing for any other binding', async () => {
    await store.approvals.create(request('r1'));
    assert.equal((await store.approvals.findOpen(binding, T0 + 1))?.id, 'r1');
    for (const other of [
      { principalId: 'api-key:key_2' },
      { upstream: 'db' },
      { tool: 'move_file' },
      { argumentsHash: 'b'.repeat(64) },
      { policyVersion: 'q'.repeat(64) },
    ])
      assert.equal(
        await store.approvals.findOpen({ ...binding, ...other }, T0 + 1),
        undefined,
        JSON.stringify(other),
      );
    assert.equal(await store.approvals.findOpen(binding, T0 + 60_000), undefined, 'not once expired');
  });

  it('decides a pending request once; a second decision changes nothing', async () => {
    assert.equal(await store.approvals.decide('r1', 'approved', 'basic:alice', T0 + 2, T0 + 120_000), true);
    assert.equal(await store.approvals.decide('r1', 'denied', 'basic:bob', T0 + 3, T0 + 120_000), false);
    const record = await store.approvals.get('r1');
    assert.equal(record?.status, 'approved');
    assert.equal(record?.decidedBy, 'basic:alice');
    assert.equal(record?.expiresAt, T0 + 120_000, 'usable for the ttl after the decision');
    assert.equal(await store.approvals.decide('nope', 'approved', 'basic:alice', T0, T0), false);
  });

  it('is used exactly once even when many callers race for it', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 20 }, () => store.approvals.consume('r1', binding, T0 + 4)),
    );
    assert.equal(attempts.filter(Boolean).length, 1);
    assert.equal((await store.approvals.get('r1'))?.usedAt, T0 + 4);
    assert.equal(await store.approvals.findOpen(binding, T0 + 5), undefined, 'a used approval is not open');
  });

  it('is used exactly once across two connections to the same file', async () => {
    await store.approvals.create(request('r2', { status: 'approved', expiresAt: T0 + 60_000 }));
    const second = openSqliteStore(join(dir, 'p.db'));
    try {
      const results = await Promise.all([
        store.approvals.consume('r2', binding, T0 + 1),
        second.approvals.consume('r2', binding, T0 + 1),
      ]);
      assert.deepEqual(results.filter(Boolean), [true]);
    } finally {
      await second.close();
    }
  });

  it('refuses a use bound to anything else, unapproved, or after expiry', async () => {
    await store.approvals.create(request('r3', { status: 'approved' }));
    assert.equal(
      await store.approvals.consume('r3', { ...binding, argumentsHash: 'c'.repeat(64) }, T0 + 1),
      false,
    );
    assert.equal(
      await store.approvals.consume('r3', { ...binding, principalId: 'basic:mallory' }, T0 + 1),
      false,
    );
    assert.equal(await store.approvals.consume('r3', binding, T0 + 60_000), false, 'expired');
    await store.approvals.create(request('r4'));
    assert.equal(await store.approvals.consume('r4', binding, T0 + 1), false, 'pending');
    await store.approvals.create(request('r5', { status: 'denied' }));
    assert.equal(await store.approvals.consume('r5', binding, T0 + 1), false, 'denied');
  });

  it('expires pending and unused approved requests once, and returns them', async () => {
    const expired = await store.approvals.expire(T0 + 60_000);
    assert.deepEqual(expired.map((r) => r.id).sort(), ['r3', 'r4']);
    assert.equal((await store.approvals.get('r4'))?.status, 'expired');
    assert.deepEqual(await store.approvals.expire(T0 + 60_000), [], 'each is expired once');
    assert.equal(await store.approvals.decide('r4', 'approved', 'basic:alice', T0 + 1, T0 + 2), false);
    assert.deepEqual((await store.approvals.list('expired')).map((r) => r.id).sort(), ['r3', 'r4']);
    assert.equal((await store.approvals.list()).length, 5);
  });
});
