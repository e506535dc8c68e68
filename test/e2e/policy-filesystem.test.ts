/**
 * The authorization policy against @modelcontextprotocol/server-filesystem on a temp folder, through a
 * real gateway with API keys of chosen scopes: what each key sees in tools/list, which calls it may make,
 * the exact refusal of the others, and that a refused call leaves the folder as it was. Then read-only
 * mode, which no scope lifts.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { FILESYSTEM, stdioUpstream } from '../helpers/gateway.js';
import {
  assertForbidden,
  assertScopeRefusal,
  type KeySpec,
  listAll,
  type PolicyGateway,
  policyClient,
  rpcFailure,
  startPolicyGateway,
} from '../helpers/policy.js';

const FORBIDDEN = -32003;

/** server-filesystem's tools by the annotations it reports (asserted below). */
const READ_TOOLS = [
  'directory_tree',
  'get_file_info',
  'list_allowed_directories',
  'list_directory',
  'list_directory_with_sizes',
  'read_file',
  'read_media_file',
  'read_multiple_files',
  'read_text_file',
  'search_files',
];
const DESTRUCTIVE_TOOLS = ['edit_file', 'move_file', 'write_file'];
const WRITE_TOOLS = ['create_directory'];
const ALL_TOOLS = [...READ_TOOLS, ...WRITE_TOOLS, ...DESTRUCTIVE_TOOLS].sort();

const ORIGINAL = 'hello from disk\n';
const sorted = (names: readonly string[]) => [...names].sort();
const text = (result: { content?: unknown }) =>
  (result.content as { type: string; text?: string }[] | undefined)?.[0]?.text ?? '';

/** Every file and directory under `dir` with its content (files) or '<dir>', for before/after comparisons. */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const rel = `${prefix}${name}`;
    if (statSync(path).isDirectory()) {
      out[`${rel}/`] = '<dir>';
      Object.assign(out, snapshot(path, `${rel}/`));
    } else out[rel] = readFileSync(path, 'utf8');
  }
  return out;
}

interface ToolCall {
  readonly name: string;
  readonly arguments: Record<string, unknown>;
}

/** A call of each write tool that would change `root` if it went through. */
function writeCalls(root: string): { write: ToolCall; edit: ToolCall; mkdir: ToolCall; move: ToolCall } {
  return {
    write: { name: 'write_file', arguments: { path: join(root, 'hello.txt'), content: 'overwritten' } },
    edit: {
      name: 'edit_file',
      arguments: { path: join(root, 'hello.txt'), edits: [{ oldText: 'hello', newText: 'HELLO' }] },
    },
    mkdir: { name: 'create_directory', arguments: { path: join(root, 'new-dir') } },
    move: {
      name: 'move_file',
      arguments: { source: join(root, 'hello.txt'), destination: join(root, 'moved.txt') },
    },
  };
}

function refusalFor(tool: string, have: 'nothing' | 'write') {
  const destructive = DESTRUCTIVE_TOOLS.includes(tool);
  if (have === 'write') {
    return {
      code: FORBIDDEN,
      message: `tool '${tool}' needs the scope tools:destructive or files:destructive, which this caller does not have`,
      required: ['tools:write', 'tools:destructive'],
      missing: [['tools:destructive', 'files:destructive']],
    };
  }
  return destructive
    ? {
        code: FORBIDDEN,
        message: `tool '${tool}' needs the scope tools:write or files:write, and tools:destructive or files:destructive, which this caller does not have`,
        required: ['tools:write', 'tools:destructive'],
        missing: [
          ['tools:write', 'files:write'],
          ['tools:destructive', 'files:destructive'],
        ],
      }
    : {
        code: FORBIDDEN,
        message: `tool '${tool}' needs the scope tools:write or files:write, which this caller does not have`,
        required: ['tools:write'],
        missing: [['tools:write', 'files:write']],
      };
}

