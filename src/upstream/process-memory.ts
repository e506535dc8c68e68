/** Resident memory of a process, read from /proc where the platform has it (Linux). */
import { readFile } from 'node:fs/promises';

/** The process's VmRSS in bytes; undefined when it has exited or the platform has no /proc. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}
