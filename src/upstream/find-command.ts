/**
 * Where a stdio upstream's command is, as its child process would find it: a path (relative to the
 * upstream's cwd), or a name on the child's own PATH (childEnvironment, not the gateway's PATH).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { UpstreamConfig } from '../config/schema.js';
import { childEnvironment } from './stdio.js';

export interface CommandLookup {
  /** The executable file found, or undefined. */
  readonly found: string | undefined;
  /** The directories searched, when the command is a bare name (empty for a path). */
  readonly searched: readonly string[];
}

export async function findCommand(
  config: Pick<UpstreamConfig, 'command' | 'cwd' | 'env'>,
  baseDir: string,
): Promise<CommandLookup> {
  const command = config.command ?? '';
  const cwd = resolve(baseDir, config.cwd ?? '.');
  const isPath = command.includes('/') || isAbsolute(command);
  const searched = isPath ? [] : (childEnvironment(config.env).PATH ?? '').split(':').filter(Boolean);
  const candidates = isPath ? [resolve(cwd, command)] : searched.map((dir) => join(dir, command));
  for (const file of candidates) {
    try {
      await access(file, constants.X_OK);
      return { found: file, searched };
    } catch {
      // not here; try the next directory
    }
  }
  return { found: undefined, searched };
}
