/** Session-local ids for the requests an upstream sends to its client. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServerRequestIds } from '../../src/relay/server-requests.js';

describe('ServerRequestIds', () => {
  it('gives each upstream request a fresh local id, and the answer its upstream id back once', () => {
    const ids = new ServerRequestIds();
    const a = ids.add('up-1');
    const b = ids.add(0);
    assert.notEqual(a, b);
    assert.equal(ids.answered(b), 0, 'an upstream id of 0 comes back as 0');
    assert.equal(ids.answered(a), 'up-1');
    assert.equal(ids.answered(a), undefined, 'a second answer to the same request finds nothing');
  });

  it('keeps two upstreams’ equal ids apart', () => {
    const ids = new ServerRequestIds();
    const first = ids.add(1);
    const second = ids.add(1);
    assert.notEqual(first, second);
    assert.equal(ids.answered(second), 1);
    assert.equal(ids.answered(first), 1);
  });

  it('finds nothing for an id the client made up, a string, or null', () => {
    const ids = new ServerRequestIds();
    const local = ids.add('x');
    assert.equal(ids.answered(local + 100), undefined);
    assert.equal(ids.answered(String(local)), undefined, 'the string form of a local id is another id');
    assert.equal(ids.answered(null), undefined);
    assert.equal(ids.answered(local), 'x');
  });

  it('maps an upstream cancellation to the local id the client knows, and forgets it', () => {
    const ids = new ServerRequestIds();
    const local = ids.add(42);
    assert.equal(ids.cancelled('42'), undefined, 'ids are compared by value and type');
    assert.equal(ids.cancelled(42), local);
    assert.equal(ids.answered(local), undefined, 'a late answer to a withdrawn request is dropped');
  });
});
