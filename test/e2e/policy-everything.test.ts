/**
 * The authorization policy against server-everything (stdio) and a paging stdio server, through a real
 * gateway with API keys of chosen scopes: tools gated by their class (annotations and overrides) and by
 * rules, resources and prompts filtered and refused by rules, lists paged through complete and without
 * duplicates, a 2026-07-28 client seeing the same lists and refusals, and step-up for JWT principals
 * (HTTP 403 with an insufficient_scope challenge) against an in-band refusal for API keys.
 *
 * server-everything (2026.8.31) marks none of its tools destructive and serves its 7 resources in one
 * page: destructive gating goes through a config override here, and paging through a small stdio server
 * written by test/helpers/policy.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { post } from '../helpers/client.js';
import { EVERYTHING, stdioUpstream } from '../helpers/gateway.js';
import { type OidcFixture, startOidcProvider } from '../helpers/oidc-provider.js';
import {
  assertScopeRefusal,
  listAll,
  listPages,
  messagesOf,
  modernEnvelope,
  modernHeaders,
  openRawSession,
  type PagedFixture,
  type PolicyGateway,
  policyClient,
  type RpcMessage,
  responsesOf,
  rpcFailure,
  startPolicyGateway,
  writePagedServer,
} from '../helpers/policy.js';

const FORBIDDEN = -32003;
/** What a 2026-07-28 client gets for the same refusal (the revision retires -32000..-32019). */
const MODERN_FORBIDDEN = -32603;

/** server-everything's tools as it annotates them (readOnlyHint; every one says destructiveHint: false). */
const EVERYTHING_READ = [
  'echo',
  'get-annotated-message',
  'get-env',
  'get-resource-links',
  'get-resource-reference',
  'get-roots-list',
  'get-structured-content',
  'get-sum',
  'get-tiny-image',
  'trigger-long-running-operation',
];
const EVERYTHING_WRITE = [
  'gzip-file-as-resource',
  'simulate-research-query',
  'toggle-simulated-logging',
  'toggle-subscriber-updates',
  'trigger-elicitation-request',
  'trigger-sampling-request',
  'trigger-url-elicitation',
];

const DOC = 'demo://resource/static/document';
const DOCS = [
  'architecture.md',
  'extension.md',
  'features.md',
  'how-it-works.md',
  'instructions.md',
  'startup.md',
  'structure.md',
].map((f) => `${DOC}/${f}`);
const SECRET_DOCS = [`${DOC}/startup.md`, `${DOC}/structure.md`];
const TEXT_TEMPLATE = 'demo://resource/dynamic/text/{resourceId}';
const BLOB_TEMPLATE = 'demo://resource/dynamic/blob/{resourceId}';

const POLICY = {
  rules: [
    // rule 1: some documents, the blob template and the paged server's secret resources
    {
      resources: [`${DOC}/s*`, 'demo://resource/dynamic/blob/*', 'paged://secret/*'],
      require: ['secret:read'],
    },
    // rule 2: prompts, by <upstream>.<prompt>
    { prompts: ['everything.args-*', 'everything.resource-prompt', '*.p-3'], require: ['prompts:special'] },
    // rule 3: one sensitive read tool
    { tools: ['everything.get-env'], require: ['env:read'] },
    // rule 4: only on the paged upstream, though the pattern would match everything.echo too
    { tools: ['*.echo'], upstreams: ['paged'], require: ['echo:loud'] },
  ],
  tools: {
    // annotated write (destructiveHint: false), declared destructive here
    'everything.toggle-simulated-logging': { destructive: true },
    // annotated read-only, declared a (non-destructive) write here
    'everything.get-tiny-image': { readOnly: false },
  },
};

const VIEWER = ['tools:read', 'resources:read', 'prompts:read'];
const KEYS = {
  viewer: VIEWER,
  editor: [...VIEWER, 'tools:write'],
  full: [
    ...VIEWER,
    'tools:write',
    'tools:destructive',
    'secret:read',
    'prompts:special',
    'env:read',
    'echo:loud',
  ],
  everythingStar: ['everything:*'],
  toolsOnly: ['tools:read'],
  admin: ['*'],
  // the default roles (no policy.roles in this config)
  roleViewer: { roles: ['viewer'] },
  roleEditor: { roles: ['editor'] },
  roleAdmin: { roles: ['admin'] },
  roleUnknown: { scopes: ['tools:read'], roles: ['superuser'] },
} as const;

const sorted = (names: readonly string[]) => [...names].sort();
/** The array `key` of a raw response's result (fails the test if it is not there). */
function resultList<T>(message: RpcMessage | undefined, key: string): T[] {
  const value = message?.result?.[key];
  assert.ok(Array.isArray(value), `no ${key} in ${JSON.stringify(message)}`);
  return value as T[];
}
const text = (result: { content?: unknown }) =>
  (result.content as { type: string; text?: string }[] | undefined)?.[0]?.text ?? '';

