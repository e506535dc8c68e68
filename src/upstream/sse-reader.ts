/**
 * The `data` of each event in an upstream's Server-Sent Events stream, parsed as the HTML standard's
 * event-stream interpretation says (§9.2.6): lines end with CRLF, LF or CR, a leading BOM is
 * dropped, `:` starts a comment, an empty line ends an event, `data` lines join with LF, and an
 * event left unfinished when the stream ends is dropped. `event`, `id` and `retry` carry nothing
 * the gateway uses; any other field, or a `retry` that is not a number, makes the stream malformed
 * (as eventsource-parser reported it before, and the connection ends it).
 *
 * One object with its methods on the prototype per open response, instead of eventsource-parser's
 * nine closures and their contexts: that was ~0.9 KiB on every idle session's GET stream.
 */
const LF = 10;
const COLON = 58;
const SPACE = 32;
const BOM = 0xfeff;
const KNOWN_FIELDS = new Set(['event', 'id', 'retry']);

export class SseReader {
  /** The start of a line whose end has not arrived yet. */
  private partial = '';
  /** The current event's data lines, joined with LF; undefined before its first data line. */
  private data: string | undefined;
  /** The last chunk ended with CR: an LF opening the next one ends the same line. */
  private afterCr = false;
  private started = false;
  /** Why the stream cannot be read on, once it cannot. */
  private problem: string | undefined;

  constructor(
    /** Each event's data (events without data, or with empty data, are not delivered). */
    private readonly onData: (data: string) => void,
    /** An unfinished line plus the event's data may not pass this many characters. */
    private readonly maxChars: number,
  ) {}

  /**
   * Reads one decoded chunk. Returns undefined, or why the stream must end: an event larger than
   * allowed, or a malformed line; nothing more is delivered after that.
   */
  feed(chunk: string): string | undefined {
    if (this.problem !== undefined) return this.problem;
    let at = 0;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === BOM) at = 1;
    }
    if (this.afterCr && chunk.length > at) {
      this.afterCr = false;
      if (chunk.charCodeAt(at) === LF) at++;
    }
    // Only the new chunk is searched (the partial line holds no line end), and each search runs
    // again only once passed: a message arriving in many chunks is not scanned over and over.
    let lf = chunk.indexOf('\n', at);
    let cr = chunk.indexOf('\r', at);
    while ((lf !== -1 || cr !== -1) && this.problem === undefined) {
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (this.partial === '') this.line(chunk, at, end);
      else {
        const line = this.partial + chunk.slice(at, end);
        this.partial = '';
        this.line(line, 0, line.length);
      }
      at = end + 1;
      if (end === cr) {
        if (at === chunk.length) this.afterCr = true;
        else if (chunk.charCodeAt(at) === LF) at++;
      }
      if (lf !== -1 && lf < at) lf = chunk.indexOf('\n', at);
      if (cr !== -1 && cr < at) cr = chunk.indexOf('\r', at);
    }
    if (this.problem !== undefined) return this.problem;
    if (at < chunk.length) this.partial += at === 0 ? chunk : chunk.slice(at);
    if (this.partial.length + (this.data?.length ?? 0) > this.maxChars)
      this.problem = `an event is larger than ${this.maxChars} characters`;
    return this.problem;
  }

  private line(text: string, from: number, to: number): void {
    if (from === to) {
      const data = this.data;
      this.data = undefined;
      if (data) this.onData(data);
      return;
    }
    if (text.charCodeAt(from) === COLON) return;
    const colon = text.indexOf(':', from);
    const nameEnd = colon !== -1 && colon < to ? colon : to;
    let valueStart = nameEnd === to ? to : nameEnd + 1;
    if (valueStart < to && text.charCodeAt(valueStart) === SPACE) valueStart++;
    if (nameEnd - from === 4 && text.startsWith('data', from)) {
      const value = text.slice(valueStart, to);
      this.data = this.data === undefined ? value : `${this.data}\n${value}`;
      return;
    }
    const field = text.slice(from, nameEnd);
    if (!KNOWN_FIELDS.has(field)) this.problem = `unknown field "${field.slice(0, 20)}"`;
    else if (field === 'retry' && !/^\d+$/.test(text.slice(valueStart, to)))
      this.problem = 'retry is not a number';
  }
}
