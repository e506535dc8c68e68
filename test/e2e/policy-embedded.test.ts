/**
 * Resources embedded in an allowed answer go through the resource policy (issue 15, item 1): against
 * server-everything over stdio, a key without the scope a rule requires for the blob resources is
 * refused resources/read, and gets a text marker instead of the blob from get-resource-reference and
 * resource-prompt — on a 2025 session and as a 2026-07-28 client; the policy decision in the audit
 * trail lists what was withheld. A key with the scope gets the blob. A resources/read answered with
 * sub-resources (a tiny stdio server written here: server-everything answers each read with its own
 * URI) is screened item by item the same way.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../src/audit/events.js';
import { EVERYTHING, stdioUpstream } from '../helpers/gateway.js';
import { type PolicyGateway, policyClient, rpcFailure, startPolicyGateway } from '../helpers/policy.js';

const BLOB = 'demo://resource/dynamic/blob/1';
const MARKER = {
  type: 'text',
  text: `[portcullis: resource ${BLOB} withheld: requires scope secret:read]`,
  _meta: { 'portcullis/withheld': BLOB },
};
const VIEWER = ['tools:read', 'resources:read', 'prompts:read'];

type Content = { type: string; text?: string; resource?: { uri: string; blob?: string }; _meta?: unknown };

function decisions(p: PolicyGateway, method: string) {
  return p.gw.logs
    .map((line) => JSON.parse(line) as { audit?: AuditEvent })
    .flatMap((entry) =>
      entry.audit?.type === 'policy.decision' && entry.audit.method === method ? [entry.audit] : [],
    );
}

describe('resources embedded in answers, through the policy (server-everything, stdio)', () => {
  let p: PolicyGateway;

  before(async () => {
    p = await startPolicyGateway({
      upstreams: stdioUpstream('everything', EVERYTHING, ['stdio']),
      policy: { rules: [{ resources: ['demo://resource/dynamic/blob/*'], require: ['secret:read'] }] },
      keys: { viewer: VIEWER, holder: [...VIEWER, 'secret:read'] },
    });
  });
  after(() => p.close());

  for (const modern of [false, true]) {
    const as = modern ? 'a 2026-07-28 client' : 'a 2025 session';
    it(`a key without the scope gets a marker, not the blob, from a tool and a prompt (${as})`, async () => {
      const c = await policyClient(p.url(), p.auth('viewer'), modern);
      try {
        const refused = await rpcFailure(c.client.readResource({ uri: BLOB }));
        assert.match(refused.message, /needs the scope secret:read/);

        const call = await c.client.callTool({
          name: 'get-resource-reference',
          arguments: { resourceType: 'Blob', resourceId: 1 },
        });
        const content = call.content as Content[];
        assert.deepEqual(content[1], MARKER, JSON.stringify(content));
        assert.equal(content.length, 3, 'the withheld item is replaced, not dropped');
        assert.ok(!JSON.stringify(call).includes('"blob"'), JSON.stringify(call));

        const prompt = await c.client.getPrompt({
          name: 'resource-prompt',
          arguments: { resourceType: 'Blob', resourceId: '1' },
        });
        assert.equal(prompt.messages.length, 2);
        assert.deepEqual(prompt.messages[1]?.content, MARKER, JSON.stringify(prompt.messages));
      } finally {
        await c.close();
      }
    });
  }

  it('records what was withheld in the policy decision', () => {
    const withheldCalls = decisions(p, 'tools/call').filter(
      (e) =>
        e.type === 'policy.decision' &&
        e.target.name === 'get-resource-reference' &&
        e.principal.name === 'viewer',
    );
    assert.equal(withheldCalls.length, 2, JSON.stringify(withheldCalls));
    for (const event of withheldCalls) {
      assert.ok(event.type === 'policy.decision');
      assert.equal(event.outcome, 'allowed');
      assert.deepEqual(event.withheld, [BLOB]);
    }
    const prompts = decisions(p, 'prompts/get');
    assert.ok(prompts.length >= 2);
    for (const event of prompts) assert.ok(event.type === 'policy.decision' && event.withheld?.[0] === BLOB);
  });

  it('a key with the scope gets the blob from both', async () => {
    const c = await policyClient(p.url(), p.auth('holder'), false);
    try {
      const call = await c.client.callTool({
        name: 'get-resource-reference',
        arguments: { resourceType: 'Blob', resourceId: 1 },
      });
      const embedded = (call.content as Content[])[1];
      assert.equal(embedded?.type, 'resource');
      assert.equal(embedded?.resource?.uri, BLOB);
      assert.ok(embedded?.resource?.blob, 'the blob is there');

      const prompt = await c.client.getPrompt({
        name: 'resource-prompt',
        arguments: { resourceType: 'Blob', resourceId: '1' },
      });
      const content = prompt.messages[1]?.content as Content;
      assert.equal(content.type, 'resource');
      assert.equal(content.resource?.uri, BLOB);
      assert.ok(content.resource?.blob);
    } finally {
      await c.close();
    }
    const held = decisions(p, 'tools/call').filter(
      (e) => e.type === 'policy.decision' && e.principal.name === 'holder',
    );
    assert.ok(held.length > 0);
    for (const event of held) assert.ok(event.type === 'policy.decision' && event.withheld === undefined);
  });
});

/** A stdio MCP server whose one resource, fix://dir, is read as two sub-resources, one of them secret. */
const DIR_SERVER = `import { createInterface } from 'node:readline';
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line);
  if (msg.id === undefined) return;
  const result = {
    initialize: { protocolVersion: msg.params?.protocolVersion, capabilities: { resources: {} }, serverInfo: { name: 'dir', version: '1' } },
    ping: {},
    'resources/list': { resources: [{ uri: 'fix://dir', name: 'dir' }] },
    'resources/read': { contents: [
      { uri: 'fix://dir/readme', mimeType: 'text/plain', text: 'open' },
      { uri: 'fix://secret/key', mimeType: 'text/plain', text: 'the secret' },
    ] },
  }[msg.method];
  send(result ? { jsonrpc: '2.0', id: msg.id, result } : { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'no' } });
});
`;