/** The tools each key sees on server-everything. */
const VIEWER_TOOLS = EVERYTHING_READ.filter((t) => t !== 'get-env' && t !== 'get-tiny-image');
const EDITOR_TOOLS = [
  ...VIEWER_TOOLS,
  'get-tiny-image',
  ...EVERYTHING_WRITE.filter((t) => t !== 'toggle-simulated-logging'),
];
const ALL_TOOLS = [...EVERYTHING_READ, ...EVERYTHING_WRITE];

/** The paged server: 10 resources, 7 tools and 5 prompts, in pages of 3. */
const PAGED = {
  pageSize: 3,
  resources: [
    'paged://public/0',
    'paged://secret/1',
    'paged://public/2',
    'paged://secret/3',
    'paged://secret/4',
    'paged://secret/5',
    'paged://public/6',
    'paged://public/7',
    'paged://public/8',
    'paged://secret/9',
  ],
  tools: [
    { name: 'look-0', annotations: { readOnlyHint: true } },
    { name: 'change-1', annotations: { readOnlyHint: false, destructiveHint: false } },
    { name: 'echo', annotations: { readOnlyHint: true } },
    { name: 'look-3', annotations: { readOnlyHint: true } },
    { name: 'wipe-4', annotations: { readOnlyHint: false } },
    { name: 'look-5', annotations: { readOnlyHint: true } },
    { name: 'change-6', annotations: { destructiveHint: false } },
  ],
  prompts: ['p-0', 'args-x', 'p-2', 'p-3', 'p-4'],
};

