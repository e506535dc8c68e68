/** The table of calls in flight that every relay path answers, cancels and routes progress through. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../src/core/errors.js';
import { CallTable } from '../../src/relay/call-table.js';

describe('CallTable', () => {
  it('finds a call by its id, and keeps the number 1 and the string "1" apart', () => {
    const table = new CallTable<string>();
    table.add(1, undefined, 'number');
    table.add('1', undefined, 'string');
    assert.equal(table.get(1), 'number');
    assert.equal(table.get('1'), 'string');
    assert.equal(table.size, 2);
  });

  it('refuses an id already in flight, and accepts it again once it is answered', () => {
    const table = new CallTable<string>();
    table.add(7, undefined, 'first');
    assert.throws(
      () => table.add(7, undefined, 'second'),
      (err: unknown) => err instanceof GatewayError && err.code === 'duplicate_request_id',
    );
    assert.equal(table.take(7), 'first');
    table.add(7, undefined, 'again');
    assert.equal(table.get(7), 'again');
  });

  it('takes a call once: an answer after a cancellation finds nothing', () => {
    const table = new CallTable<string>();
    table.add('a', undefined, 'call');
    assert.equal(table.take('a'), 'call');
    assert.equal(table.take('a'), undefined);
  });

  it('with `only`, leaves a newer call that reuses the id alone', () => {
    const table = new CallTable<{ n: number }>();
    const old = { n: 1 };
    table.add(3, undefined, old);
    table.take(3);
    const newer = { n: 2 };
    table.add(3, undefined, newer);
    assert.equal(table.take(3, old), undefined, 'the old call’s late answer does not remove the new one');
    assert.equal(table.get(3), newer);
    assert.equal(table.take(3, newer), newer);
  });

  it('routes progress by token, strings and numbers alike, until the call is taken', () => {
    const table = new CallTable<string>();
    table.add(1, 'tok', 'by string');
    table.add(2, 42, 'by number');
    assert.equal(table.byProgressToken('tok'), 'by string');
    assert.equal(table.byProgressToken(42), 'by number');
    assert.equal(table.byProgressToken('42'), undefined);
    assert.equal(table.byProgressToken({ token: 'tok' }), undefined, 'an object is no token');
    table.take(1);
    assert.equal(table.byProgressToken('tok'), undefined);
  });

  it('clear returns every call, oldest first, and leaves the table empty', () => {
    const table = new CallTable<string>();
    table.add(1, 'p', 'one');
    table.add(2, undefined, 'two');
    assert.deepEqual(table.clear(), ['one', 'two']);
    assert.equal(table.size, 0);
    assert.equal(table.byProgressToken('p'), undefined);
  });
});
