import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ErrorCode, GatewayError } from '../../src/core/errors.js';
import {
  idKey,
  isNotification,
  isRequest,
  isResponse,
  jsonDepthExceeds,
  parseBody,
  toMessage,
} from '../../src/core/jsonrpc.js';

const LIMITS = { maxJsonDepth: 8, maxBatch: 3 };

/** Asserts `fn` throws a GatewayError with this status, stable code, JSON-RPC code and message. */
function refuses(fn: () => unknown, code: ErrorCode, rpcCode: number, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, code);
    assert.equal(err.rpcCode, rpcCode);
    assert.match(err.message, message);
    return true;
  });
}

const invalid = (value: unknown, message: RegExp, where?: string) =>
  refuses(() => toMessage(value, where), 'invalid_request', -32600, message);

describe('toMessage', () => {
  it('accepts a request, a notification, a result and an error response, and classifies them', () => {
    const request = toMessage({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    assert.ok(isRequest(request) && !isNotification(request) && !isResponse(request));
    const withStringId = toMessage({ jsonrpc: '2.0', id: 'abc', method: 'ping' });
    assert.ok(isRequest(withStringId));
    const notification = toMessage({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.ok(isNotification(notification) && !isRequest(notification));
    const result = toMessage({ jsonrpc: '2.0', id: 7, result: {} });
    assert.ok(isResponse(result));
    const error = toMessage({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'no' } });
    assert.ok(isResponse(error));
  });

  it('returns the value itself, untouched', () => {
    const value = { jsonrpc: '2.0', id: 0, method: 'ping', params: { _meta: { progressToken: 1 } } };
    assert.equal(toMessage(value), value);
  });

  it('refuses anything that is not a plain object', () => {
    for (const value of [null, 42, 'x', [], true]) invalid(value, /^the message is not a JSON object$/);
  });

  it('refuses a missing or wrong jsonrpc member', () => {
    invalid({ id: 1, method: 'ping' }, /^the message must have "jsonrpc": "2\.0"$/);
    invalid({ jsonrpc: '1.0', id: 1, method: 'ping' }, /"jsonrpc": "2\.0"/);
    invalid({ jsonrpc: 2, id: 1, method: 'ping' }, /"jsonrpc": "2\.0"/);
  });

  it('refuses request ids that are null, fractional, unsafe integers, objects, arrays or booleans', () => {
    for (const id of [null, 1.5, 2 ** 53, { n: 1 }, [1], true]) {
      invalid({ jsonrpc: '2.0', id, method: 'ping' }, /has an "id" that is not a string or an integer/);
    }
  });

  it('accepts zero, negative and the largest safe integer ids, and the empty string', () => {
    for (const id of [0, -1, Number.MAX_SAFE_INTEGER, '']) {
      assert.ok(isRequest(toMessage({ jsonrpc: '2.0', id, method: 'ping' })));
    }
  });

  it('refuses a method that is empty, not a string, or longer than 256 characters', () => {
    const message = /has a "method" that is not a non-empty string of at most 256 characters/;
    invalid({ jsonrpc: '2.0', id: 1, method: '' }, message);
    invalid({ jsonrpc: '2.0', id: 1, method: 5 }, message);
    invalid({ jsonrpc: '2.0', id: 1, method: 'm'.repeat(257) }, message);
    assert.ok(toMessage({ jsonrpc: '2.0', id: 1, method: 'm'.repeat(256) }));
  });

  it('refuses params that are an array, null or a scalar', () => {
    for (const params of [[], [1], null, 'x', 3]) {
      invalid({ jsonrpc: '2.0', id: 1, method: 'tools/call', params }, /has "params" that is not an object/);
    }
  });

  it('refuses a message that mixes method with result or error', () => {
    const message = /mixes "method" with "result" or "error"/;
    invalid({ jsonrpc: '2.0', id: 1, method: 'ping', result: {} }, message);
    invalid({ jsonrpc: '2.0', id: 1, method: 'ping', error: { code: 1, message: 'x' } }, message);
  });

  it('refuses a response with both or neither of result and error', () => {
    const message = /needs "method", or exactly one of "result" and "error"/;
    invalid({ jsonrpc: '2.0', id: 1 }, message);
    invalid({ jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'x' } }, message);
  });

  it('refuses a result response without a valid id, or whose result is not an object', () => {
    invalid(
      { jsonrpc: '2.0', id: null, result: {} },
      /is a response whose "id" is not a string or an integer/,
    );
    invalid({ jsonrpc: '2.0', result: {} }, /is a response whose "id"/);
    invalid({ jsonrpc: '2.0', id: 1, result: [] }, /has a "result" that is not an object/);
    invalid({ jsonrpc: '2.0', id: 1, result: 'ok' }, /has a "result" that is not an object/);
  });

  it('refuses an error response with a bad id or a malformed error object', () => {
    invalid(
      { jsonrpc: '2.0', id: 1.5, error: { code: 1, message: 'x' } },
      /error response with an invalid "id"/,
    );
    const message = /has an "error" without an integer "code" and a string "message"/;
    invalid({ jsonrpc: '2.0', id: 1, error: { code: 1.5, message: 'x' } }, message);
    invalid({ jsonrpc: '2.0', id: 1, error: { code: '1', message: 'x' } }, message);
    invalid({ jsonrpc: '2.0', id: 1, error: { code: 1 } }, message);
    invalid({ jsonrpc: '2.0', id: 1, error: 'boom' }, message);
  });

  it('names the message in its refusal', () => {
    invalid(
      { jsonrpc: '2.0', id: 1, method: '' },
      /^message 2 of the batch has a "method"/,
      'message 2 of the batch',
    );
  });

  it('is not fooled by a "__proto__" member', () => {
    const value = JSON.parse('{"jsonrpc":"2.0","id":1,"method":"ping","__proto__":{"result":{}}}');
    assert.ok(isRequest(toMessage(value)));
  });
});

describe('jsonDepthExceeds', () => {
  it('counts objects and arrays, and allows exactly the limit', () => {
    assert.equal(jsonDepthExceeds('{}', 1), false);
    assert.equal(jsonDepthExceeds('{"a":{}}', 1), true);
    assert.equal(jsonDepthExceeds('[[[]]]', 3), false);
    assert.equal(jsonDepthExceeds('[[[]]]', 2), true);
    assert.equal(jsonDepthExceeds('{"a":[{"b":[]}]}', 4), false);
    assert.equal(jsonDepthExceeds('{"a":[{"b":[]}]}', 3), true);
  });

  it('measures nesting, not the number of brackets', () => {
    assert.equal(jsonDepthExceeds('[[],[],[],[],{},{}]', 2), false);
    assert.equal(jsonDepthExceeds('{"a":{"b":{}},"c":{"d":{}}}', 3), false);
  });

  it('does not count brackets inside strings', () => {
    assert.equal(jsonDepthExceeds('{"a":"[[[[{{{{"}', 1), false);
    assert.equal(jsonDepthExceeds('{"[[[[":"}}}}]]]]"}', 1), false);
  });

  it('does not end a string at an escaped quote', () => {
    // The string is  "\"[[[["  : the escaped quote does not close it, so the brackets are text.
    assert.equal(jsonDepthExceeds('{"a":"\\"[[[["}', 1), false);
    assert.equal(jsonDepthExceeds(JSON.stringify({ a: '"[[[[{{{{' }), 1), false);
  });

  it('ends a string after an escaped backslash, so brackets after it count', () => {
    // "\\" is one backslash; the next quote closes the string and the following brackets are real.
    assert.equal(jsonDepthExceeds('{"a":"\\\\","b":[[[]]]}', 3), true);
    assert.equal(jsonDepthExceeds('{"a":"\\\\","b":[[[]]]}', 4), false);
    assert.equal(jsonDepthExceeds(JSON.stringify({ a: '\\', b: [[[]]] }), 3), true);
  });

  it('stops at the first level too deep, without needing the rest of the text', () => {
    assert.equal(jsonDepthExceeds(`${'['.repeat(1_000_000)}`, 64), true);
  });
});

describe('parseBody', () => {
  it('decodes one message', () => {
    const parsed = parseBody('{"jsonrpc":"2.0","id":1,"method":"ping"}', LIMITS);
    assert.equal(parsed.isBatch, false);
    assert.deepEqual(parsed.messages, [{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
  });

  it('decodes a batch, up to maxBatch', () => {
    const batch = [1, 2, 3].map((id) => ({ jsonrpc: '2.0', id, method: 'ping' }));
    const parsed = parseBody(JSON.stringify(batch), LIMITS);
    assert.equal(parsed.isBatch, true);
    assert.deepEqual(parsed.messages, batch);
  });

  it('a one-message batch is still a batch', () => {
    assert.equal(parseBody('[{"jsonrpc":"2.0","method":"x"}]', LIMITS).isBatch, true);
  });

  it('refuses malformed JSON as a parse error (-32700)', () => {
    refuses(() => parseBody('{"jsonrpc":', LIMITS), 'parse_error', -32700, /^the body is not valid JSON: /);
    refuses(() => parseBody('', LIMITS), 'parse_error', -32700, /not valid JSON/);
  });

  it('refuses nesting deeper than maxJsonDepth before parsing, and allows exactly the limit', () => {
    const at = `{"jsonrpc":"2.0","id":1,"method":"x","params":${'{"a":'.repeat(6)}{}${'}'.repeat(6)}}`;
    assert.equal(parseBody(at, LIMITS).messages.length, 1);
    const over = `{"jsonrpc":"2.0","id":1,"method":"x","params":${'{"a":'.repeat(7)}{}${'}'.repeat(7)}}`;
    refuses(() => parseBody(over, LIMITS), 'json_too_deep', -32600, /nests deeper than 8 levels/);
    // Depth is checked before JSON.parse: a deep body that is not even JSON is still json_too_deep.
    refuses(() => parseBody('['.repeat(9), LIMITS), 'json_too_deep', -32600, /deeper than 8/);
  });

  it('refuses an empty batch', () => {
    refuses(() => parseBody('[]', LIMITS), 'invalid_request', -32600, /^the batch is empty$/);
  });

  it('refuses a batch longer than maxBatch with its size and the limit', () => {
    const batch = [1, 2, 3, 4].map((id) => ({ jsonrpc: '2.0', id, method: 'ping' }));
    refuses(
      () => parseBody(JSON.stringify(batch), LIMITS),
      'batch_too_large',
      -32600,
      /^the batch has 4 messages; at most 3 are allowed$/,
    );
  });

  it('names the bad message of a batch by its position', () => {
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { jsonrpc: '2.0', id: null, method: 'ping' },
    ];
    refuses(
      () => parseBody(JSON.stringify(batch), LIMITS),
      'invalid_request',
      -32600,
      /^message 1 of the batch has an "id" that is not a string or an integer$/,
    );
  });

  it('refuses a single value that is not a message', () => {
    refuses(
      () => parseBody('"ping"', LIMITS),
      'invalid_request',
      -32600,
      /^the message is not a JSON object$/,
    );
  });
});

describe('idKey', () => {
  it('keeps the number 1 and the string "1" apart', () => {
    assert.notEqual(idKey(1), idKey('1'));
    assert.notEqual(idKey(0), idKey('0'));
    assert.notEqual(idKey(-1), idKey('-1'));
  });

  it('gives equal ids equal keys', () => {
    assert.equal(idKey(1), idKey(1));
    assert.equal(idKey('abc'), idKey('abc'));
  });

  it('cannot be confused by a string that looks like a key', () => {
    assert.notEqual(idKey('n:1'), idKey(1));
    assert.notEqual(idKey(`s:${1}`), idKey('1'));
    const keys = new Set([1, '1', 'n:1', 's:1', 2, '2'].map(idKey));
    assert.equal(keys.size, 6);
  });
});