/** A gateway in front of server-filesystem on `<temp>/files`, holding hello.txt. */
async function filesGateway(
  keys: Readonly<Record<string, KeySpec>>,
  policy?: unknown,
): Promise<{ g: PolicyGateway; root: string }> {
  let root = '';
  const g = await startPolicyGateway({
    keys,
    ...(policy === undefined ? {} : { policy }),
    upstreams: (dir) => {
      root = join(realpathSync(dir), 'files');
      mkdirSync(root);
      writeFileSync(join(root, 'hello.txt'), ORIGINAL);
      return stdioUpstream('files', FILESYSTEM, [root]);
    },
  });
  return { g, root };
}

/** Puts the folder back to hello.txt alone, with its original content. */
function reset(root: string): void {
  for (const entry of readdirSync(root)) rmSync(join(root, entry), { recursive: true, force: true });
  writeFileSync(join(root, 'hello.txt'), ORIGINAL);
}

describe('policy over server-filesystem (API keys)', () => {
  const KEYS = {
    viewer: ['tools:read'],
    editor: ['tools:read', 'tools:write'],
    destroyer: ['tools:read', 'tools:write', 'tools:destructive'],
    filesStar: ['files:*'],
    filesRead: ['files:read'],
    otherStar: ['other:*'],
    writeOnly: ['tools:write'],
    admin: ['*'],
    // roles configured below, which replace the default ones
    roleReader: { roles: ['reader'] },
    roleBuilder: { roles: ['builder'] },
    roleOwner: { roles: ['owner'] },
    roleViewer: { roles: ['viewer'] },
  } as const;
  const ROLES = { reader: ['tools:read'], builder: ['tools:read', 'tools:write'], owner: ['files:*'] };
  let g: PolicyGateway;
  let root: string;
  const clients = new Map<string, { client: Client; close(): Promise<void> }>();

  async function as(key: keyof typeof KEYS): Promise<Client> {
    let c = clients.get(key);
    if (!c) {
      c = await policyClient(g.url('files'), g.auth(key));
      clients.set(key, c);
    }
    return c.client;
  }

  before(async () => {
    ({ g, root } = await filesGateway(KEYS, { roles: ROLES }));
  });
  after(async () => {
    for (const c of clients.values()) await c.close();
    await g?.close();
  });

  it('server-filesystem reports the annotations this suite relies on; admin (*) sees every tool', async () => {
    const { tools } = await (await as('admin')).listTools();
    assert.deepEqual(sorted(tools.map((t) => t.name)), ALL_TOOLS);
    for (const tool of tools) {
      const { readOnlyHint, destructiveHint } = tool.annotations ?? {};
      if (READ_TOOLS.includes(tool.name)) {
        assert.deepEqual(
          { readOnlyHint, destructiveHint },
          { readOnlyHint: true, destructiveHint: undefined },
          tool.name,
        );
      } else if (WRITE_TOOLS.includes(tool.name)) {
        assert.deepEqual(
          { readOnlyHint, destructiveHint },
          { readOnlyHint: false, destructiveHint: false },
          tool.name,
        );
      } else {
        assert.deepEqual(
          { readOnlyHint, destructiveHint },
          { readOnlyHint: false, destructiveHint: true },
          tool.name,
        );
      }
    }
  });

  it('a viewer (tools:read) lists and reads, never sees a write tool, is refused each by name; the folder is unchanged', async () => {
    reset(root);
    const before = snapshot(root);
    const viewer = await as('viewer');
    assert.deepEqual(sorted(await listAll(viewer, 'tools')), READ_TOOLS);
    assert.equal(
      text(await viewer.callTool({ name: 'list_directory', arguments: { path: root } })),
      '[FILE] hello.txt',
    );
    assert.equal(
      text(await viewer.callTool({ name: 'read_text_file', arguments: { path: join(root, 'hello.txt') } })),
      ORIGINAL,
    );
    for (const call of Object.values(writeCalls(root))) {
      assertScopeRefusal(await rpcFailure(viewer.callTool(call)), refusalFor(call.name, 'nothing'));
    }
    assert.deepEqual(snapshot(root), before);
    assert.deepEqual(before, { 'hello.txt': ORIGINAL });
  });

  it('files:read is the viewer of this upstream; other:* holds nothing here; tools:write alone reads nothing', async () => {
    const filesRead = await as('filesRead');
    assert.deepEqual(sorted(await listAll(filesRead, 'tools')), READ_TOOLS);
    assert.equal(
      text(await filesRead.callTool({ name: 'list_directory', arguments: { path: root } })),
      '[FILE] hello.txt',
    );
    assertScopeRefusal(
      await rpcFailure(filesRead.callTool(writeCalls(root).mkdir)),
      refusalFor('create_directory', 'nothing'),
    );

    const other = await as('otherStar');
    assert.deepEqual(await listAll(other, 'tools'), []);
    assertScopeRefusal(
      await rpcFailure(other.callTool({ name: 'list_directory', arguments: { path: root } })),
      {
        code: FORBIDDEN,
        message:
          "tool 'list_directory' needs the scope tools:read or files:read, which this caller does not have",
        required: ['tools:read'],
        missing: [['tools:read', 'files:read']],
      },
    );

    const writeOnly = await as('writeOnly');
    assert.deepEqual(await listAll(writeOnly, 'tools'), ['create_directory']);
    assertScopeRefusal(
      await rpcFailure(
        writeOnly.callTool({ name: 'read_text_file', arguments: { path: join(root, 'hello.txt') } }),
      ),
      {
        code: FORBIDDEN,
        message:
          "tool 'read_text_file' needs the scope tools:read or files:read, which this caller does not have",
        required: ['tools:read'],
        missing: [['tools:read', 'files:read']],
      },
    );
    assert.deepEqual(snapshot(root), { 'hello.txt': ORIGINAL });
  });

  it('an editor (tools:read, tools:write) creates a directory (destructiveHint: false) but may not write, edit or move', async () => {
    reset(root);
    const editor = await as('editor');
    assert.deepEqual(sorted(await listAll(editor, 'tools')), sorted([...READ_TOOLS, ...WRITE_TOOLS]));
    const { write, edit, mkdir, move } = writeCalls(root);
    assert.equal(
      text(await editor.callTool(mkdir)),
      `Successfully created directory ${join(root, 'new-dir')}`,
    );
    assert.ok(statSync(join(root, 'new-dir')).isDirectory());
    for (const call of [write, edit, move]) {
      assertScopeRefusal(await rpcFailure(editor.callTool(call)), refusalFor(call.name, 'write'));
    }
    assert.deepEqual(snapshot(root), { 'hello.txt': ORIGINAL, 'new-dir/': '<dir>' });
    reset(root);
  });

  it('tools:destructive on top of write lets write_file through', async () => {
    reset(root);
    const destroyer = await as('destroyer');
    assert.deepEqual(sorted(await listAll(destroyer, 'tools')), ALL_TOOLS);
    assert.equal(
      text(await destroyer.callTool(writeCalls(root).write)),
      `Successfully wrote to ${join(root, 'hello.txt')}`,
    );
    assert.equal(readFileSync(join(root, 'hello.txt'), 'utf8'), 'overwritten');
    reset(root);
  });

  it('files:* holds everything on this upstream: it lists every tool and writes, edits, moves and creates', async () => {
    reset(root);
    const star = await as('filesStar');
    assert.deepEqual(sorted(await listAll(star, 'tools')), ALL_TOOLS);
    const { write, mkdir, move } = writeCalls(root);
    await star.callTool(write);
    assert.equal(readFileSync(join(root, 'hello.txt'), 'utf8'), 'overwritten');
    await star.callTool({
      name: 'edit_file',
      arguments: { path: join(root, 'hello.txt'), edits: [{ oldText: 'over', newText: 'OVER' }] },
    });
    assert.equal(readFileSync(join(root, 'hello.txt'), 'utf8'), 'OVERwritten');
    await star.callTool(mkdir);
    await star.callTool(move);
    assert.deepEqual(snapshot(root), { 'moved.txt': 'OVERwritten', 'new-dir/': '<dir>' });
    reset(root);
  });

  it('keys holding configured roles get those roles’ scopes; the default viewer role is not defined here', async () => {
    reset(root);
    const reader = await as('roleReader');
    assert.deepEqual(sorted(await listAll(reader, 'tools')), READ_TOOLS);
    assertScopeRefusal(
      await rpcFailure(reader.callTool(writeCalls(root).mkdir)),
      refusalFor('create_directory', 'nothing'),
    );

    const builder = await as('roleBuilder');
    assert.deepEqual(sorted(await listAll(builder, 'tools')), sorted([...READ_TOOLS, ...WRITE_TOOLS]));
    assertScopeRefusal(
      await rpcFailure(builder.callTool(writeCalls(root).write)),
      refusalFor('write_file', 'write'),
    );

    const owner = await as('roleOwner');
    assert.deepEqual(sorted(await listAll(owner, 'tools')), ALL_TOOLS);
    assert.equal(
      text(await owner.callTool(writeCalls(root).write)),
      `Successfully wrote to ${join(root, 'hello.txt')}`,
    );
    assert.equal(readFileSync(join(root, 'hello.txt'), 'utf8'), 'overwritten');

    // policy.roles replaces the defaults: 'viewer' is an unknown role, which adds nothing
    const viewer = await as('roleViewer');
    assert.deepEqual(await listAll(viewer, 'tools'), []);
    assertScopeRefusal(
      await rpcFailure(viewer.callTool({ name: 'list_directory', arguments: { path: root } })),
      {
        code: FORBIDDEN,
        message:
          "tool 'list_directory' needs the scope tools:read or files:read, which this caller does not have",
        required: ['tools:read'],
        missing: [['tools:read', 'files:read']],
      },
    );
    reset(root);
  });

  it('refuses a tool the upstream does not offer, even to admin (-32602 unknown_tool)', async () => {
    const failure = await rpcFailure(
      (await as('admin')).callTool({ name: 'delete_everything', arguments: {} }),
    );
    assert.equal(failure.code, -32602, failure.message);
    assert.match(
      failure.message,
      /tool 'delete_everything' is refused: upstream 'files' does not offer that tool/,
    );
    assert.equal(failure.data.error, 'unknown_tool');
  });
});

