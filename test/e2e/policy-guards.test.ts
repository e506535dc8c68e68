/**
 * Argument guards: the gateway refuses bad arguments before the upstream sees them — paths
 * outside the roots, through symlinks even dangling ones (server-filesystem), URLs to private addresses (server-everything's
 * gzip-file-as-resource), arguments that break the tool's own schema, oversized values.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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

describe('path guards in front of server-filesystem', () => {
  let base: string;
  let root: string;
  let outside: string;
  let gw: TestGateway;
  let url: string;

  before(async () => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'pcl-guard-')));
    root = join(base, 'docs');
    outside = join(base, 'secret');
    mkdirSync(root);
    mkdirSync(outside);
    writeFileSync(join(root, 'ok.txt'), 'inside');
    writeFileSync(join(outside, 'key.txt'), 'top secret');
    symlinkSync(outside, join(root, 'escape'));
    // Dangling: its target does not exist yet, and would be created outside the root by a write.
    symlinkSync('../secret/new.txt', join(root, 'dangling'));
    // The upstream may see the parent too: only the gateway's guard keeps callers inside docs/.
    const policy = `policy:\n  tools:\n${['read_text_file', 'write_file', 'list_directory']
      .map(
        (t) =>
          `    files.${t}: { guards: { paths: { args: [path], roots: [${JSON.stringify(root)}] }, maxStringLength: 1000 } }`,
      )
      .join('\n')}\n`;
    gw = await startTestGateway(gatewayYaml(stdioUpstream('files', FILESYSTEM, [base]), policy));
    url = `${gw.url}/servers/files/mcp`;
  });
  after(async () => {
    await gw.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('allows a path inside the root', async () => {
    const c = await connect(url);
    try {
      const read = await c.client.callTool({
        name: 'read_text_file',
        arguments: { path: join(root, 'ok.txt') },
      });
      assert.match(text(read), /inside/);
    } finally {
      await c.close();
    }
  });

  it('refuses traversal, absolute paths outside, symlinks out, encoded and NUL paths, before the upstream', async () => {
    const c = await connect(url);
    try {
      const cases: [string, RegExp][] = [
        [`${root}/../secret/key.txt`, /contains a \.\. segment/],
        [join(outside, 'key.txt'), /is outside the allowed roots/],
        [join(root, 'escape', 'key.txt'), /is outside the allowed roots/],
        [`${root}/%2e%2e/secret/key.txt`, /percent-encoded/],
        [`${root}/ok.txt\0`, /NUL byte/],
        ['docs/ok.txt', /must be an absolute path/],
        ['~/.ssh/id_rsa', /starts with ~/],
      ];
      for (const [path, reason] of cases) {
        await assert.rejects(
          c.client.callTool({ name: 'read_text_file', arguments: { path } }),
          (err: Error & { code?: number }) => {
            assert.equal(err.code, -32602, path);
            assert.match(err.message, reason, path);
            assert.ok(!err.message.includes('top secret'));
            return true;
          },
        );
      }
      await assert.rejects(
        c.client.callTool({
          name: 'write_file',
          arguments: { path: join(root, 'escape', 'planted.txt'), content: 'x' },
        }),
        /outside the allowed roots/,
      );
      assert.equal(
        existsSync(join(outside, 'planted.txt')),
        false,
        'nothing was written through the symlink',
      );
      await assert.rejects(
        c.client.callTool({ name: 'write_file', arguments: { path: join(root, 'dangling'), content: 'x' } }),
        /tool 'write_file': argument path is outside the allowed roots/,
      );
      assert.equal(
        existsSync(join(outside, 'new.txt')),
        false,
        'nothing was written through the dangling link',
      );
      await assert.rejects(
        c.client.callTool({
          name: 'write_file',
          arguments: { path: join(root, 'big.txt'), content: 'x'.repeat(1001) },
        }),
        /argument content is longer than 1000 characters/,
      );
      await assert.rejects(
        c.client.callTool({ name: 'read_text_file', arguments: { path: 42 } }),
        /input schema/,
      );
    } finally {
      await c.close();
    }
  });

  it('lets a new file inside the root be written', async () => {
    const c = await connect(url);
    try {
      const written = await c.client.callTool({
        name: 'write_file',
        arguments: { path: join(root, 'new.txt'), content: 'fresh' },
      });
      assert.notEqual(written.isError, true, text(written));
      assert.ok(existsSync(join(root, 'new.txt')));
    } finally {
      await c.close();
    }
  });
});

describe('URL guards in front of server-everything', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startTestGateway(
      gatewayYaml(
        stdioUpstream('everything', EVERYTHING, ['stdio']),
        'policy:\n  tools:\n    everything.gzip-file-as-resource: { guards: { urls: { args: [data] } } }\n',
      ),
    );
  });
  after(() => gw.close());

  it('refuses private, loopback, link-local (metadata) and non-http URLs; lets a public address through', async () => {
    const c = await connect(`${gw.url}/mcp`);
    try {
      for (const [data, reason] of [
        ['http://127.0.0.1:8787/admin', /loopback address/],
        ['http://localhost/x', /loopback address/],
        ['http://169.254.169.254/latest/meta-data/', /linkLocal address/],
        ['http://10.1.2.3/', /private address/],
        ['http://[::1]/', /loopback address/],
        ['http://[::ffff:127.0.0.1]/', /loopback address/],
        ['data:text/plain;base64,aGk=', /must be an http\(s\) URL/],
        ['http://user:pw@8.8.8.8/', /must not carry credentials/],
      ] as const) {
        await assert.rejects(
          c.client.callTool({ name: 'gzip-file-as-resource', arguments: { name: 'x.gz', data } }),
          reason,
          data,
        );
      }
      // A public address passes the guard (the upstream's own fetch then fails: there is no network).
      const passed = await c.client
        .callTool({ name: 'gzip-file-as-resource', arguments: { name: 'x.gz', data: 'http://8.8.8.8/' } })
        .catch((e: Error) => e);
      assert.ok(!(passed instanceof Error && /not allowed|must be/.test(passed.message)), String(passed));
    } finally {
      await c.close();
    }
  });
});
