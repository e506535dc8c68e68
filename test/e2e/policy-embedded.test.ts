/**
 * Resources embedded in an allowed answer go through the resource policy (issue 15, item 1): against
 * server-everything over stdio, a key without the scope a rule requires for the blob resources is
 * refused resources/read, and gets a text marker instead of the blob from get-resource-reference and
 * resource-prompt — on a 2025 session and as a 2026-07-28 client; the policy decision in the audit
 * trail lists what was withheld. A key with the scope gets the blob.
 */
import assert from 'node:assert/strict';
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
