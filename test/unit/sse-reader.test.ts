/** The upstream's event streams, read as the HTML standard's event-stream parsing says (§9.2.6). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseReader } from '../../src/upstream/sse-reader.js';

/** Feeds `chunks` in order: every event's data, and the first problem reported. */
function read(chunks: readonly string[], maxChars = 1024): { events: string[]; problem: string | undefined } {
  const events: string[] = [];
  const reader = new SseReader((data) => events.push(data), maxChars);
  let problem: string | undefined;
  for (const chunk of chunks) problem ??= reader.feed(chunk);
  return { events, problem };
}

/** Every way to cut `text` in two, so that a line end or a field may fall across chunks. */
function everySplit(text: string): string[][] {
  return Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]);
}

describe('SseReader', () => {
  it('delivers each event on the empty line that ends it, with LF, CRLF or CR line ends, however the chunks fall', () => {
    for (const end of ['\n', '\r\n', '\r']) {
      const text = `event: message${end}data: {"a":1}${end}${end}data: {"b":2}${end}${end}`;
      for (const chunks of [...everySplit(text), [...text]]) {
        assert.deepEqual(
          read(chunks),
          { events: ['{"a":1}', '{"b":2}'], problem: undefined },
          JSON.stringify(chunks),
        );
      }
    }
  });

  it('joins the data lines of one event with LF, takes one space after the colon and none without it', () => {
    assert.deepEqual(read(['data: one\ndata:two\ndata:  three\n\n']).events, ['one\ntwo\n three']);
  });

  it('skips comments and the id, event and retry fields, and delivers no event without data', () => {
    assert.deepEqual(read([': keep-alive\n\nid: 7\nevent: ping\nretry: 3000\n\ndata: x\n\n']).events, ['x']);
  });

  it('drops one byte-order mark at the start of the stream, and only there', () => {
    assert.deepEqual(read(['\ufeffdata: a\n\n', '\ufeffdata: b\n\n']), {
      events: ['a'],
      problem: 'unknown field "\ufeffdata"',
    });
  });

  it('does not deliver an event the stream ended in the middle of', () => {
    assert.deepEqual(read(['data: complete\n\ndata: cut off\n']).events, ['complete']);
  });

  it('reports an unknown field or a retry that is not a number, and delivers nothing after it', () => {
    assert.deepEqual(read(['data: a\n\nbogus: 1\ndata: b\n\n']), {
      events: ['a'],
      problem: 'unknown field "bogus"',
    });
    assert.deepEqual(read(['retry: soon\ndata: b\n\n']), { events: [], problem: 'retry is not a number' });
  });

  it('reports an event larger than allowed, whether its data is still on one line or already in lines', () => {
    assert.equal(read(['data: ', 'x'.repeat(20)], 16).problem, 'an event is larger than 16 characters');
    assert.equal(
      read(['data: 0123456789\n', 'data: 0123456789\n'], 16).problem,
      'an event is larger than 16 characters',
    );
    assert.deepEqual(read(['data: 0123456789\n\n', 'data: 0123456789\n\n'], 16).events, [
      '0123456789',
      '0123456789',
    ]);
  });
});
