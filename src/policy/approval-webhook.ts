/**
 * The approval webhook (policy.approval.webhook): each new approval request is POSTed as JSON to the
 * configured URL, for a chat tool or an on-call system to show a person. The receiver must check the
 * signature before it trusts anything in the body:
 *
 *   X-Portcullis-Timestamp: <unix seconds>
 *   X-Portcullis-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 * and refuse a timestamp older than the replay window (WEBHOOK_REPLAY_WINDOW_S; verifyWebhook does
 * both). The payload names the call and links to the approval page; its arguments are redacted as
 * the audit's are. Delivery never holds up the call: it runs in the background, gives up after
 * `timeout`, and a failure is logged (status or error code, the URL without its query) — never the
 * secret or the body. The URL's host must resolve only to public addresses (SSRF: a config that
 * points at a cloud metadata address is refused at send time) unless `allowPrivateAddress` is set,
 * and the connection is pinned to the address that was checked.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Logger } from '../log/logger.js';
import { addressRange } from '../net/public-address.js';
import type { ApprovalRecord } from '../store/store.js';
import { redactUrl } from '../upstream/redact-url.js';
import type { ApprovalRuleMatch } from './approval-rules.js';

/** A receiver should refuse a delivery whose timestamp is further than this from its clock. */
export const WEBHOOK_REPLAY_WINDOW_S = 300;
export const SIGNATURE_HEADER = 'x-portcullis-signature';
export const TIMESTAMP_HEADER = 'x-portcullis-timestamp';

export interface ApprovalWebhookOptions {
  readonly url: string;
  readonly secret: string;
  readonly allowPrivateAddress: boolean;
  readonly timeout: number;
  readonly logger: Logger;
}

/** The signature header's value for `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Whether a delivery is genuine and fresh: the signature matches (compared in constant time) and the
 * timestamp is within the replay window of `nowS`. For receivers, and the tests.
 */
export function verifyWebhook(
  secret: string,
  headers: { readonly timestamp: string | undefined; readonly signature: string | undefined },
  body: string,
  nowS = Math.floor(Date.now() / 1000),
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowS - timestamp) > WEBHOOK_REPLAY_WINDOW_S) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const presented = Buffer.from(headers.signature ?? '');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** What the receiver gets: the call, the caller, the rule, the link — arguments as the audit shows them. */
export function webhookPayload(record: ApprovalRecord, match: ApprovalRuleMatch, link: string): object {
  return {
    type: 'approval.requested',
    approvalId: record.id,
    url: link,
    upstream: record.upstream,
    tool: record.tool,
    caller: { id: record.principalId, name: record.principalName },
    rule: match.reason,
    arguments: record.argumentsShown,
    argumentsHash: record.argumentsHash,
    createdAt: new Date(record.createdAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
  };
}

export class ApprovalWebhook {
  private readonly url: URL;

  constructor(private readonly options: ApprovalWebhookOptions) {
    this.url = new URL(options.url);
  }

  /** Sends the request in the background; the promise is for tests and never rejects. */
  deliver(record: ApprovalRecord, match: ApprovalRuleMatch, link: string): Promise<void> {
    const body = JSON.stringify(webhookPayload(record, match, link));
    const where = redactUrl(this.url.href);
    return this.send(body).then(
      (status) => {
        if (status < 200 || status >= 300)
          this.options.logger.warn(
            { approval: record.id, url: where, status },
            'the approval webhook refused the delivery',
          );
      },
      (err: unknown) =>
        this.options.logger.warn(
          {
            approval: record.id,
            url: where,
            err: (err as NodeJS.ErrnoException).code ?? (err as Error).message,
          },
          'could not deliver to the approval webhook',
        ),
    );
  }

  /** Resolves the host, checks every address, and POSTs pinned to the first; resolves with the status. */
  private async send(body: string): Promise<number> {
    const host = this.url.hostname.replace(/^\[(.*)\]$/, '$1');
    const addresses =
      isIP(host) !== 0 ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    for (const address of addresses) {
      const range = addressRange(address);
      if (range !== 'unicast' && !this.options.allowPrivateAddress)
        throw new Error(
          `${host} resolves to a ${range} address — set policy.approval.webhook.allowPrivateAddress for a receiver on a private network`,
        );
    }
    const address = addresses[0];
    if (address === undefined) throw new Error(`${host} does not resolve`);
    const family = isIP(address) === 6 ? 6 : 4;
    const pinned: LookupFunction = (_name, options, callback) => {
      if (options.all) callback(null, [{ address, family }]);
      else callback(null, address, family);
    };
    const timestamp = Math.floor(Date.now() / 1000);
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        this.url,
        {
          method: 'POST',
          agent: false,
          lookup: pinned,
          timeout: this.options.timeout,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'Portcullis (approval webhook)',
            [TIMESTAMP_HEADER]: String(timestamp),
            [SIGNATURE_HEADER]: signWebhook(this.options.secret, timestamp, body),
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }
}