describe('policy over server-everything and a paging server (API keys)', () => {
  let g: PolicyGateway;
  let fixture: PagedFixture | undefined;
  const clients = new Map<string, { client: Client; close(): Promise<void> }>();

  /** One shared client per key, upstream and protocol family (2025 by default, or 2026-07-28). */
  async function as(key: keyof typeof KEYS, upstream = 'everything', modern = false): Promise<Client> {
    const id = `${key}/${upstream}/${modern}`;
    let c = clients.get(id);
    if (!c) {
      c = await policyClient(g.url(upstream), g.auth(key), modern);
      clients.set(id, c);
    }
    return c.client;
  }

  before(async () => {
    g = await startPolicyGateway({
      keys: KEYS,
      policy: POLICY,
      upstreams: (dir) => {
        fixture = writePagedServer(dir, PAGED);
        return stdioUpstream('everything', EVERYTHING, ['stdio']) + stdioUpstream('paged', fixture.script);
      },
    });
  });

  after(async () => {
    for (const c of clients.values()) await c.close();
    await g?.close();
  });

  describe('tools', () => {
    it('server-everything reports the annotations this suite relies on, and admin (*) sees every tool', async () => {
      const { tools } = await (await as('admin')).listTools();
      assert.deepEqual(sorted(tools.map((t) => t.name)), sorted(ALL_TOOLS));
      for (const tool of tools) {
        const readOnly = EVERYTHING_READ.includes(tool.name);
        assert.equal(tool.annotations?.readOnlyHint, readOnly, `${tool.name} readOnlyHint`);
        assert.equal(tool.annotations?.destructiveHint, false, `${tool.name} destructiveHint`);
      }
    });

    it('filters tools/list by class, overrides and rules, per key', async () => {
      const names = async (key: keyof typeof KEYS) => sorted(await listAll(await as(key), 'tools'));
      assert.deepEqual(await names('viewer'), sorted(VIEWER_TOOLS));
      assert.deepEqual(await names('toolsOnly'), sorted(VIEWER_TOOLS));
      assert.deepEqual(await names('editor'), sorted(EDITOR_TOOLS));
      assert.deepEqual(await names('full'), sorted(ALL_TOOLS));
      // everything:* meets every class requirement on this upstream, but not rule 3 (env:read)
      assert.deepEqual(await names('everythingStar'), sorted(ALL_TOOLS.filter((t) => t !== 'get-env')));
    });

    it('a viewer runs read tools, and is refused write tools by name with the missing scope named', async () => {
      const viewer = await as('viewer');
      assert.equal(text(await viewer.callTool({ name: 'echo', arguments: { message: 'hi' } })), 'Echo: hi');
      assert.equal(
        text(await viewer.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } })),
        'The sum of 2 and 3 is 5.',
      );
      assertScopeRefusal(
        await rpcFailure(viewer.callTool({ name: 'toggle-subscriber-updates', arguments: {} })),
        {
          code: FORBIDDEN,
          message:
            "tool 'toggle-subscriber-updates' needs the scope tools:write or everything:write, which this caller does not have",
          required: ['tools:write'],
          missing: [['tools:write', 'everything:write']],
        },
      );
      // read-only by annotation, a write by override
      assertScopeRefusal(await rpcFailure(viewer.callTool({ name: 'get-tiny-image', arguments: {} })), {
        code: FORBIDDEN,
        message:
          "tool 'get-tiny-image' needs the scope tools:write or everything:write, which this caller does not have",
        required: ['tools:write'],
        missing: [['tools:write', 'everything:write']],
      });
      // a write by annotation, destructive by override: both requirements are missing
      assertScopeRefusal(
        await rpcFailure(viewer.callTool({ name: 'toggle-simulated-logging', arguments: {} })),
        {
          code: FORBIDDEN,
          message:
            "tool 'toggle-simulated-logging' needs the scope tools:write or everything:write, and tools:destructive or everything:destructive, which this caller does not have",
          required: ['tools:write', 'tools:destructive'],
          missing: [
            ['tools:write', 'everything:write'],
            ['tools:destructive', 'everything:destructive'],
          ],
        },
      );
    });

    it('a rule adds its scope to a read tool: get-env needs env:read, even with everything:*', async () => {
      for (const key of ['viewer', 'everythingStar'] as const) {
        assertScopeRefusal(await rpcFailure((await as(key)).callTool({ name: 'get-env', arguments: {} })), {
          code: FORBIDDEN,
          message: "tool 'get-env' needs the scope env:read, which this caller does not have",
          required: ['tools:read', 'env:read'],
          missing: [['env:read']],
        });
      }
      const result = await (await as('full')).callTool({ name: 'get-env', arguments: {} });
      assert.equal(typeof JSON.parse(text(result)), 'object');
    });

    it('an editor runs non-destructive writes but not the tool declared destructive; full and everything:* run it', async () => {
      const editor = await as('editor');
      assert.match(
        text(await editor.callTool({ name: 'toggle-subscriber-updates', arguments: {} })),
        /^Started simulated resource updated notifications for session /,
      );
      assert.equal(
        text(await editor.callTool({ name: 'get-tiny-image', arguments: {} })),
        "Here's the image you requested:",
      );
      assertScopeRefusal(
        await rpcFailure(editor.callTool({ name: 'toggle-simulated-logging', arguments: {} })),
        {
          code: FORBIDDEN,
          message:
            "tool 'toggle-simulated-logging' needs the scope tools:destructive or everything:destructive, which this caller does not have",
          required: ['tools:write', 'tools:destructive'],
          missing: [['tools:destructive', 'everything:destructive']],
        },
      );
      for (const key of ['full', 'everythingStar'] as const) {
        const client = await as(key);
        assert.match(
          text(await client.callTool({ name: 'toggle-simulated-logging', arguments: {} })),
          /^Started simulated, random-leveled logging for session /,
        );
        assert.match(
          text(await client.callTool({ name: 'toggle-simulated-logging', arguments: {} })),
          /^Stopped simulated logging for session /,
        );
      }
    });

    it('refuses a tool the upstream does not offer, even to admin, with -32602 as the specification has it', async () => {
      const failure = await rpcFailure((await as('admin')).callTool({ name: 'no-such-tool', arguments: {} }));
      assert.equal(failure.code, -32602, failure.message);
      assert.match(
        failure.message,
        /tool 'no-such-tool' is refused: upstream 'everything' does not offer that tool/,
      );
      assert.equal(failure.data.error, 'unknown_tool');
      assert.equal(failure.data.requiredScopes, undefined);
    });

    it('keys holding the default roles see what the scopes of those roles show; an unknown role adds nothing', async () => {
      const pairs = [
        ['roleViewer', 'viewer'],
        ['roleEditor', 'editor'],
        ['roleAdmin', 'admin'],
        ['roleUnknown', 'toolsOnly'],
      ] as const;
      for (const [role, same] of pairs) {
        for (const kind of ['tools', 'resources', 'resourceTemplates', 'prompts'] as const) {
          assert.deepEqual(
            await listAll(await as(role), kind),
            await listAll(await as(same), kind),
            `${role} ${kind}`,
          );
        }
      }
      assertScopeRefusal(
        await rpcFailure(
          (await as('roleEditor')).callTool({ name: 'toggle-simulated-logging', arguments: {} }),
        ),
        {
          code: FORBIDDEN,
          message:
            "tool 'toggle-simulated-logging' needs the scope tools:destructive or everything:destructive, which this caller does not have",
          required: ['tools:write', 'tools:destructive'],
          missing: [['tools:destructive', 'everything:destructive']],
        },
      );
      assert.match(
        text(await (await as('roleEditor')).callTool({ name: 'toggle-subscriber-updates', arguments: {} })),
        /^Started simulated resource updated notifications/,
      );
      assertScopeRefusal(
        await rpcFailure((await as('roleUnknown')).readResource({ uri: `${DOC}/architecture.md` })),
        {
          code: FORBIDDEN,
          message: `resource '${DOC}/architecture.md' needs the scope resources:read or everything:read, which this caller does not have`,
          required: ['resources:read'],
          missing: [['resources:read', 'everything:read']],
        },
      );
    });

    it('a rule restricted to another upstream does not apply: everything.echo is not gated by rule 4', async () => {
      const viewer = await as('viewer');
      assert.ok((await listAll(viewer, 'tools')).includes('echo'));
      assert.equal(text(await viewer.callTool({ name: 'echo', arguments: { message: 'x' } })), 'Echo: x');
    });
  });

  describe('resources', () => {
    it('hides the documents of rule 1 from resources/list unless the caller holds secret:read', async () => {
      const open = DOCS.filter((d) => !SECRET_DOCS.includes(d));
      assert.deepEqual(await listPages(await as('viewer'), 'resources'), [open]);
      assert.deepEqual(await listPages(await as('everythingStar'), 'resources'), [open]);
      assert.deepEqual(await listPages(await as('full'), 'resources'), [DOCS]);
      assert.deepEqual(await listPages(await as('admin'), 'resources'), [DOCS]);
      // tools:read alone reads no resources at all
      assert.deepEqual(await listPages(await as('toolsOnly'), 'resources'), [[]]);
    });

    it('refuses resources/read of a hidden document, and reads a visible one', async () => {
      const viewer = await as('viewer');
      const ok = await viewer.readResource({ uri: `${DOC}/architecture.md` });
      assert.equal(ok.contents[0]?.uri, `${DOC}/architecture.md`);
      for (const uri of SECRET_DOCS) {
        assertScopeRefusal(await rpcFailure(viewer.readResource({ uri })), {
          code: FORBIDDEN,
          message: `resource '${uri}' needs the scope secret:read, which this caller does not have`,
          required: ['resources:read', 'secret:read'],
          missing: [['secret:read']],
        });
      }
      const full = await (await as('full')).readResource({ uri: `${DOC}/startup.md` });
      assert.equal(full.contents[0]?.uri, `${DOC}/startup.md`);
      assertScopeRefusal(
        await rpcFailure((await as('toolsOnly')).readResource({ uri: `${DOC}/architecture.md` })),
        {
          code: FORBIDDEN,
          message: `resource '${DOC}/architecture.md' needs the scope resources:read or everything:read, which this caller does not have`,
          required: ['resources:read'],
          missing: [['resources:read', 'everything:read']],
        },
      );
    });

    it('decides on the URI the upstream will serve: case and dot-segment variants of a hidden URI are refused too', async () => {
      // The upstream (the SDK's McpServer) looks resources up by new URL(uri).href: the scheme is
      // lower-cased and dot segments are removed, so each of these reads a secret resource.
      const viewer = await as('viewer');
      for (const uri of [
        'DEMO://resource/static/document/startup.md',
        'demo://resource/static/document/x/../startup.md',
        'demo://resource/static/document/./structure.md',
        'demo://resource/dynamic/text/../blob/1',
        'Demo://resource/dynamic/blob/1',
      ]) {
        const failure = await rpcFailure(viewer.readResource({ uri }));
        assert.equal(failure.code, FORBIDDEN, `${uri}: ${failure.message}`);
        assert.equal(failure.data.error, 'insufficient_scope', uri);
        assert.deepEqual(failure.data.requiredScopes, ['resources:read', 'secret:read'], uri);
        assert.deepEqual(failure.data.missingScopes, [['secret:read']], uri);
        assert.match(failure.message, /needs the scope secret:read, which this caller does not have$/, uri);
      }
    });

    it('filters resource templates by the same rule, and refuses reads through the hidden one', async () => {
      assert.deepEqual(await listPages(await as('viewer'), 'resourceTemplates'), [[TEXT_TEMPLATE]]);
      assert.deepEqual(
        sorted(await listAll(await as('full'), 'resourceTemplates')),
        sorted([TEXT_TEMPLATE, BLOB_TEMPLATE]),
      );
      assert.deepEqual(await listPages(await as('toolsOnly'), 'resourceTemplates'), [[]]);
      const viewer = await as('viewer');
      const textResource = await viewer.readResource({ uri: 'demo://resource/dynamic/text/1' });
      assert.equal(textResource.contents[0]?.uri, 'demo://resource/dynamic/text/1');
      assertScopeRefusal(await rpcFailure(viewer.readResource({ uri: 'demo://resource/dynamic/blob/1' })), {
        code: FORBIDDEN,
        message:
          "resource 'demo://resource/dynamic/blob/1' needs the scope secret:read, which this caller does not have",
        required: ['resources:read', 'secret:read'],
        missing: [['secret:read']],
      });
      const blob = await (await as('full')).readResource({ uri: 'demo://resource/dynamic/blob/1' });
      assert.equal(blob.contents[0]?.uri, 'demo://resource/dynamic/blob/1');
    });

    it('refuses resources/subscribe to a hidden document and allows it for a visible one', async () => {
      const viewer = await as('viewer');
      assert.deepEqual(await viewer.subscribeResource({ uri: `${DOC}/architecture.md` }), {});
      assertScopeRefusal(await rpcFailure(viewer.subscribeResource({ uri: `${DOC}/startup.md` })), {
        code: FORBIDDEN,
        message: `resource '${DOC}/startup.md' needs the scope secret:read, which this caller does not have`,
        required: ['resources:read', 'secret:read'],
        missing: [['secret:read']],
      });
    });
  });

  describe('prompts', () => {
    it('filters prompts/list by rule 2 and refuses prompts/get and completions of hidden prompts', async () => {
      const viewer = await as('viewer');
      assert.deepEqual(await listPages(viewer, 'prompts'), [['simple-prompt', 'completable-prompt']]);
      assert.deepEqual(await listPages(await as('everythingStar'), 'prompts'), [
        ['simple-prompt', 'completable-prompt'],
      ]);
      assert.deepEqual(
        sorted(await listAll(await as('full'), 'prompts')),
        sorted(['simple-prompt', 'args-prompt', 'completable-prompt', 'resource-prompt']),
      );
      assert.deepEqual(await listPages(await as('toolsOnly'), 'prompts'), [[]]);

      const simple = await viewer.getPrompt({ name: 'simple-prompt' });
      assert.equal(simple.messages.length, 1);
      for (const name of ['args-prompt', 'resource-prompt']) {
        assertScopeRefusal(await rpcFailure(viewer.getPrompt({ name, arguments: { city: 'Paris' } })), {
          code: FORBIDDEN,
          message: `prompt '${name}' needs the scope prompts:special, which this caller does not have`,
          required: ['prompts:read', 'prompts:special'],
          missing: [['prompts:special']],
        });
      }
      const args = await (await as('full')).getPrompt({ name: 'args-prompt', arguments: { city: 'Paris' } });
      assert.deepEqual(args.messages[0]?.content, { type: 'text', text: "What's weather in Paris?" });

      const completion = await viewer.complete({
        ref: { type: 'ref/prompt', name: 'completable-prompt' },
        argument: { name: 'department', value: 'E' },
      });
      assert.deepEqual(completion.completion.values, ['Engineering']);
      assertScopeRefusal(
        await rpcFailure(
          viewer.complete({
            ref: { type: 'ref/prompt', name: 'args-prompt' },
            argument: { name: 'city', value: 'P' },
          }),
        ),
        {
          code: FORBIDDEN,
          message: 'this completion needs the scope prompts:special, which this caller does not have',
          required: ['prompts:read', 'prompts:special'],
          missing: [['prompts:special']],
        },
      );
      assertScopeRefusal(
        await rpcFailure(
          viewer.complete({
            ref: { type: 'ref/resource', uri: BLOB_TEMPLATE },
            argument: { name: 'resourceId', value: '1' },
          }),
        ),
        {
          code: FORBIDDEN,
          message: 'this completion needs the scope secret:read, which this caller does not have',
          required: ['resources:read', 'secret:read'],
          missing: [['secret:read']],
        },
      );
    });
  });

  describe('pagination through filtered lists (paging server)', () => {
    it('the upstream pages as the fixture says (admin sees every item, page by page)', async () => {
      const admin = await as('admin', 'paged');
      assert.deepEqual(await listPages(admin, 'resources'), [
        PAGED.resources.slice(0, 3),
        PAGED.resources.slice(3, 6),
        PAGED.resources.slice(6, 9),
        PAGED.resources.slice(9),
      ]);
      assert.deepEqual(await listPages(admin, 'tools'), [
        ['look-0', 'change-1', 'echo'],
        ['look-3', 'wipe-4', 'look-5'],
        ['change-6'],
      ]);
      assert.deepEqual(await listPages(admin, 'prompts'), [
        ['p-0', 'args-x', 'p-2'],
        ['p-3', 'p-4'],
      ]);
    });

    it('a filtered resources/list keeps every cursor: complete, in order, no duplicates, empty pages kept', async () => {
      const pages = await listPages(await as('viewer', 'paged'), 'resources');
      assert.deepEqual(pages, [
        ['paged://public/0', 'paged://public/2'],
        [],
        ['paged://public/6', 'paged://public/7', 'paged://public/8'],
        [],
      ]);
      const all = pages.flat();
      assert.equal(new Set(all).size, all.length, 'no duplicates');
      assert.deepEqual(
        all,
        PAGED.resources.filter((u) => u.startsWith('paged://public/')),
      );
      const full = (await listPages(await as('full', 'paged'), 'resources')).flat();
      assert.deepEqual(full, PAGED.resources);
    });

    it('filters paged tools and prompts, and decides calls on tools listed on later pages', async () => {
      const viewer = await as('viewer', 'paged');
      assert.deepEqual(await listPages(viewer, 'tools'), [['look-0'], ['look-3', 'look-5'], []]);
      assert.deepEqual(await listPages(await as('editor', 'paged'), 'tools'), [
        ['look-0', 'change-1'],
        ['look-3', 'look-5'],
        ['change-6'],
      ]);
      assert.deepEqual(await listPages(viewer, 'prompts'), [['p-0', 'args-x', 'p-2'], ['p-4']]);
      assert.equal(text(await viewer.callTool({ name: 'look-5', arguments: {} })), 'ran look-5');
      // change-6 is on the last page: refused for its class, not as an unknown tool
      assertScopeRefusal(await rpcFailure(viewer.callTool({ name: 'change-6', arguments: {} })), {
        code: FORBIDDEN,
        message:
          "tool 'change-6' needs the scope tools:write or paged:write, which this caller does not have",
        required: ['tools:write'],
        missing: [['tools:write', 'paged:write']],
      });
      const editor = await as('editor', 'paged');
      assert.equal(text(await editor.callTool({ name: 'change-6', arguments: {} })), 'ran change-6');
      // no annotations beyond readOnlyHint: false → destructive
      assertScopeRefusal(await rpcFailure(editor.callTool({ name: 'wipe-4', arguments: {} })), {
        code: FORBIDDEN,
        message:
          "tool 'wipe-4' needs the scope tools:destructive or paged:destructive, which this caller does not have",
        required: ['tools:write', 'tools:destructive'],
        missing: [['tools:destructive', 'paged:destructive']],
      });
      // rule 4 applies on this upstream
      assertScopeRefusal(await rpcFailure(viewer.callTool({ name: 'echo', arguments: {} })), {
        code: FORBIDDEN,
        message: "tool 'echo' needs the scope echo:loud, which this caller does not have",
        required: ['tools:read', 'echo:loud'],
        missing: [['echo:loud']],
      });
      assert.equal(
        text(await (await as('full', 'paged')).callTool({ name: 'echo', arguments: {} })),
        'ran echo',
      );
      assertScopeRefusal(await rpcFailure(viewer.getPrompt({ name: 'p-3' })), {
        code: FORBIDDEN,
        message: "prompt 'p-3' needs the scope prompts:special, which this caller does not have",
        required: ['prompts:read', 'prompts:special'],
        missing: [['prompts:special']],
      });
      assertScopeRefusal(await rpcFailure(viewer.readResource({ uri: 'paged://secret/9' })), {
        code: FORBIDDEN,
        message: "resource 'paged://secret/9' needs the scope secret:read, which this caller does not have",
        required: ['resources:read', 'secret:read'],
        missing: [['secret:read']],
      });
    });
  });

  describe('a 2026-07-28 client (SDK v2 pinned) sees the same lists and refusals', () => {
    for (const key of ['viewer', 'editor', 'everythingStar', 'toolsOnly', 'full'] as const) {
      it(`${key}: tools, resources, templates and prompts as the 2025 client sees them`, async () => {
        const legacy = await as(key);
        const modern = await as(key, 'everything', true);
        for (const kind of ['tools', 'resources', 'resourceTemplates', 'prompts'] as const) {
          assert.deepEqual(sorted(await listAll(modern, kind)), sorted(await listAll(legacy, kind)), kind);
        }
      });
    }

    it('viewer: the same refusals, with the code the revision allows', async () => {
      const modern = await as('viewer', 'everything', true);
      assertScopeRefusal(
        await rpcFailure(modern.callTool({ name: 'toggle-subscriber-updates', arguments: {} })),
        {
          code: MODERN_FORBIDDEN,
          message:
            "tool 'toggle-subscriber-updates' needs the scope tools:write or everything:write, which this caller does not have",
          required: ['tools:write'],
          missing: [['tools:write', 'everything:write']],
        },
      );
      assertScopeRefusal(await rpcFailure(modern.callTool({ name: 'get-env', arguments: {} })), {
        code: MODERN_FORBIDDEN,
        message: "tool 'get-env' needs the scope env:read, which this caller does not have",
        required: ['tools:read', 'env:read'],
        missing: [['env:read']],
      });
      assertScopeRefusal(await rpcFailure(modern.readResource({ uri: `${DOC}/startup.md` })), {
        code: MODERN_FORBIDDEN,
        message: `resource '${DOC}/startup.md' needs the scope secret:read, which this caller does not have`,
        required: ['resources:read', 'secret:read'],
        missing: [['secret:read']],
      });
      assertScopeRefusal(
        await rpcFailure(modern.getPrompt({ name: 'args-prompt', arguments: { city: 'Paris' } })),
        {
          code: MODERN_FORBIDDEN,
          message: "prompt 'args-prompt' needs the scope prompts:special, which this caller does not have",
          required: ['prompts:read', 'prompts:special'],
          missing: [['prompts:special']],
        },
      );
      const unknown = await rpcFailure(modern.callTool({ name: 'no-such-tool', arguments: {} }));
      assert.equal(unknown.code, -32602, 'Invalid params, in 2026-07-28 too');
      assert.equal(unknown.data.error, 'unknown_tool');
      assert.equal(text(await modern.callTool({ name: 'echo', arguments: { message: 'm' } })), 'Echo: m');
    });

    it('pages through the paging server with the same filtered pages', async () => {
      const modern = await as('viewer', 'paged', true);
      assert.deepEqual(await listPages(modern, 'resources'), [
        ['paged://public/0', 'paged://public/2'],
        [],
        ['paged://public/6', 'paged://public/7', 'paged://public/8'],
        [],
      ]);
      assert.deepEqual(await listPages(modern, 'tools'), [['look-0'], ['look-3', 'look-5'], []]);
      assert.deepEqual(await listPages(modern, 'prompts'), [['p-0', 'args-x', 'p-2'], ['p-4']]);
      assertScopeRefusal(await rpcFailure(modern.callTool({ name: 'change-6', arguments: {} })), {
        code: MODERN_FORBIDDEN,
        message:
          "tool 'change-6' needs the scope tools:write or paged:write, which this caller does not have",
        required: ['tools:write'],
        missing: [['tools:write', 'paged:write']],
      });
    });
  });
});

