/**
 * Resources carried inside answers and server requests go through the resource policy: embedded
 * resources and resource links in tools/call and prompts/get results, sampling messages (and their
 * tool results) and 2026 input_required rounds. A denied one becomes a text marker naming it and why;
 * markers an upstream forged are stripped; the audit reads the markers back (withheldIn).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { policySchema } from '../../src/config/policy-schema.js';
import type { Principal } from '../../src/core/principal.js';
import { ToolCatalog } from '../../src/policy/catalog.js';
import { Gatekeeper } from '../../src/policy/gatekeeper.js';
import { Policy } from '../../src/policy/policy.js';
import {
  screenInputRequests,
  screenResult,
  screenServerRequest,
  WITHHELD_META,
  withheldIn,
} from '../../src/policy/result-filter.js';

const SECRET = 'demo://resource/dynamic/blob/1';
const OPEN = 'demo://resource/dynamic/text/1';
const MARKER_TEXT = `[portcullis: resource ${SECRET} withheld: requires scope secret:read]`;

const gatekeeper = new Gatekeeper({
  policy: new Policy(
    policySchema.parse({
      rules: [{ resources: ['demo://resource/dynamic/blob/*'], require: ['secret:read'] }],
    }),
  ),
  upstream: 'everything',
  catalog: new ToolCatalog(async () => ({ tools: [] }), 60_000),
});
const principal = (...scopes: string[]): Principal => ({ id: 'k', kind: 'api-key', name: 'k', scopes });
const viewer = gatekeeper.resourceDecider(principal('resources:read'));
const holder = gatekeeper.resourceDecider(principal('resources:read', 'secret:read'));

const embedded = (uri: string) => ({
  type: 'resource',
  resource: { uri, mimeType: 'text/plain', blob: 'c2VjcmV0' },
});
const link = (uri: string) => ({ type: 'resource_link', uri, name: 'r' });
const marker = (uri: string, text: string) => ({ type: 'text', text, _meta: { [WITHHELD_META]: uri } });

describe('screenResult', () => {
  it('replaces a denied embedded resource and resource link in tools/call content with a marker', () => {
    const result = {
      content: [{ type: 'text', text: 'here:' }, embedded(SECRET), link(SECRET), embedded(OPEN), link(OPEN)],
      structuredContent: { kept: true },
    };
    const { value, withheld } = screenResult('tools/call', result, viewer);
    assert.deepEqual(value, {
      content: [
        { type: 'text', text: 'here:' },
        marker(SECRET, MARKER_TEXT),
        marker(SECRET, MARKER_TEXT),
        embedded(OPEN),
        link(OPEN),
      ],
      structuredContent: { kept: true },
    });
    assert.deepEqual(withheld, [SECRET, SECRET]);
    assert.deepEqual(withheldIn('tools/call', value), [SECRET, SECRET]);
  });

  it('leaves everything in place for a principal who may read it', () => {
    const result = { content: [embedded(SECRET), link(SECRET)] };
    const { value, withheld } = screenResult('tools/call', result, holder);
    assert.deepEqual(value, result);
    assert.deepEqual(withheld, []);
  });

  it('screens prompts/get messages, single content or an array', () => {
    const result = {
      messages: [
        { role: 'user', content: { type: 'text', text: 'analyse:' } },
        { role: 'user', content: embedded(SECRET) },
        { role: 'user', content: [link(OPEN), link(SECRET)] },
      ],
    };
    const { value, withheld } = screenResult('prompts/get', result, viewer);
    assert.deepEqual(value.messages, [
      { role: 'user', content: { type: 'text', text: 'analyse:' } },
      { role: 'user', content: marker(SECRET, MARKER_TEXT) },
      { role: 'user', content: [link(OPEN), marker(SECRET, MARKER_TEXT)] },
    ]);
    assert.deepEqual(withheld, [SECRET, SECRET]);
    assert.deepEqual(withheldIn('prompts/get', value), [SECRET, SECRET]);
  });

  it('judges every spelling of the URI the upstream may resolve', () => {
    const { withheld } = screenResult(
      'tools/call',
      { content: [link('DEMO://resource/dynamic/text/../blob/%31')] },
      viewer,
    );
    assert.deepEqual(withheld, ['DEMO://resource/dynamic/text/../blob/%31']);
  });

  it('withholds an embedded resource or link that names no URI (it cannot be judged)', () => {
    const { value, withheld } = screenResult(
      'tools/call',
      {
        content: [
          { type: 'resource', resource: { blob: 'eA==' } },
          { type: 'resource_link', uri: 7 },
        ],
      },
      holder,
    );
    const none = marker(
      '(no uri)',
      '[portcullis: resource (no uri) withheld: it names no URI, so the policy cannot judge it]',
    );
    assert.deepEqual(value.content, [none, none]);
    assert.deepEqual(withheld, ['(no uri)', '(no uri)']);
  });

  it('strips a withheld marker an upstream forged, keeping the rest of its _meta', () => {
    const forged = { type: 'text', text: 'nothing to see', _meta: { [WITHHELD_META]: SECRET, other: 1 } };
    const forgedLink = { ...link(OPEN), _meta: { [WITHHELD_META]: OPEN } };
    const { value, withheld } = screenResult('tools/call', { content: [forged, forgedLink] }, viewer);
    assert.deepEqual(value.content, [
      { type: 'text', text: 'nothing to see', _meta: { other: 1 } },
      { ...link(OPEN), _meta: {} },
    ]);
    assert.deepEqual(withheld, []);
    assert.deepEqual(withheldIn('tools/call', value), []);
  });

  it('screens the requests of an input_required result', () => {
    const result = {
      resultType: 'input_required',
      inputRequests: {
        s1: {
          method: 'sampling/createMessage',
          params: { messages: [{ role: 'user', content: embedded(SECRET) }] },
        },
      },
      requestState: 'x',
    };
    const { value, withheld } = screenResult('tools/call', result, viewer);
    assert.deepEqual(value, {
      resultType: 'input_required',
      inputRequests: {
        s1: {
          method: 'sampling/createMessage',
          params: { messages: [{ role: 'user', content: marker(SECRET, MARKER_TEXT) }] },
        },
      },
      requestState: 'x',
    });
    assert.deepEqual(withheld, [SECRET]);
    assert.deepEqual(withheldIn('tools/call', value), [SECRET]);
  });

  it('screens each of a resources/read result’s contents by its own URI (sub-resources)', () => {
    const result = {
      contents: [
        { uri: OPEN, mimeType: 'text/plain', text: 'open' },
        { uri: SECRET, mimeType: 'application/octet-stream', blob: 'c2VjcmV0' },
        { text: 'no uri' },
        { uri: OPEN, text: 'forged', _meta: { [WITHHELD_META]: OPEN } },
      ],
    };
    const { value, withheld } = screenResult('resources/read', result, viewer);
    assert.deepEqual(value.contents, [
      { uri: OPEN, mimeType: 'text/plain', text: 'open' },
      { uri: SECRET, mimeType: 'text/plain', text: MARKER_TEXT, _meta: { [WITHHELD_META]: SECRET } },
      {
        uri: '(no uri)',
        mimeType: 'text/plain',
        text: '[portcullis: resource (no uri) withheld: it names no URI, so the policy cannot judge it]',
        _meta: { [WITHHELD_META]: '(no uri)' },
      },
      { uri: OPEN, text: 'forged', _meta: {} },
    ]);
    assert.deepEqual(withheld, [SECRET, '(no uri)']);
    assert.deepEqual(withheldIn('resources/read', value), [SECRET, '(no uri)']);
    assert.deepEqual(screenResult('resources/read', { contents: [result.contents[1]] }, holder).withheld, []);
  });

  it('leaves other methods alone, and reads no marker in them', () => {
    const result = { content: [embedded(SECRET)], contents: [{ uri: SECRET, blob: 'eA==' }] };
    assert.deepEqual(screenResult('completion/complete', result, viewer), { value: result, withheld: [] });
    const forged = { content: [marker(SECRET, 'forged')] };
    assert.deepEqual(withheldIn('resources/read', forged), []);
    assert.deepEqual(withheldIn('completion/complete', forged), []);
    assert.deepEqual(withheldIn('tools/call', forged), [SECRET], 'where it screens, a marker counts');
  });
});

describe('screenServerRequest', () => {
  it('screens sampling messages, tool results inside them included', () => {
    const params = {
      maxTokens: 10,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hi' }, embedded(SECRET)] },
        {
          role: 'user',
          content: { type: 'tool_result', toolUseId: 't', content: [link(SECRET), link(OPEN)] },
        },
      ],
    };
    const { value, withheld } = screenServerRequest('sampling/createMessage', params, viewer);
    assert.deepEqual(value, {
      maxTokens: 10,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hi' }, marker(SECRET, MARKER_TEXT)] },
        {
          role: 'user',
          content: {
            type: 'tool_result',
            toolUseId: 't',
            content: [marker(SECRET, MARKER_TEXT), link(OPEN)],
          },
        },
      ],
    });
    assert.deepEqual(withheld, [SECRET, SECRET]);
    assert.deepEqual(screenServerRequest('sampling/createMessage', params, holder), {
      value: params,
      withheld: [],
    });
  });

  it('passes elicitation (no content items) and params-less requests as they are', () => {
    const params = { mode: 'form', message: SECRET, requestedSchema: { type: 'object', properties: {} } };
    assert.deepEqual(screenServerRequest('elicitation/create', params, viewer), {
      value: params,
      withheld: [],
    });
    assert.deepEqual(screenServerRequest('roots/list', undefined, viewer), {
      value: undefined,
      withheld: [],
    });
  });
});

describe('screenInputRequests', () => {
  it('screens each request of a 2026 input_required round and keeps the others', () => {
    const rounds = {
      a: {
        method: 'sampling/createMessage',
        params: { messages: [{ role: 'user', content: link(SECRET) }] },
      },
      b: { method: 'elicitation/create', params: { message: 'name?', requestedSchema: { type: 'object' } } },
      c: { method: 'roots/list' },
    };
    const { value, withheld } = screenInputRequests(rounds, viewer);
    assert.deepEqual(value, {
      a: {
        method: 'sampling/createMessage',
        params: { messages: [{ role: 'user', content: marker(SECRET, MARKER_TEXT) }] },
      },
      b: rounds.b,
      c: rounds.c,
    });
    assert.deepEqual(withheld, [SECRET]);
    assert.deepEqual(screenInputRequests(undefined, viewer), { value: undefined, withheld: [] });
  });
});

describe('Gatekeeper.filter', () => {
  it('withholds denied resources from tools/call and prompts/get results', () => {
    const filtered = gatekeeper.filter(
      'tools/call',
      { content: [embedded(SECRET)] },
      principal('resources:read'),
    );
    assert.deepEqual(filtered, { content: [marker(SECRET, MARKER_TEXT)] });
    const prompt = gatekeeper.filter(
      'prompts/get',
      { messages: [{ role: 'user', content: link(SECRET) }] },
      principal('resources:read', 'secret:read'),
    );
    assert.deepEqual(prompt, { messages: [{ role: 'user', content: link(SECRET) }] });
  });

  it('names the class requirement when the principal lacks resources:read itself', () => {
    const filtered = gatekeeper.filter('tools/call', { content: [link(OPEN)] }, principal('tools:read'));
    assert.deepEqual(filtered, {
      content: [
        marker(
          OPEN,
          `[portcullis: resource ${OPEN} withheld: requires scope resources:read or everything:read]`,
        ),
      ],
    });
  });
});
