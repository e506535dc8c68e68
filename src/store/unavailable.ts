/**
 * The store could not be reached (or did not answer in time). Whatever needed it is refused with
 * 503 and Retry-After — never served without it, so a revoked credential cannot slip through while
 * the database is away. The public message names no host; the cause stays in `detail` for the log.
 */
import { GatewayError } from '../core/errors.js';

export class StoreUnavailableError extends GatewayError {
  constructor(detail: string) {
    super(
      'store_unavailable',
      'the gateway cannot reach its store right now, so it refuses requests that need it — try again shortly',
      { retryAfter: 1, detail },
    );
    this.name = 'StoreUnavailableError';
  }
}
