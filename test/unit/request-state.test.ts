/** The requestState codec: signed, bound to caller and upstream, and naming the instance that holds its call. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { GatewayError } from '../../src/core/errors.js';
import { RequestStateCodec } from '../../src/relay/modern/request-state.js';

const fleetKeys = { signing: randomBytes(32), route: randomBytes(32) };
const claims = { call: 'c1', principal: 'api-key:alice', upstream: 'everything' };
const refusal = (pattern: RegExp) => (err: unknown) =>
  err instanceof GatewayError && err.code === 'invalid_request_state' && pattern.test(err.message);

describe('RequestStateCodec', () => {
  it('opens its own state for the same caller and upstream, and says the call is here', async () => {
    const codec = new RequestStateCodec(60, fleetKeys, 'http://127.0.0.1:9001');
    const state = await codec.mint(claims);
    assert.deepEqual(await codec.owner(state), { here: true });
    assert.deepEqual(await codec.open(state, claims.principal, claims.upstream), claims);
    await assert.rejects(codec.open(state, 'api-key:bob', claims.upstream), refusal(/another caller/));
    await assert.rejects(codec.open(state, claims.principal, 'files'), refusal(/another caller/));
  });

  it('tells a peer sharing the keys where the call is parked, and does not open it there', async () => {
    const owner = new RequestStateCodec(60, fleetKeys, 'http://127.0.0.1:9001');
    const peer = new RequestStateCodec(60, fleetKeys, 'http://127.0.0.1:9002');
    const state = await owner.mint(claims);
    assert.deepEqual(await peer.owner(state), { here: false, route: 'http://127.0.0.1:9001' });
    await assert.rejects(peer.open(state, claims.principal, claims.upstream), refusal(/restarted/));
    const silent = new RequestStateCodec(60, fleetKeys);
    assert.deepEqual(await peer.owner(await silent.mint(claims)), { here: false });
  });

  it('refuses a state from a gateway with other keys, as altered', async () => {
    const other = new RequestStateCodec(60, { signing: randomBytes(32), route: randomBytes(32) });
    const codec = new RequestStateCodec(60, fleetKeys);
    const state = await other.mint(claims);
    await assert.rejects(codec.owner(state), refusal(/altered, has expired/));
  });
});

describe('config fleet.advertiseUrl', () => {
  const yaml = (fleet: string) =>
    `upstreams: { everything: { command: node } }\nauth: { none: true }\nfleet: ${fleet}\n`;
  const problem = (fleet: string) => {
    try {
      parseConfig(yaml(fleet), tmpdir(), {});
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail('accepted');
  };

  it('takes https, loopback http, or plain http to the one private host named', () => {
    for (const fleet of [
      '{ advertiseUrl: "https://gw-1.internal:8787" }',
      '{ advertiseUrl: "http://127.0.0.1:8787" }',
      '{ advertiseUrl: "http://gw-1.internal:8787", allowPrivateHost: gw-1.internal }',
    ])
      assert.doesNotThrow(() => parseConfig(yaml(fleet), tmpdir(), {}), fleet);
  });

  it('refuses plain http to another host, and a URL with a path, naming the fix', () => {
    assert.match(
      problem('{ advertiseUrl: "http://gw-1.internal:8787" }'),
      /^config: fleet\.advertiseUrl is plain http:\/\/ to gw-1\.internal — .*allowPrivateHost: gw-1\.internal/,
    );
    assert.match(
      problem('{ advertiseUrl: "https://gw-1.internal/mcp" }'),
      /^config: fleet\.advertiseUrl must be an origin without a path, like https:\/\/gw-1\.internal/,
    );
  });
});
