/**
 * Everything the gateway opens, closed in reverse order (last opened, first closed) by one path
 * that a failed start and close() share, so a throw halfway through start-up leaks nothing.
 */
import type { Logger } from '../log/logger.js';

export class Closer {
  private readonly steps: { readonly name: string; readonly close: () => unknown }[] = [];

  constructor(private readonly logger: Logger) {}

  /** Registers `resource`'s close step; returns the resource, so opening and registering read as one. */
  add<T>(name: string, resource: T, close: (resource: T) => unknown): T {
    this.steps.push({ name, close: () => close(resource) });
    return resource;
  }

  /** Runs every step once, newest first; a failing step is logged and the others still run. */
  async closeAll(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.close();
      } catch (err) {
        this.logger.error({ step: step.name, err: (err as Error).message }, 'could not close cleanly');
      }
    }
  }
}

/** Runs `build` with a fresh closer; when it throws, closes whatever it had opened and rethrows. */
export async function buildOrClose<T>(logger: Logger, build: (closer: Closer) => Promise<T>): Promise<T> {
  const closer = new Closer(logger);
  try {
    return await build(closer);
  } catch (err) {
    await closer.closeAll();
    throw err;
  }
}
