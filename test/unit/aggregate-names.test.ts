/** The names the aggregated endpoint exposes for several upstreams' tools and prompts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EXPOSED_NAME, nameTable } from '../../src/relay/aggregate/names.js';

const table = (listed: Record<string, string[]>, prefixes: Record<string, string> = {}) =>
  nameTable(new Map(Object.entries(listed)), new Map(Object.entries(prefixes)));

describe('aggregate names', () => {
  it('exposes <upstream>__<name>, or <prefix>__<name>, and maps each back to its upstream', () => {
    const names = table({ files: ['read_file'], crm: ['search'] }, { crm: 'sales' });
    assert.equal(names.exposedName('files', 'read_file'), 'files__read_file');
    assert.equal(names.exposedName('crm', 'search'), 'sales__search');
    assert.deepEqual(names.origins.get('sales__search'), { upstream: 'crm', name: 'search' });
    assert.equal(names.exposedName('crm', 'read_file'), undefined);
    assert.deepEqual(names.renamed, []);
  });

  it('shortens a name over 64 characters with a stable hash, and says so', () => {
    const long = `get_${'x'.repeat(80)}`;
    const names = table({ everything: [long] });
    const exposed = names.exposedName('everything', long) as string;
    assert.match(exposed, EXPOSED_NAME);
    assert.equal(exposed.length, 64);
    assert.ok(exposed.startsWith('everything__get_xxx'));
    assert.deepEqual(names.renamed, [{ upstream: 'everything', name: long, exposed, reason: 'too long' }]);
    assert.equal(table({ everything: [long] }).exposedName('everything', long), exposed);
  });

  it('replaces characters tool calling refuses (a dot, a colon, a space) and keeps the names apart', () => {
    const names = table({ docs: ['search.v2', 'search:v2', 'search v2'] });
    const exposed = ['search.v2', 'search:v2', 'search v2'].map(
      (n) => names.exposedName('docs', n) as string,
    );
    for (const e of exposed) assert.match(e, EXPOSED_NAME);
    assert.equal(new Set(exposed).size, 3);
    assert.ok(names.renamed.every((r) => r.reason === 'characters outside [a-zA-Z0-9_-]'));
  });

  it('renames every upstream that claims the same name, whatever order they were listed in', () => {
    // upstream "a" with tool "b__c" and upstream "a__b" with tool "c" both make "a__b__c".
    const one = table({ a: ['b__c'], a__b: ['c'] });
    const other = table({ a__b: ['c'], a: ['b__c'] });
    const first = one.exposedName('a', 'b__c') as string;
    const second = one.exposedName('a__b', 'c') as string;
    assert.notEqual(first, 'a__b__c');
    assert.notEqual(second, 'a__b__c');
    assert.notEqual(first, second);
    assert.equal(other.exposedName('a', 'b__c'), first);
    assert.equal(other.exposedName('a__b', 'c'), second);
    assert.deepEqual(
      one.renamed.map((r) => r.reason),
      ['same name as another upstream', 'same name as another upstream'],
    );
    assert.equal(one.origins.has('a__b__c'), false);
  });

  it('for any names, every exposed name is valid, distinct, and maps back to where it came from', () => {
    const upstream = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/);
    fc.assert(
      fc.property(
        fc.dictionary(upstream, fc.array(fc.string({ minLength: 1, maxLength: 90 }), { maxLength: 8 })),
        (listed) => {
          const names = table(listed);
          for (const [up, tools] of Object.entries(listed)) {
            for (const tool of tools) {
              const exposed = names.exposedName(up, tool) as string;
              assert.match(exposed, EXPOSED_NAME);
              assert.deepEqual(names.origins.get(exposed), { upstream: up, name: tool });
            }
          }
          const distinct = new Set(Object.entries(listed).flatMap(([up, t]) => t.map((n) => `${up}\0${n}`)));
          assert.equal(names.origins.size, distinct.size);
        },
      ),
      { seed: 17, numRuns: 500 },
    );
  });
});
