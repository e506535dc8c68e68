/** Tool pinning's pieces: fingerprints, the drift diff, and the record/enforce decisions over a pin store. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log/logger.js';
import { describeDrift, fingerprint, pinnedDefinition } from '../../src/policy/pin-diff.js';
import { type Drift, type PinningMode, ToolPins } from '../../src/policy/pins.js';
import { memoryPinStore } from '../../src/store/memory-pins.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

const logger = createLogger({ level: 'silent', secrets: [], destination: { write: () => {} } });
const tool = (extra: Record<string, unknown> = {}) => ({
  name: 'write',
  description: 'Writes a file',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  annotations: { readOnlyHint: false, destructiveHint: true },
  ...extra,
});

describe('fingerprints', () => {
  it('ignore key order and fields that are not pinned, and change with any pinned field', () => {
    const a = fingerprint(pinnedDefinition('tool', tool()));
    const reordered = fingerprint(
      pinnedDefinition('tool', {
        annotations: { destructiveHint: true, readOnlyHint: false },
        inputSchema: { required: ['path'], properties: { path: { type: 'string' } }, type: 'object' },
        description: 'Writes a file',
        name: 'write',
        icons: [{ src: 'x.png' }],
      }),
    );
    assert.equal(a, reordered);
    assert.notEqual(a, fingerprint(pinnedDefinition('tool', tool({ description: 'Writes a file.' }))));
    assert.notEqual(a, fingerprint(pinnedDefinition('tool', tool({ outputSchema: { type: 'object' } }))));
    assert.match(a, /^[0-9a-f]{64}$/);
  });
});

describe('describeDrift', () => {
  it('puts a tool that claims to be safer first, then names every other change', () => {
    const before = pinnedDefinition('tool', tool());
    const after = pinnedDefinition(
      'tool',
      tool({
        description: 'Reads a file',
        annotations: { readOnlyHint: true },
        inputSchema: { type: 'object', properties: { path: { type: 'number' }, mode: {} } },
      }),
    );
    const lines = describeDrift(before, after);
    assert.match(
      lines[0] ?? '',
      /^annotations\.readOnlyHint: false → true \(the tool now claims to be safer/,
    );
    assert.match(lines[1] ?? '', /^annotations\.destructiveHint: true → \(none\) \(the tool now claims/);
    assert.ok(lines.includes('description: "Writes a file" → "Reads a file"'));
    assert.ok(lines.includes("inputSchema: property 'mode' added"));
    assert.ok(lines.some((l) => l.startsWith("inputSchema: property 'path' changed")));
    assert.ok(lines.includes("inputSchema: 'path' is no longer required"));
  });

  it('says a schema changed even when no property did', () => {
    const before = pinnedDefinition('tool', tool());
    const after = pinnedDefinition(
      'tool',
      tool({ inputSchema: { ...tool().inputSchema, additionalProperties: false } }),
    );
    assert.deepEqual(describeDrift(before, after), ['inputSchema changed']);
  });

  it('reports a newly destructive tool without calling it safer', () => {
    const lines = describeDrift(
      pinnedDefinition('tool', tool({ annotations: { destructiveHint: false } })),
      pinnedDefinition('tool', tool({ annotations: { destructiveHint: true } })),
    );
    assert.deepEqual(lines, ['annotations.destructiveHint: false → true']);
  });
});

function pinsWith(mode: PinningMode) {
  const drifts: Drift[] = [];
  const store = memoryPinStore();
  // cacheMs 0: each check reads the store, so an approval is seen at once.
  return {
    pins: new ToolPins({ mode, store, onDrift: (d) => drifts.push(d), logger, cacheMs: 0 }),
    store,
    drifts,
  };
}

describe('ToolPins', () => {
  it('record: pins on first sight, reports a change once, and keeps serving the tool', async () => {
    const { pins, drifts } = pinsWith('record');
    assert.equal((await pins.screen('up', 'tool', [tool()])).length, 1);
    assert.equal(drifts.length, 0);
    const changed = tool({ description: 'now different' });
    assert.equal((await pins.screen('up', 'tool', [changed])).length, 1);
    assert.equal(await pins.toolRefusal('up', changed), undefined);
    assert.equal(drifts.length, 1, 'one report per new definition');
    assert.equal(drifts[0]?.change, 'changed');
  });

  it('enforce: hides and refuses until approved; a change hides it again; back to the pin is approved', async () => {
    const { pins, store, drifts } = pinsWith('enforce');
    assert.deepEqual(await pins.screen('up', 'tool', [tool()]), []);
    assert.equal((await pins.toolRefusal('up', tool()))?.code, 'tool_not_approved');
    assert.equal(drifts[0]?.change, 'new');
    assert.equal(await store.approve({ upstream: 'up', kind: 'tool', name: 'write' }, Date.now()), true);
    assert.equal((await pins.screen('up', 'tool', [tool()])).length, 1);
    const changed = tool({ annotations: { readOnlyHint: true } });
    assert.deepEqual(await pins.screen('up', 'tool', [changed]), []);
    assert.equal((await pins.toolRefusal('up', changed))?.code, 'tool_not_approved');
    assert.equal(
      await pins.toolRefusal('up', tool()),
      undefined,
      'the pinned definition itself still passes',
    );
    assert.equal((await pins.screen('up', 'tool', [tool()])).length, 1);
  });

  it('pins per upstream: the same tool name elsewhere is another tool', async () => {
    const { pins, store } = pinsWith('enforce');
    await pins.screen('a', 'tool', [tool()]);
    await store.approve({ upstream: 'a', kind: 'tool', name: 'write' }, Date.now());
    assert.equal(await pins.toolRefusal('a', tool()), undefined);
    assert.equal((await pins.toolRefusal('b', tool()))?.code, 'tool_not_approved');
  });

  it('pins prompts too: enforce refuses prompts/get until the prompt as listed is approved', async () => {
    const { pins, store } = pinsWith('enforce');
    const prompt = { name: 'summarize', description: 'Summarize a text', arguments: [{ name: 'text' }] };
    assert.deepEqual(await pins.screen('up', 'prompt', [prompt]), []);
    assert.equal((await pins.promptRefusal('up', 'summarize'))?.code, 'tool_not_approved');
    assert.equal((await pins.promptRefusal('up', 'never-listed'))?.code, 'tool_not_approved');
    await store.approve({ upstream: 'up', kind: 'prompt', name: 'summarize' }, Date.now());
    assert.equal(await pins.promptRefusal('up', 'summarize'), undefined);
    const template = { uriTemplate: 'db://{table}', name: 'table' };
    assert.deepEqual(await pins.screen('up', 'resourceTemplate', [template], 'uriTemplate'), []);
    assert.equal((await store.list('up')).find((p) => p.kind === 'resourceTemplate')?.name, 'db://{table}');
  });

  it('off: no checks at all', async () => {
    const { pins, drifts } = pinsWith('off');
    assert.equal((await pins.screen('up', 'tool', [tool()])).length, 1);
    assert.equal(await pins.toolRefusal('up', tool()), undefined);
    assert.equal(drifts.length, 0);
  });
});

describe('the pin cache', () => {
  it('reuses what it read from the store for cacheMs, then sees an approval made elsewhere', async () => {
    const store = memoryPinStore();
    const pins = new ToolPins({ mode: 'enforce', store, onDrift: () => {}, logger, cacheMs: 200 });
    assert.deepEqual(await pins.screen('up', 'tool', [tool()]), []);
    await store.approve({ upstream: 'up', kind: 'tool', name: 'write' }, Date.now());
    assert.deepEqual(await pins.screen('up', 'tool', [tool()]), [], 'still the cached pins');
    await new Promise((r) => setTimeout(r, 250));
    assert.equal((await pins.screen('up', 'tool', [tool()])).length, 1);
  });
});

describe('the SQLite pin store', () => {
  it('keeps the approved and the last seen definition apart, and approves or rejects what was seen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcl-pins-'));
    const store = openSqliteStore(join(dir, 'p.db'));
    try {
      const { pins } = store;
      const write = { upstream: 'up', kind: 'tool', name: 'write' } as const;
      await pins.saw(write, { hash: 'h1', definition: '{"v":1}', at: 1 }, true);
      await pins.saw(write, { hash: 'h2', definition: '{"v":2}', at: 2 }, false);
      await pins.saw({ ...write, kind: 'prompt' }, { hash: 'h8', definition: '{"v":8}', at: 3 }, false);
      await pins.saw({ ...write, upstream: 'other' }, { hash: 'h9', definition: '{"v":9}', at: 3 }, false);
      const [prompt, pin] = await pins.list('up');
      assert.equal(prompt?.kind, 'prompt', 'a prompt of the same name is another pin');
      assert.deepEqual(
        { pinned: pin?.pinnedHash, seen: pin?.seenHash, def: pin?.pinnedDefinition },
        { pinned: 'h1', seen: 'h2', def: '{"v":1}' },
      );
      assert.equal((await pins.list()).length, 3);
      assert.equal(await pins.reject(write), true);
      assert.equal((await pins.list('up'))[1]?.rejectedHash, 'h2');
      assert.equal(await pins.approve(write, 4), true);
      const approved = (await pins.list('up'))[1];
      assert.deepEqual(
        { pinned: approved?.pinnedHash, rejected: approved?.rejectedHash, at: approved?.pinnedAt },
        { pinned: 'h2', rejected: null, at: 4 },
      );
      assert.equal(await pins.approve({ ...write, name: 'nothing' }, 5), false);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
