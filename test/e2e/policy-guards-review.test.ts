/**
 * Argument guards against the security review's findings (issue 15 items 2–3, issue 14 item 8), with
 * real upstreams: a dangling symlink out of the root (server-filesystem write_file), a guarded
 * argument left out so the upstream would use its schema default (server-everything
 * gzip-file-as-resource), and schema validation of tools no policy entry names (echo).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from '../helpers/client.js';
import {
  EVERYTHING,
  FILESYSTEM,
  gatewayYaml,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';

const text = (r: { content?: unknown }) => JSON.stringify(r.content ?? '');

describe('a dangling symlink out of the root (server-filesystem write_file)', () => {
  let base: string;
  let pub: string;
  let priv: string;
  let gw: TestGateway;

  before(async () => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'pcl-dangling-')));
    pub = join(base, 'public');
    priv = join(base, 'private');
    mkdirSync(pub);
    mkdirSync(priv);
    symlinkSync('../private/new.txt', join(pub, 'link'));
    // The upstream may write anywhere under base: only the gateway's guard keeps callers in public/.
    gw = await startTestGateway(
      gatewayYaml(
        stdioUpstream('files', FILESYSTEM, [base]),
        `policy:\n  tools:\n    files.write_file: { guards: { paths: { args: [path], roots: [${JSON.stringify(pub)}] } } }\n`,
      ),
    );
  });
  after(async () => {
    await gw.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('refuses the write through public/link -> ../private/new.txt; a plain new file in public/ is written', async () => {
    const c = await connect(`${gw.url}/servers/files/mcp`);
    try {
      await assert.rejects(
        c.client.callTool({ name: 'write_file', arguments: { path: join(pub, 'link'), content: 'planted' } }),
        (err: Error & { code?: number }) => {
          assert.equal(err.code, -32602);
          assert.match(err.message, /tool 'write_file': argument path is outside the allowed roots/);
          return true;
        },
      );
      assert.equal(existsSync(join(priv, 'new.txt')), false, 'nothing was written through the link');
      const written = await c.client.callTool({
        name: 'write_file',
        arguments: { path: join(pub, 'fresh.txt'), content: 'fresh' },
      });
      assert.notEqual(written.isError, true, text(written));
      assert.equal(readFileSync(join(pub, 'fresh.txt'), 'utf8'), 'fresh');
    } finally {
      await c.close();
    }
  });
});

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
