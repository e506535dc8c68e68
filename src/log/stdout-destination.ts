/**
 * stdout for the logger, written in batches. One write per line cost about 0.06 ms of CPU per line
 * on the bench machine (an async write goes through libuv's thread pool), a quarter of a call's
 * audit cost. So: a line after a quiet spell (none in the last FLUSH_INTERVAL_MS) is written at
 * once; lines that follow it wait, and go out together every FLUSH_INTERVAL_MS (sonic-boom's
 * periodic flush), or as soon as BATCH_BYTES wait. Under load that is one write per 100 ms.
 *
 * Lines still waiting when the process exits are written synchronously by pino's exit hook, and
 * `serve` awaits a flush on SIGTERM/SIGINT (flushLogger); a process killed outright (SIGKILL, OOM)
 * loses at most the last FLUSH_INTERVAL_MS of lines.
 */
import { type DestinationStream, pino } from 'pino';

export const FLUSH_INTERVAL_MS = 100;
/** sonic-boom writes once this many bytes wait; it must stay below its largest write, 16 KiB. */
const BATCH_BYTES = 16_000;

export interface StdoutDestination extends DestinationStream {
  flush(cb?: (err?: Error) => void): void;
  flushSync(): void;
}

export function stdoutDestination(): StdoutDestination {
  const boom = pino.destination({
    dest: 1,
    sync: false,
    minLength: BATCH_BYTES,
    periodicFlush: FLUSH_INTERVAL_MS,
  });
  let lastLine = Number.NEGATIVE_INFINITY;
  return {
    write(line: string) {
      boom.write(line);
      const now = performance.now();
      if (now - lastLine >= FLUSH_INTERVAL_MS) boom.flush();
      lastLine = now;
    },
    flush: (cb) => boom.flush(cb),
    flushSync: () => boom.flushSync(),
  };
}
