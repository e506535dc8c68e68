/**
 * Two credential headers on one request are refused with 400, whichever comes first (issue 15, item
 * 4): raw HTTP requests with two Authorization headers, two X-API-Key headers, or one of each — Node
 * keeps only the first Authorization, so without reading the raw headers the first would win.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { INITIALIZE } from '../helpers/client.js';
import { EVERYTHING, stdioUpstream } from '../helpers/gateway.js';
import { type PolicyGateway, startPolicyGateway } from '../helpers/policy.js';

/** A POST of initialize with exactly these header lines, in this order (rawHeaders format). */
function rawPost(url: string, headerLines: string[]): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(INITIALIZE);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        // An array of header lines is sent as it is: Node adds no Host header of its own then.
        headers: [
          'Host',
          new URL(url).host,
          'Content-Type',
          'application/json',
          'Accept',
          'application/json, text/event-stream',
          'Content-Length',
          String(Buffer.byteLength(body)),
          ...headerLines,
        ],
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('duplicate credential headers (raw HTTP)', () => {
  let p: PolicyGateway;
  let good: string;

  before(async () => {
    p = await startPolicyGateway({
      upstreams: stdioUpstream('everything', EVERYTHING, ['stdio']),
      keys: { ci: ['*'] },
    });
    good = p.keys.ci as string;
  });
  after(() => p.close());

  it('one valid Authorization header passes (the control)', async () => {
    const ok = await rawPost(p.url(), ['Authorization', `Bearer ${good}`]);
    assert.equal(ok.status, 200, ok.body);
  });

  for (const [what, lines, message] of [
    [
      'two Authorization headers, the valid one first',
      () => ['Authorization', `Bearer ${good}`, 'Authorization', 'Bearer pcl_other'],
      'this request has 2 Authorization headers',
    ],
    [
      'two Authorization headers, Basic then Bearer',
      () => ['authorization', 'Basic YTpi', 'AUTHORIZATION', `Bearer ${good}`],
      'this request has 2 Authorization headers',
    ],
    [
      'two X-API-Key headers',
      () => ['X-API-Key', good, 'x-api-key', good],
      'this request has 2 X-API-Key headers',
    ],
    [
      'one of each',
      () => ['X-API-Key', good, 'Authorization', `Bearer ${good}`],
      'either X-API-Key or Authorization, not both',
    ],
  ] as const) {
    it(`${what}: 400 invalid_auth_request`, async () => {
      const res = await rawPost(p.url(), lines());
      assert.equal(res.status, 400, res.body);
      const error = (JSON.parse(res.body) as { error: { message: string; data: { error: string } } }).error;
      assert.equal(error.data.error, 'invalid_auth_request', res.body);
      assert.ok(error.message.includes(message), error.message);
      assert.ok(!res.body.includes(good), 'the key is not echoed');
    });
  }
});
