/** What the aggregated endpoint knows of its upstreams' names and URIs, and the answers it merges. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log/logger.js';
import { AggregateCatalog } from '../../src/relay/aggregate/catalog.js';
import { exposeUris, mergeInitialize } from '../../src/relay/aggregate/merge.js';

const logs: string[] = [];
const logger = createLogger({
  level: 'debug',
  destination: { write: (line: string) => void logs.push(line) },
});
const members = [
  { upstream: 'files', prefix: 'fs' },
  { upstream: 'crm', prefix: 'crm' },
  { upstream: 'docs', prefix: 'docs' },
];

describe('AggregateCatalog', () => {
  it('reads <prefix>__<name> by its prefix until the upstream has listed, then knows only what it listed', () => {
    const catalog = new AggregateCatalog(members, logger);
    assert.deepEqual(catalog.tool('fs__read'), { upstream: 'files', name: 'read' });
    assert.equal(catalog.tool('files__read'), undefined, 'the upstream name is not the prefix here');
    catalog.observe('tool', 'files', ['read', 'write']);
    assert.deepEqual(catalog.tool('fs__write'), { upstream: 'files', name: 'write' });
    assert.equal(catalog.tool('fs__delete'), undefined, 'files listed no delete');
    assert.equal(catalog.exposed('tool', 'files', 'read'), 'fs__read');
  });

  it('renames the tools two upstreams would expose alike, and logs it once', () => {
    const catalog = new AggregateCatalog(
      [
        { upstream: 'a', prefix: 'a' },
        { upstream: 'a__b', prefix: 'a__b' },
      ],
      logger,
    );
    catalog.observe('tool', 'a', ['b__c']);
    catalog.observe('tool', 'a__b', ['c']);
    const first = catalog.exposed('tool', 'a', 'b__c');
    const second = catalog.exposed('tool', 'a__b', 'c');
    assert.notEqual(first, second);
    assert.deepEqual(catalog.tool(first), { upstream: 'a', name: 'b__c' });
    assert.deepEqual(catalog.tool(second), { upstream: 'a__b', name: 'c' });
    assert.equal(catalog.tool('a__b__c'), undefined, 'the colliding plain form routes nowhere');
    const warned = () => logs.filter((l) => l.includes('shortened name')).length;
    const before = warned();
    catalog.observe('tool', 'a', ['b__c']);
    assert.equal(warned(), before, 'the same lists again log nothing new');
  });

  it('passes URIs unchanged while one upstream uses their scheme, and namespaces both once two do', () => {
    const catalog = new AggregateCatalog(members, logger);
    assert.equal(catalog.exposeUri('crm', 'crm://deal/1'), 'crm://deal/1');
    assert.deepEqual(catalog.routeUri('crm://deal/1'), { upstream: 'crm', name: 'crm://deal/1' });
    assert.equal(catalog.exposeUri('files', 'file:///a.txt'), 'file:///a.txt');
    assert.equal(catalog.exposeUri('docs', 'file:///b.md'), 'portcullis://docs/file:///b.md');
    assert.equal(catalog.exposeUri('files', 'file:///a.txt'), 'portcullis://files/file:///a.txt');
    assert.equal(catalog.routeUri('file:///a.txt'), undefined, 'a plain file: URI is ambiguous now');
    assert.deepEqual(catalog.routeUri('portcullis://docs/file:///b.md'), {
      upstream: 'docs',
      name: 'file:///b.md',
    });
    assert.equal(catalog.routeUri('portcullis://nobody/file:///b.md'), undefined);
    assert.equal(catalog.routeUri('portcullis://docs'), undefined);
    assert.equal(
      catalog.exposeUri('docs', 'file:///{path}'),
      'portcullis://docs/file:///{path}',
      'a template keeps its variables',
    );
  });

  it('says which upstreams a request reaches: the one it names, else all', () => {
    const catalog = new AggregateCatalog(members, logger);
    assert.deepEqual(catalog.targets('tools/call', { name: 'crm__search' }), ['crm']);
    assert.deepEqual(catalog.targets('tools/list', {}), ['files', 'crm', 'docs']);
    catalog.exposeUri('docs', 'docs://x');
    assert.deepEqual(catalog.targets('resources/read', { uri: 'docs://x' }), ['docs']);
  });
});

describe('aggregate answers', () => {
  it('merges initialize: the oldest revision answered, the union of capabilities, bounded instructions naming each upstream', () => {
    const merged = mergeInitialize(
      [
        {
          upstream: 'files',
          result: {
            protocolVersion: '2025-11-25',
            capabilities: { tools: {}, resources: { subscribe: true } },
            instructions: 'x'.repeat(5_000),
          },
        },
        {
          upstream: 'crm',
          result: { protocolVersion: '2025-06-18', capabilities: { tools: {}, logging: {} } },
        },
      ],
      [],
      members.slice(0, 2),
    );
    assert.equal(merged.protocolVersion, '2025-06-18');
    assert.deepEqual(merged.capabilities, {
      tools: { listChanged: true },
      resources: { listChanged: true, subscribe: true },
      logging: {},
    });
    const instructions = merged.instructions as string;
    assert.ok(instructions.length <= 4_001);
    assert.match(instructions, /- files \(prefix fs__\): x+…\n- crm \(prefix crm__\)$/);
  });

  it('offers every list when an upstream is missing, for it may bring any when it joins', () => {
    const merged = mergeInitialize(
      [{ upstream: 'files', result: { protocolVersion: '2025-11-25', capabilities: { tools: {} } } }],
      ['crm'],
      members.slice(0, 2),
    );
    assert.deepEqual(Object.keys(merged.capabilities as object).sort(), ['prompts', 'resources', 'tools']);
    assert.match(merged.instructions as string, /crm \(prefix crm__\) \(not reachable now/);
  });

  it('shows the URIs of content, read contents, prompt messages and updates in the client’s form', () => {
    const catalog = new AggregateCatalog(members, logger);
    catalog.exposeUri('files', 'file:///a');
    catalog.exposeUri('docs', 'file:///b');
    const shown = exposeUris(
      {
        content: [
          { type: 'resource_link', uri: 'file:///a', name: 'a' },
          { type: 'resource', resource: { uri: 'file:///a', text: 't' } },
          { type: 'text', text: 'file:///a stays as text' },
        ],
        contents: [{ uri: 'file:///a', text: 't' }],
        messages: [{ role: 'user', content: { type: 'resource_link', uri: 'file:///a' } }],
        uri: 'file:///a',
      },
      'files',
      catalog,
    );
    const a = 'portcullis://files/file:///a';
    assert.deepEqual(shown, {
      content: [
        { type: 'resource_link', uri: a, name: 'a' },
        { type: 'resource', resource: { uri: a, text: 't' } },
        { type: 'text', text: 'file:///a stays as text' },
      ],
      contents: [{ uri: a, text: 't' }],
      messages: [{ role: 'user', content: { type: 'resource_link', uri: a } }],
      uri: a,
    });
  });
});
