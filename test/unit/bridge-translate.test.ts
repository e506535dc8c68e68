/**
 * The translator between a 2026-07-28 client and a 2025 upstream session: the params a 2025 server
 * gets, the answers a 2026 client gets, input rounds both ways, and what a listen stream receives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonRpcNotification, JsonRpcRequest } from '../../src/core/jsonrpc.js';
import { META } from '../../src/core/revisions.js';
import { VERSION } from '../../src/core/version.js';
import {
  acknowledgement,
  answerHere,
  answerOutsideACall,
  clientAnswer,
  discoveryOf,
  identityOf,
  initializeRequest,
  inputRequestsOf,
  levelAtLeast,
  listenFilter,
  missingCapability,
  type PendingInput,
  taggedFor,
  upstreamAnswers,
  upstreamParams,
  wantedBy,
} from '../../src/relay/modern/bridge-translate.js';

const cache = { maxTtlMs: 60_000 };
const serverRequest = (method: string, params?: Record<string, unknown>): JsonRpcRequest => ({
  jsonrpc: '2.0',
  id: 9,
  method,
  ...(params ? { params } : {}),
});
const notification = (method: string, params?: Record<string, unknown>): JsonRpcNotification => ({
  jsonrpc: '2.0',
  method,
  ...(params ? { params } : {}),
});

describe('bridge translator: 2026-07-28 client, 2025 upstream', () => {
  it('initializes upstream as a 2025-11-25 client declaring what it can bridge, with our version', () => {
    const init = initializeRequest();
    assert.equal(init.method, 'initialize');
    assert.equal(init.params?.protocolVersion, '2025-11-25');
    assert.deepEqual(Object.keys(init.params?.capabilities as object).sort(), [
      'elicitation',
      'roots',
      'sampling',
    ]);
    assert.deepEqual(init.params?.clientInfo, { name: 'portcullis-bridge', version: VERSION });
  });

  it('discovery names the 2026 revisions, drops 2025 task support, and carries serverInfo in _meta', () => {
    const identity = identityOf({
      protocolVersion: '2025-11-25',
      capabilities: { tools: {}, tasks: { list: {} } },
      serverInfo: { name: 'up', version: '1' },
      instructions: 'be nice',
    });
    const result = discoveryOf(identity, cache);
    assert.deepEqual(result.supportedVersions, ['2026-07-28']);
    assert.deepEqual(result.capabilities, { tools: {} });
    assert.equal(result.instructions, 'be nice');
    assert.deepEqual((result._meta as Record<string, unknown>)[META.serverInfo], {
      name: 'up',
      version: '1',
    });
    assert.equal(result.resultType, 'complete');
  });

  it('strips the 2026 envelope and MRTR fields before a request goes to a 2025 upstream', () => {
    const params = upstreamParams({
      name: 'echo',
      arguments: { message: 'hi' },
      requestState: 'opaque',
      inputResponses: { a: {} },
      _meta: { 'io.modelcontextprotocol/clientInfo': { name: 'c' }, progressToken: 'p1' },
    });
    assert.deepEqual(params, { name: 'echo', arguments: { message: 'hi' }, _meta: { progressToken: 'p1' } });
    assert.deepEqual(upstreamParams({ _meta: { 'io.modelcontextprotocol/logLevel': 'info' } }), {});
    assert.equal(upstreamParams(undefined), undefined);
  });

  it('answers the client under its own id: results stamped complete, errors in codes 2026 allows', () => {
    const ok = clientAnswer('tools/call', { jsonrpc: '2.0', id: 5, result: { content: [] } }, 'c1', cache);
    assert.deepEqual(ok, { jsonrpc: '2.0', id: 'c1', result: { content: [], resultType: 'complete' } });
    const notFound = clientAnswer(
      'resources/read',
      { jsonrpc: '2.0', id: 5, error: { code: -32002, message: 'no such resource' } },
      'c1',
      cache,
    );
    assert.ok('error' in notFound);
    assert.equal(notFound.error.code, -32602, '-32002 is retired in 2026-07-28');
    const list = clientAnswer('tools/list', { jsonrpc: '2.0', id: 5, result: { tools: [] } }, 1, cache);
    assert.ok('result' in list);
    assert.equal(list.result.cacheScope, 'private', 'a filtered list is never shared between users');
  });

  it('asks for a server request only when the client declared the capability it needs', () => {
    assert.equal(missingCapability(serverRequest('sampling/createMessage'), {}), 'sampling');
    assert.equal(missingCapability(serverRequest('sampling/createMessage'), { sampling: {} }), undefined);
    assert.equal(missingCapability(serverRequest('roots/list'), {}), 'roots');
    assert.equal(missingCapability(serverRequest('elicitation/create'), {}), 'elicitation');
    assert.equal(missingCapability(serverRequest('elicitation/create'), { elicitation: {} }), undefined);
    const url = serverRequest('elicitation/create', { mode: 'url' });
    assert.equal(missingCapability(url, { elicitation: { form: {} } }), 'elicitation.url');
    assert.equal(missingCapability(url, { elicitation: { url: {} } }), undefined);
    assert.equal(
      missingCapability(serverRequest('elicitation/create'), { elicitation: { url: {} } }),
      'elicitation.form',
    );
    assert.equal(missingCapability(serverRequest('tasks/get'), { sampling: {} }), 'tasks/get');
  });

  it('answers ping itself, anything outside a call, and a request the client cannot take; asks otherwise', () => {
    assert.deepEqual(answerHere(serverRequest('ping'), { sampling: {} }), {
      jsonrpc: '2.0',
      id: 9,
      result: {},
    });
    assert.deepEqual(answerHere(serverRequest('ping'), undefined), { jsonrpc: '2.0', id: 9, result: {} });
    assert.deepEqual(
      answerHere(serverRequest('roots/list'), undefined),
      answerOutsideACall(serverRequest('roots/list')),
    );
    const refused = answerHere(serverRequest('sampling/createMessage'), { roots: {} });
    assert.ok(refused && 'error' in refused);
    assert.match(refused.error.message, /did not declare the sampling capability/);
    assert.equal(answerHere(serverRequest('sampling/createMessage'), { sampling: {} }), undefined);
  });

  it('answers a server request outside any call: no roots, and method not found for the rest', () => {
    assert.deepEqual(answerOutsideACall(serverRequest('roots/list')), {
      jsonrpc: '2.0',
      id: 9,
      result: { roots: [] },
    });
    const sampling = answerOutsideACall(serverRequest('sampling/createMessage'));
    assert.ok('error' in sampling);
    assert.equal(sampling.error.code, -32601);
  });

  it('turns pending server requests into inputRequests, and the client’s answers back into responses', () => {
    const inputs = new Map<string, PendingInput>([
      ['input-1', { upstreamId: 11, method: 'roots/list', params: { _meta: { x: 1 } } }],
      ['input-2', { upstreamId: 12, method: 'sampling/createMessage', params: { maxTokens: 5 } }],
    ]);
    assert.deepEqual(inputRequestsOf(inputs), {
      'input-1': { method: 'roots/list', params: {} },
      'input-2': { method: 'sampling/createMessage', params: { maxTokens: 5 } },
    });
    const answers = upstreamAnswers(inputs, { 'input-1': { roots: [] }, 'input-2': ['not', 'a', 'result'] });
    assert.deepEqual(answers[0], { jsonrpc: '2.0', id: 11, result: { roots: [] } });
    const refused = answers[1];
    assert.ok(refused && 'error' in refused);
    assert.equal(refused.id, 12);
    assert.match(refused.error.message, /did not answer sampling\/createMessage/);
    assert.equal(upstreamAnswers(inputs, undefined).length, 2, 'no answers at all: each is refused');
  });

  it('a listen stream gets only what the upstream can send, acknowledged, and tagged with its id', () => {
    const filter = listenFilter(
      { toolsListChanged: true, promptsListChanged: true, resourceSubscriptions: ['a://1', 7] },
      { tools: { listChanged: true }, prompts: {}, resources: { subscribe: true } },
    );
    assert.equal(filter.tools, true);
    assert.equal(filter.prompts, false, 'the upstream does not send prompts list_changed');
    assert.deepEqual([...filter.uris], ['a://1']);
    assert.deepEqual(acknowledgement(filter, 'L1').params, {
      notifications: { toolsListChanged: true, resourceSubscriptions: ['a://1'] },
      _meta: { [META.subscriptionId]: 'L1' },
    });
    assert.equal(wantedBy(notification('notifications/tools/list_changed'), filter), true);
    assert.equal(wantedBy(notification('notifications/prompts/list_changed'), filter), false);
    assert.equal(wantedBy(notification('notifications/resources/updated', { uri: 'a://1' }), filter), true);
    assert.equal(wantedBy(notification('notifications/resources/updated', { uri: 'a://2' }), filter), false);
    assert.equal(wantedBy(notification('notifications/message'), filter), false);
    const tagged = taggedFor(notification('notifications/resources/updated', { uri: 'a://1' }), 'L1');
    assert.deepEqual(tagged.params, { uri: 'a://1', _meta: { [META.subscriptionId]: 'L1' } });
  });

  it('passes a log message at or above the level the request asked for', () => {
    assert.equal(levelAtLeast('error', 'warning'), true);
    assert.equal(levelAtLeast('warning', 'warning'), true);
    assert.equal(levelAtLeast('info', 'warning'), false);
  });
});
