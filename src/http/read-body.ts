/** Reads a request body as UTF-8 text, refusing it the moment it passes `maxBytes`. */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from './errors.js';

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new GatewayError(
      413,
      'body_too_large',
      `the request body is larger than the ${maxBytes}-byte limit (limits.maxBody)`,
    );
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      // Stop reading; the connection is closed after the 413 so the rest is never buffered.
      req.pause();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}
