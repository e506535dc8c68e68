/**
 * The message path every client request takes, whatever its transport: a refusal never reaches the
 * relay and is answered in band (or thrown for a step-up), results come back filtered, and an
 * input_required round passes as it is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { policySchema } from '../../src/config/policy-schema.js';
import { GatewayError } from '../../src/core/errors.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../../src/core/jsonrpc.js';
import type { Principal } from '../../src/core/principal.js';
import { type CallContext, runCall } from '../../src/pipeline/call-stages.js';
import { ToolCatalog } from '../../src/policy/catalog.js';
import { FORBIDDEN, Gatekeeper } from '../../src/policy/gatekeeper.js';
import { Policy } from '../../src/policy/policy.js';
import { CallAbandoned } from '../../src/relay/call-table.js';

const TOOLS = [
  { name: 'read_file', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } },
  {
    name: 'write_file',
    inputSchema: { type: 'object' },
    annotations: { readOnlyHint: false, destructiveHint: true },
  },
];

function gatekeeper(): Gatekeeper {
  const catalog = new ToolCatalog(async () => ({ tools: TOOLS }), 60_000);
  return new Gatekeeper({ policy: new Policy(policySchema.parse({})), upstream: 'files', catalog });
}

const reader = (kind: Principal['kind'] = 'api-key'): Principal => ({
  id: `${kind}:reader`,
  kind,
  name: 'reader',
  scopes: ['tools:read'],
});

const request = (method: string, params: Record<string, unknown> = {}): JsonRpcRequest => ({
  jsonrpc: '2.0',
  id: 1,
  method,
  params,
});

/** A call whose relay answers with `result` and counts how often it was reached. */
function call(
  req: JsonRpcRequest,
  principal: Principal,
  result: Record<string, unknown>,
  alone = false,
): CallContext & { relayed: () => number } {
  let relayed = 0;
  return {
    request: req,
    principal,
    gatekeeper: gatekeeper(),
    requestId: 'req-1',
    resourceMetadata: 'http://127.0.0.1/.well-known/oauth-protected-resource/mcp',
    audit: undefined,
    alone,
    relay: async () => {
      relayed++;
      return { jsonrpc: '2.0', id: req.id, result } as JsonRpcResponse;
    },
    relayed: () => relayed,
  };
}

describe('the call stages', () => {
  it('answers a refused call in band with the refusal, and never relays it', async () => {
    const c = call(request('tools/call', { name: 'write_file', arguments: {} }), reader(), {});
    const response = await runCall(c);
    assert.equal(c.relayed(), 0);
    assert.ok('error' in response);
    assert.equal(response.error.code, FORBIDDEN);
    assert.match(response.error.message, /write_file/);
    assert.equal((response.error.data as { requestId: string }).requestId, 'req-1');
  });

  it('refuses a tool the upstream does not list', async () => {
    const c = call(request('tools/call', { name: 'rm_rf', arguments: {} }), reader(), {});
    const response = await runCall(c);
    assert.equal(c.relayed(), 0);
    assert.ok('error' in response);
  });

  it('throws a lone step-up refusal for a JWT principal, answers it in band inside a batch', async () => {
    const req = request('tools/call', { name: 'write_file', arguments: {} });
    await assert.rejects(
      runCall(call(req, reader('jwt'), {}, true)),
      (err: unknown) => err instanceof GatewayError && err.code === 'insufficient_scope',
    );
    const inBatch = await runCall(call(req, reader('jwt'), {}, false));
    assert.ok('error' in inBatch);
    const forKey = await runCall(call(req, reader('api-key'), {}, true));
    assert.ok('error' in forKey, 'an API key cannot step up: the refusal stays in band');
  });

  it('relays an allowed call and hands back the upstream’s result', async () => {
    const c = call(request('tools/call', { name: 'read_file', arguments: {} }), reader(), {
      content: [{ type: 'text', text: 'hello' }],
    });
    const response = await runCall(c);
    assert.equal(c.relayed(), 1);
    assert.deepEqual(response, {
      jsonrpc: '2.0',
      id: 1,
      result: { content: [{ type: 'text', text: 'hello' }] },
    });
  });

  it('filters a list result to what the principal may use, keeping the cursor', async () => {
    const c = call(request('tools/list'), reader(), { tools: TOOLS, nextCursor: 'c2' });
    const response = await runCall(c);
    assert.ok('result' in response);
    assert.deepEqual(
      (response.result.tools as { name: string }[]).map((t) => t.name),
      ['read_file'],
    );
    assert.equal(response.result.nextCursor, 'c2');
  });

  it('passes an input_required round of a list as it is', async () => {
    const round = { resultType: 'input_required', inputRequests: { a: { method: 'roots/list' } } };
    const c = call(request('tools/list'), reader(), round);
    const response = await runCall(c);
    assert.ok('result' in response);
    assert.deepEqual(response.result, round);
  });

  it('withholds a resource the principal may not read from an input_required round’s sampling request', async () => {
    const secret = { type: 'resource', resource: { uri: 'secret://payroll', text: 'salaries' } };
    const round = {
      resultType: 'input_required',
      inputRequests: {
        s: {
          method: 'sampling/createMessage',
          params: { messages: [{ role: 'user', content: secret }], maxTokens: 10 },
        },
      },
    };
    const c = call(request('tools/call', { name: 'read_file', arguments: {} }), reader(), round);
    const response = await runCall(c);
    assert.ok('result' in response);
    const text = JSON.stringify(response.result);
    assert.doesNotMatch(text, /salaries/);
    assert.match(text, /portcullis\/withheld/);
    assert.match(text, /secret:\/\/payroll/);
  });

  it('lets an abandoned call through as a throw, so nothing is sent for it', async () => {
    const c = call(request('tools/call', { name: 'read_file', arguments: {} }), reader(), {});
    await assert.rejects(
      runCall({
        ...c,
        relay: async () => {
          throw new CallAbandoned();
        },
      }),
      CallAbandoned,
    );
  });
});
