/**
 * ApiKeys against a real SQLite store, with the clock injected: a key's record is read from the
 * store at most once per VERIFIED_KEY_TTL_MS, and revocation and expiry still hold — at once for a
 * revocation through the same instance, within the bound for one made elsewhere (the CLI).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiKeys, generateApiKey, VERIFIED_KEY_TTL_MS } from '../../src/auth/api-keys.js';
import { AuthError } from '../../src/auth/auth-error.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { ApiKeyStore, Store } from '../../src/store/store.js';

describe('ApiKeys.verify: the remembered record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-apikeys-'));
  const secret = randomBytes(32);
  let store: Store;
  let clock = 1_000_000;
  const now = () => clock;
  /** The gateway's instance, over a store that counts its reads. */
  let gateway: ApiKeys;
  let reads = 0;
  /** Another process on the same file (the CLI): its own instance and connection. */
  let cliStore: Store;
  let cli: ApiKeys;

  before(() => {
    store = openSqliteStore(join(dir, 'p.db'));
    const counted: ApiKeyStore = {
      ...store.apiKeys,
      findByHash: (hash) => {
        reads++;
        return store.apiKeys.findByHash(hash);
      },
    };
    gateway = new ApiKeys(counted, secret, now);
    cliStore = openSqliteStore(join(dir, 'p.db'));
    cli = new ApiKeys(cliStore.apiKeys, secret, now);
  });
  after(async () => {
    await gateway.close();
    await cli.close();
    await store.close();
    await cliStore.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const refusal = (message: string) => (err: unknown) =>
    err instanceof AuthError && err.code === 'invalid_token' && err.message === message;

  it('reads a key from the store once per VERIFIED_KEY_TTL_MS, however many requests use it', async () => {
    const { key, record } = await cli.create({ name: 'busy', scopes: ['tools:read'], expiresAt: null });
    reads = 0;
    const first = await gateway.verify(key);
    assert.deepEqual(first, {
      id: `api-key:${record.id}`,
      kind: 'api-key',
      name: 'busy',
      scopes: ['tools:read'],
      roles: [],
    });
    for (let i = 0; i < 50; i++) {
      clock += 10;
      assert.deepEqual(await gateway.verify(key), first);
    }
    assert.equal(reads, 1);
    clock += VERIFIED_KEY_TTL_MS;
    await gateway.verify(key);
    assert.equal(reads, 2, 'read again once the bound has passed');
  });

  it('refuses a key revoked elsewhere from VERIFIED_KEY_TTL_MS after its last read on', async () => {
    const { key, record } = await cli.create({ name: 'cut', scopes: ['*'], expiresAt: null });
    await gateway.verify(key);
    const readAt = clock;
    assert.equal(await cli.revoke(record.id), true);
    clock = readAt + VERIFIED_KEY_TTL_MS - 1;
    await gateway.verify(key); // the documented bound: still accepted within it
    clock = readAt + VERIFIED_KEY_TTL_MS;
    await assert.rejects(gateway.verify(key), refusal('the API key has been revoked'));
    clock += 1;
    await assert.rejects(gateway.verify(key), refusal('the API key has been revoked'));
  });

  it('refuses a key revoked through the same instance on its very next request', async () => {
    const { key, record } = await cli.create({ name: 'here', scopes: ['*'], expiresAt: null });
    await gateway.verify(key);
    assert.equal(await gateway.revoke(record.id), true);
    await assert.rejects(gateway.verify(key), refusal('the API key has been revoked'));
  });

  it('checks expiry on every request, remembered or not', async () => {
    const { key } = await cli.create({ name: 'brief', scopes: ['*'], expiresAt: clock + 500 });
    await gateway.verify(key);
    clock += 499;
    await gateway.verify(key);
    clock += 1;
    await assert.rejects(gateway.verify(key), refusal('the API key has expired'));
  });

  it('never remembers an unknown key: one stored a moment later works on its first request', async () => {
    const key = generateApiKey();
    await assert.rejects(gateway.verify(key), refusal('the API key is not known'));
    await cliStore.apiKeys.insert({
      id: 'key_0123456789ab',
      name: 'late',
      hash: cli.hash(key),
      scopes: ['*'],
      roles: [],
      createdAt: clock,
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    assert.equal((await gateway.verify(key)).name, 'late');
  });

  it('remembers by the HMAC under this secret: a key never verifies under another secret', async () => {
    const { key } = await cli.create({ name: 'mine', scopes: ['*'], expiresAt: null });
    await gateway.verify(key);
    const other = new ApiKeys(store.apiKeys, randomBytes(32), now);
    try {
      await assert.rejects(other.verify(key), refusal('the API key is not known'));
    } finally {
      await other.close();
    }
  });
});
