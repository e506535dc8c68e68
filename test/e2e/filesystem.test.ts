/** server-filesystem on a temporary folder, behind the gateway, with the real SDK client. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from '../helpers/client.js';
import {
  FILESYSTEM,
  gatewayYaml,
  startTestGateway,
  stdioUpstream,
  type TestGateway,
} from '../helpers/gateway.js';

const text = (result: { content?: unknown }) =>
  (result.content as { type: string; text: string }[])[0]?.text ?? '';

describe('server-filesystem through the gateway', () => {
  let root: string;
  let gw: TestGateway;
  let url: string;

  before(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'pcl-fs-')));
    writeFileSync(join(root, 'hello.txt'), 'hello from disk\n');
    gw = await startTestGateway(gatewayYaml(stdioUpstream('files', FILESYSTEM, [root])));
    url = `${gw.url}/servers/files/mcp`;
  });
  after(async () => {
    await gw.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('lists, reads and writes inside the allowed folder', async () => {
    const c = await connect(url);
    try {
      const { tools } = await c.client.listTools();
      assert.ok(tools.some((t) => t.name === 'read_text_file'));
      const listing = await c.client.callTool({ name: 'list_directory', arguments: { path: root } });
      assert.match(text(listing), /hello\.txt/);
      const read = await c.client.callTool({
        name: 'read_text_file',
        arguments: { path: join(root, 'hello.txt') },
      });
      assert.equal(text(read), 'hello from disk\n');
      const written = await c.client.callTool({
        name: 'write_file',
        arguments: { path: join(root, 'new.txt'), content: 'written through the gateway' },
      });
      assert.notEqual(written.isError, true, text(written));
      assert.equal(readFileSync(join(root, 'new.txt'), 'utf8'), 'written through the gateway');
    } finally {
      await c.close();
    }
  });

  it('passes the upstream own refusal of a path outside its folder back to the client', async () => {
    const c = await connect(url);
    try {
      const outside = await c.client.callTool({
        name: 'read_text_file',
        arguments: { path: '/etc/hostname' },
      });
      assert.equal(outside.isError, true);
      assert.match(text(outside), /outside allowed directories|Access denied/i);
    } finally {
      await c.close();
    }
  });
});