describe('a resources/read answered with sub-resources, through the policy', () => {
  let p: PolicyGateway;

  before(async () => {
    p = await startPolicyGateway({
      upstreams: (dir) => {
        const script = join(dir, 'dir-server.mjs');
        writeFileSync(script, DIR_SERVER);
        return stdioUpstream('dir', script);
      },
      policy: { rules: [{ resources: ['fix://secret/*'], require: ['secret:read'] }] },
      keys: { viewer: VIEWER, holder: [...VIEWER, 'secret:read'] },
    });
  });
  after(() => p.close());

  it('withholds the sub-resource the key may not read, and records it', async () => {
    const c = await policyClient(p.url(), p.auth('viewer'));
    try {
      const read = await c.client.readResource({ uri: 'fix://dir' });
      assert.deepEqual(read.contents, [
        { uri: 'fix://dir/readme', mimeType: 'text/plain', text: 'open' },
        {
          uri: 'fix://secret/key',
          mimeType: 'text/plain',
          text: '[portcullis: resource fix://secret/key withheld: requires scope secret:read]',
          _meta: { 'portcullis/withheld': 'fix://secret/key' },
        },
      ]);
    } finally {
      await c.close();
    }
    const [event] = decisions(p, 'resources/read');
    assert.ok(event?.type === 'policy.decision');
    assert.deepEqual(event.withheld, ['fix://secret/key']);
  });

  it('a key with the scope reads both', async () => {
    const c = await policyClient(p.url(), p.auth('holder'));
    try {
      const read = await c.client.readResource({ uri: 'fix://dir' });
      assert.equal((read.contents[1] as { text?: string }).text, 'the secret');
    } finally {
      await c.close();
    }
  });
});