describe('read-only mode over server-filesystem', () => {
  let g: PolicyGateway;
  let root: string;
  const clients: { close(): Promise<void> }[] = [];

  before(async () => {
    ({ g, root } = await filesGateway(
      { admin: ['*'], viewer: ['tools:read'] },
      // create_directory declared read-only by the operator: read-only mode lets it through
      { readOnly: true, tools: { 'files.create_directory': { readOnly: true } } },
    ));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await g?.close();
  });

  const open = async (key: string) => {
    const c = await policyClient(g.url('files'), g.auth(key));
    clients.push(c);
    return c.client;
  };

  it('an admin (*) does not see write_file & co., is refused them by name, and the folder is unchanged', async () => {
    const admin = await open('admin');
    assert.deepEqual(sorted(await listAll(admin, 'tools')), sorted([...READ_TOOLS, 'create_directory']));
    const before = snapshot(root);
    const { write, edit, move } = writeCalls(root);
    for (const call of [write, edit, move]) {
      assertForbidden(
        await rpcFailure(admin.callTool(call)),
        FORBIDDEN,
        `tool '${call.name}' is refused: it is not read-only and this gateway serves 'files' read-only`,
      );
    }
    assert.deepEqual(snapshot(root), before);
    assert.deepEqual(before, { 'hello.txt': ORIGINAL });
    assert.equal(
      text(await admin.callTool({ name: 'read_text_file', arguments: { path: join(root, 'hello.txt') } })),
      ORIGINAL,
    );
  });

  it('a tool the config declares read-only passes in read-only mode', async () => {
    const admin = await open('admin');
    await admin.callTool({ name: 'create_directory', arguments: { path: join(root, 'allowed') } });
    assert.ok(existsSync(join(root, 'allowed')));
    rmSync(join(root, 'allowed'), { recursive: true });
  });

  it('read-only mode is decided before scopes: a viewer gets the read-only refusal, not a scope one', async () => {
    const viewer = await open('viewer');
    assert.deepEqual(sorted(await listAll(viewer, 'tools')), sorted([...READ_TOOLS, 'create_directory']));
    assertForbidden(
      await rpcFailure(
        viewer.callTool({ name: 'write_file', arguments: { path: join(root, 'x.txt'), content: 'x' } }),
      ),
      FORBIDDEN,
      "tool 'write_file' is refused: it is not read-only and this gateway serves 'files' read-only",
    );
    assert.equal(existsSync(join(root, 'x.txt')), false);
  });
});