describe('step-up: JWT principals get HTTP 403 with an insufficient_scope challenge, API keys an in-band error', () => {
  let op: OidcFixture;
  let g: PolicyGateway;
  let url: string;
  let metadata: string;
  const BASE = { 'mcp-protocol-version': '2025-11-25' };
  const CALL_LOGGING = {
    jsonrpc: '2.0',
    id: 7,
    method: 'tools/call',
    params: { name: 'toggle-simulated-logging', arguments: {} },
  };
  const READ_SECRET = {
    jsonrpc: '2.0',
    id: 8,
    method: 'resources/read',
    params: { uri: `${DOC}/startup.md` },
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const token = (scopes: readonly string[]) => op.token(scopes, { resource: url });
  const challenge = (scope: string) =>
    `Bearer error="insufficient_scope", scope="${scope}", resource_metadata="${metadata}"`;

  before(async () => {
    op = await startOidcProvider({ resource: 'http://127.0.0.1:9/unused', accessTokenTtl: 300 });
    g = await startPolicyGateway({
      keys: { reader: ['tools:read', 'resources:read'] },
      auth: `  jwt: { issuer: ${JSON.stringify(op.issuer)}, jwksUrl: ${JSON.stringify(op.jwksUri)} }`,
      policy: POLICY,
      upstreams: stdioUpstream('everything', EVERYTHING, ['stdio']),
    });
    url = g.url();
    metadata = `${g.gw.url}/.well-known/oauth-protected-resource/mcp`;
  });
  after(async () => {
    await g?.close();
    await op?.close();
  });

  /** Asserts a 403 JSON answer carrying the refusal of request `id` and the challenge for `scope`. */
  function assertStepUp(
    res: { status: number; headers: Headers; text: string },
    id: number,
    scope: string,
    code: number,
    message: string,
  ): void {
    assert.equal(res.status, 403, res.text);
    assert.equal(res.headers.get('www-authenticate'), challenge(scope));
    const body = JSON.parse(res.text) as RpcMessage;
    assert.equal(body.id, id);
    assert.equal(body.error?.code, code);
    assert.equal(body.error?.message, message);
    assert.equal(body.error?.data?.error, 'insufficient_scope');
    assert.deepEqual(body.error?.data?.requiredScopes, scope.split(' '));
  }

  it('a lone refused tools/call from a JWT principal: 403 with the challenge; the same session then steps up', async () => {
    const weak = await token(['tools:read', 'resources:read']);
    const sid = await openRawSession(url, bearer(weak));
    const session = { ...BASE, 'mcp-session-id': sid };

    const refused = await post(url, CALL_LOGGING, { ...bearer(weak), ...session });
    assertStepUp(
      refused,
      7,
      'tools:write tools:destructive',
      FORBIDDEN,
      "tool 'toggle-simulated-logging' needs the scope tools:write or everything:write, and tools:destructive or everything:destructive, which this caller does not have",
    );

    // a rule's scope is in the challenge too
    const secret = await post(url, READ_SECRET, { ...bearer(weak), ...session });
    assertStepUp(
      secret,
      8,
      'resources:read secret:read',
      FORBIDDEN,
      `resource '${DOC}/startup.md' needs the scope secret:read, which this caller does not have`,
    );

    // the weak token's list lacks the tool
    const listed = responsesOf(
      await post(url, { jsonrpc: '2.0', id: 9, method: 'tools/list' }, { ...bearer(weak), ...session }),
    );
    const weakTools = resultList<{ name: string }>(listed[0], 'tools').map((t) => t.name);
    assert.ok(!weakTools.includes('toggle-simulated-logging'));
    assert.ok(weakTools.includes('echo'));

    // a new token with the needed scopes, on the SAME session
    const strong = await token([
      'tools:read',
      'tools:write',
      'tools:destructive',
      'resources:read',
      'secret:read',
    ]);
    const allowed = await post(url, CALL_LOGGING, { ...bearer(strong), ...session });
    assert.equal(allowed.status, 200, allowed.text);
    const [answer] = responsesOf(allowed);
    assert.equal(answer?.id, 7);
    assert.match(
      String(resultList<{ text: string }>(answer, 'content')[0]?.text),
      /^Started simulated, random-leveled logging for session /,
    );
    const read = responsesOf(await post(url, READ_SECRET, { ...bearer(strong), ...session }));
    assert.equal(resultList<{ uri: string }>(read[0], 'contents')[0]?.uri, `${DOC}/startup.md`);
    const strongList = responsesOf(
      await post(url, { jsonrpc: '2.0', id: 10, method: 'tools/list' }, { ...bearer(strong), ...session }),
    );
    assert.ok(
      resultList<{ name: string }>(strongList[0], 'tools').some((t) => t.name === 'toggle-simulated-logging'),
    );

    // the weak token again on the same session: decided by its own scopes, not the session's past
    assertStepUp(
      await post(url, { ...CALL_LOGGING, id: 11 }, { ...bearer(weak), ...session }),
      11,
      'tools:write tools:destructive',
      FORBIDDEN,
      "tool 'toggle-simulated-logging' needs the scope tools:write or everything:write, and tools:destructive or everything:destructive, which this caller does not have",
    );
    const off = responsesOf(await post(url, { ...CALL_LOGGING, id: 12 }, { ...bearer(strong), ...session }));
    assert.match(
      String(resultList<{ text: string }>(off[0], 'content')[0]?.text),
      /^Stopped simulated logging/,
    );
  });

  it('an API-key principal gets HTTP 200 and an in-band JSON-RPC error, with no challenge', async () => {
    const sid = await openRawSession(url, g.auth('reader'));
    const res = await post(url, CALL_LOGGING, { ...g.auth('reader'), ...BASE, 'mcp-session-id': sid });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('www-authenticate'), null);
    const [answer] = responsesOf(res);
    assert.equal(answer?.id, 7);
    assert.equal(answer?.error?.code, FORBIDDEN);
    assert.equal(
      answer?.error?.message,
      "tool 'toggle-simulated-logging' needs the scope tools:write or everything:write, and tools:destructive or everything:destructive, which this caller does not have",
    );
    assert.deepEqual(answer?.error?.data?.requiredScopes, ['tools:write', 'tools:destructive']);
  });

  it('a refusal inside a batch (2025-03-26) is answered in-band even for a JWT principal', async () => {
    const weak = await token(['tools:read']);
    const sid = await openRawSession(url, bearer(weak), '2025-03-26');
    const res = await post(
      url,
      [
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: 'b' } },
        },
        { ...CALL_LOGGING, id: 2 },
      ],
      { ...bearer(weak), 'mcp-protocol-version': '2025-03-26', 'mcp-session-id': sid },
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('www-authenticate'), null);
    const answers = new Map(responsesOf(res).map((m) => [m.id, m]));
    assert.equal(answers.size, 2);
    assert.deepEqual(answers.get(1)?.result?.content, [{ type: 'text', text: 'Echo: b' }]);
    assert.equal(answers.get(2)?.error?.code, FORBIDDEN);
    assert.deepEqual(answers.get(2)?.error?.data?.requiredScopes, ['tools:write', 'tools:destructive']);
  });

  const MODERN_CALL = { ...CALL_LOGGING, params: { ...CALL_LOGGING.params, _meta: modernEnvelope() } };
  const MODERN_HEADERS = modernHeaders('tools/call', 'toggle-simulated-logging');
  const LOGGING_REFUSAL =
    "tool 'toggle-simulated-logging' needs the scope tools:write or everything:write, and tools:destructive or everything:destructive, which this caller does not have";

  it('2026-07-28: a JWT principal gets the 403 challenge, an API key the in-band error; a stronger token passes', async () => {
    const weak = await token(['tools:read']);
    const refused = await post(url, MODERN_CALL, { ...MODERN_HEADERS, ...bearer(weak) });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.headers.get('www-authenticate'), challenge('tools:write tools:destructive'));
    const body = JSON.parse(refused.text) as RpcMessage;
    assert.equal(body.id, 7);
    assert.equal(body.error?.message, LOGGING_REFUSAL);
    assert.deepEqual(body.error?.data?.requiredScopes, ['tools:write', 'tools:destructive']);

    const keyed = await post(url, MODERN_CALL, { ...MODERN_HEADERS, ...g.auth('reader') });
    assert.equal(keyed.status, 200, keyed.text);
    assert.equal(keyed.headers.get('www-authenticate'), null);
    const [answer] = messagesOf(keyed);
    assert.equal(answer?.id, 7);
    assert.equal(answer?.error?.code, MODERN_FORBIDDEN);
    assert.equal(answer?.error?.message, LOGGING_REFUSAL);
    assert.deepEqual(answer?.error?.data?.requiredScopes, ['tools:write', 'tools:destructive']);

    const strong = await token(['tools:read', 'tools:write', 'tools:destructive']);
    const ok = await post(url, MODERN_CALL, { ...MODERN_HEADERS, ...bearer(strong) });
    assert.equal(ok.status, 200, ok.text);
    const [result] = messagesOf(ok).filter((m) => m.id === 7);
    assert.match(
      String(resultList<{ text: string }>(result, 'content')[0]?.text),
      /^Started simulated, random-leveled logging for session /,
    );
  });

  it('2026-07-28: the 403 carries the JSON-RPC code the revision allows, as the in-band refusal does', async () => {
    const weak = await token(['tools:read']);
    assertStepUp(
      await post(url, MODERN_CALL, { ...MODERN_HEADERS, ...bearer(weak) }),
      7,
      'tools:write tools:destructive',
      MODERN_FORBIDDEN,
      LOGGING_REFUSAL,
    );
  });
});
