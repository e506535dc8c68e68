/**
 * Argument guards against the security review's findings (issue 15 item 3, issue 14 item 8), with
 * real upstreams: a guarded argument left out so the upstream would use its schema default
 * (server-everything gzip-file-as-resource), and schema validation of tools no policy entry names
 * (echo). The dangling-symlink finding (item 2) is tested with the other path guards
 * (policy-guards.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from '../helpers/client.js';
import {
  EVERYTHING,
  gatewayYaml,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';

describe('a guarded argument left out (server-everything gzip-file-as-resource)', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway(
      gatewayYaml(
        stdioUpstream('everything', EVERYTHING, ['stdio']),
        "policy:\n  tools:\n    everything.gzip-file-as-resource: { guards: { urls: { args: [data], allow: ['https://downloads.example.com/*'] } } }\n",
      ),
    );
  });
  after(() => gw.close());

  it('judges the missing data by its schema default, which the allow-list does not include', async () => {
    const c = await connect(`${gw.url}/mcp`);
    try {
      await assert.rejects(
        c.client.callTool({ name: 'gzip-file-as-resource', arguments: { name: 'x.gz' } }),
        (err: Error & { code?: number }) => {
          assert.equal(err.code, -32602);
          assert.match(
            err.message,
            /tool 'gzip-file-as-resource': argument data \(left out: its schema default\) is not an allowed URL/,
          );
          return true;
        },
      );
      await assert.rejects(
        c.client.callTool({ name: 'gzip-file-as-resource', arguments: {} }),
        /argument data \(left out: its schema default\) is not an allowed URL/,
      );
      // what the caller sends is judged as before
      await assert.rejects(
        c.client.callTool({
          name: 'gzip-file-as-resource',
          arguments: { data: 'https://raw.githubusercontent.com/x' },
        }),
        /argument data is not an allowed URL/,
      );
    } finally {
      await c.close();
    }
  });
});

describe('arguments checked against the inputSchema of every tool (server-everything echo)', () => {
  let strict: TestGateway;
  let optedOut: TestGateway;

  before(async () => {
    strict = await startTestGateway(gatewayYaml(stdioUpstream('everything', EVERYTHING, ['stdio'])));
    optedOut = await startTestGateway(
      gatewayYaml(
        stdioUpstream('everything', EVERYTHING, ['stdio']),
        'policy:\n  tools:\n    everything.echo: { guards: { schema: false } }\n',
      ),
    );
  });
  after(async () => {
    await strict.close();
    await optedOut.close();
  });

  it('refuses echo with message: 42 before the upstream, naming the field, though no policy names echo', async () => {
    const c = await connect(`${strict.url}/mcp`);
    try {
      for (const [args, field] of [
        [{ message: 42 }, /\/message must be string/],
        [{}, /must have required property 'message'/],
      ] as const) {
        await assert.rejects(
          c.client.callTool({ name: 'echo', arguments: args }),
          (err: Error & { code?: number }) => {
            assert.equal(err.code, -32602, err.message);
            assert.match(err.message, /tool 'echo': arguments do not match its input schema/);
            assert.match(err.message, field);
            return true;
          },
        );
      }
      const ok = await c.client.callTool({ name: 'echo', arguments: { message: 'hi' } });
      assert.deepEqual(ok.content, [{ type: 'text', text: 'Echo: hi' }]);
    } finally {
      await c.close();
    }
  });

  it('guards.schema: false for the tool lets the call through to the upstream, which judges it itself', async () => {
    const c = await connect(`${optedOut.url}/mcp`);
    try {
      const answer = await c.client.callTool({ name: 'echo', arguments: { message: 42 } }).then(
        (result) => JSON.stringify(result),
        (err: Error) => err.message,
      );
      assert.doesNotMatch(answer, /arguments do not match its input schema/);
      assert.match(answer, /Input validation error/, answer);
    } finally {
      await c.close();
    }
  });
});
