/**
 * The translator between a 2025 client session and a 2026-07-28 upstream: the envelope every
 * forwarded request carries, initialize from discovery, results a 2025 client may see, list_changed
 * listening, input round retries, and subscription ids removed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { META, SESSION_REVISIONS } from '../../src/core/revisions.js';
import {
  envelopeOf,
  initializeResultOf,
  legacyResult,
  listChangedFilter,
  retryParams,
  untagged,
} from '../../src/relay/modern/adapter-translate.js';

describe('adapter translator: 2025 client session, 2026-07-28 upstream', () => {
  it('sends the session’s capabilities, client info and log level with every request, without tasks', () => {
    const envelope = envelopeOf({
      clientCapabilities: { sampling: {}, tasks: { list: {} } },
      clientInfo: { name: 'inspector', version: '1' },
      logLevel: 'debug',
    });
    assert.deepEqual(envelope, {
      [META.protocolVersion]: '2026-07-28',
      [META.clientCapabilities]: { sampling: {} },
      [META.clientInfo]: { name: 'inspector', version: '1' },
      [META.logLevel]: 'debug',
    });
    const bare = envelopeOf({ clientCapabilities: {}, clientInfo: undefined, logLevel: undefined });
    assert.deepEqual(Object.keys(bare).sort(), [META.clientCapabilities, META.protocolVersion].sort());
  });

  it('answers initialize with the client’s revision when the gateway speaks it, else its newest', () => {
    const discovered = {
      capabilities: { tools: { listChanged: true } },
      instructions: 'hello',
      _meta: { [META.serverInfo]: { name: 'up', version: '2' } },
    };
    const known = SESSION_REVISIONS.at(-1) as string;
    assert.deepEqual(initializeResultOf(known, discovered, 'files'), {
      protocolVersion: known,
      capabilities: { tools: { listChanged: true } },
      serverInfo: { name: 'up', version: '2' },
      instructions: 'hello',
    });
    const unknown = initializeResultOf('1999-01-01', {}, 'files');
    assert.equal(unknown.protocolVersion, SESSION_REVISIONS[0]);
    assert.deepEqual(
      unknown.serverInfo,
      { name: 'files', version: 'unknown' },
      'no serverInfo: the upstream’s name',
    );
    assert.deepEqual(unknown.capabilities, {});
  });

  it('removes resultType and cache hints a 2025 client does not know', () => {
    assert.deepEqual(
      legacyResult({
        tools: [],
        resultType: 'complete',
        ttlMs: 5000,
        cacheScope: 'private',
        nextCursor: 'c',
      }),
      { tools: [], nextCursor: 'c' },
    );
  });

  it('listens only for the list_changed notifications the upstream declares', () => {
    assert.deepEqual(
      listChangedFilter({ tools: { listChanged: true }, prompts: {}, resources: { listChanged: true } }),
      { toolsListChanged: true, resourcesListChanged: true },
    );
    assert.deepEqual(listChangedFilter({}), {});
  });

  it('retries a round with the client’s answers and the upstream’s requestState echoed untouched', () => {
    const round = { resultType: 'input_required', requestState: 'opaque.state', inputRequests: {} };
    assert.deepEqual(retryParams(round, [['a', { roots: [] }]]), {
      inputResponses: { a: { roots: [] } },
      requestState: 'opaque.state',
    });
    assert.deepEqual(retryParams({ resultType: 'input_required' }, []), {}, 'a shed round retries as it was');
  });

  it('delivers a listen stream’s notification without its subscription id, keeping other _meta', () => {
    const message = {
      jsonrpc: '2.0' as const,
      method: 'notifications/resources/updated',
      params: { uri: 'a://1', _meta: { [META.subscriptionId]: 3, trace: 'x' } },
    };
    assert.deepEqual(untagged(message).params, { uri: 'a://1', _meta: { trace: 'x' } });
    const plain = { jsonrpc: '2.0' as const, method: 'notifications/message', params: { level: 'info' } };
    assert.equal(untagged(plain), plain);
  });
});
