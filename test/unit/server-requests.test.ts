/** Session-local ids for the requests an upstream sends to its client. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServerRequestIds } from '../../src/relay/server-requests.js';

describe('ServerRequestIds', () => {
  it('gives each upstream request a fresh local id, and the answer its upstream id back once', () => {
    const ids = new ServerRequestIds<string>();
    const a = ids.add('up-1', 'files');
    const b = ids.add(0, 'files');
    assert.notEqual(a, b);
    assert.deepEqual(ids.answered(b), { id: 0, from: 'files' }, 'an upstream id of 0 comes back as 0');
    assert.deepEqual(ids.answered(a), { id: 'up-1', from: 'files' });
    assert.equal(ids.answered(a), undefined, 'a second answer to the same request finds nothing');
  });

  it('keeps two upstreams’ equal ids apart, each answer going to the channel that asked', () => {
    const ids = new ServerRequestIds<string>();
    const first = ids.add(1, 'files');
    const second = ids.add(1, 'crm');
    assert.notEqual(first, second);
    assert.deepEqual(ids.answered(second), { id: 1, from: 'crm' });
    assert.deepEqual(ids.answered(first), { id: 1, from: 'files' });
  });

  it('finds nothing for an id the client made up, a string, or null', () => {
    const ids = new ServerRequestIds<string>();
    const local = ids.add('x', 'files');
    assert.equal(ids.answered(local + 100), undefined);
    assert.equal(ids.answered(String(local)), undefined, 'the string form of a local id is another id');
    assert.equal(ids.answered(null), undefined);
    assert.deepEqual(ids.answered(local), { id: 'x', from: 'files' });
  });

  it('maps an upstream cancellation to the local id the client knows, and forgets it', () => {
    const ids = new ServerRequestIds<string>();
    const local = ids.add(42, 'files');
    assert.equal(ids.cancelled('files', '42'), undefined, 'ids are compared by value and type');
    assert.equal(ids.cancelled('crm', 42), undefined, 'another channel cannot withdraw it');
    assert.equal(ids.cancelled('files', 42), local);
    assert.equal(ids.answered(local), undefined, 'a late answer to a withdrawn request is dropped');
  });
});
