/**
 * The `fleet:` section, for several instances behind one load balancer (README "Running a fleet").
 *
 * ```yaml
 * fleet:
 *   advertiseUrl: https://gw-1.internal:8787   # how the other instances reach this one directly
 * ```
 *
 * A 2026-07-28 call that asked its client for input is parked in the memory of the instance that
 * started it; when the client's retry reaches another instance, that one forwards it here. The
 * forwarded request carries the client's credentials, hence the rule for every URL the gateway
 * sends credentials to: https://, or plain http:// to loopback or to the host named in
 * allowPrivateHost.
 */
import { z } from 'zod';
import { insecureUrlReason } from './secure-url.js';

export const fleetSchema = z
  .strictObject({
    advertiseUrl: z.string().optional(),
    /** The one private host a plain-http advertiseUrl may name, spelled out so the exception is deliberate. */
    allowPrivateHost: z.string().min(1).optional(),
  })
  .superRefine((fleet, ctx) => {
    if (fleet.advertiseUrl === undefined) return;
    const reason = insecureUrlReason(fleet.advertiseUrl, fleet.allowPrivateHost, true);
    if (reason) {
      ctx.addIssue({ code: 'custom', path: ['advertiseUrl'], message: reason });
      return;
    }
    const url = new URL(fleet.advertiseUrl);
    if (url.pathname !== '/' || url.search) {
      ctx.addIssue({
        code: 'custom',
        path: ['advertiseUrl'],
        message: `must be an origin without a path, like ${url.origin} — the instance's own address`,
      });
    }
  });
