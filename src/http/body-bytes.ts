/**
 * A request body read into one buffer as it streams in. Fastify's `parseAs: 'buffer'` keeps every
 * chunk and then concatenates them, two copies of the body at once; here each chunk is copied
 * into a buffer of the declared Content-Length as it arrives and dropped, so a 30 MB transaction
 * Bundle costs 30 MB of bytes, not 60. A body over the limit is refused before it is read when
 * Content-Length says so, and as soon as it passes the limit otherwise (413, RFC 9110 §15.5.14).
 */
import type { Readable } from 'node:stream';
import { badRequest, payloadTooLarge } from '../fhir/outcomes.js';

/** Start size of the buffer of a body without Content-Length (chunked); it doubles as needed. */
const CHUNKED_START = 64 * 1024;

function tooLarge(limit: number) {
  return payloadTooLarge(`The request body is larger than this server accepts (${limit} bytes)`);
}

export async function readBodyBytes(payload: Readable, contentLength: string | undefined, limit: number): Promise<Buffer> {
  const declared = contentLength === undefined ? undefined : Number(contentLength);
  if (declared !== undefined && (!Number.isSafeInteger(declared) || declared < 0)) {
    throw badRequest('Content-Length is not a number of bytes');
  }
  if (declared !== undefined && declared > limit) {
    payload.resume();
    throw tooLarge(limit);
  }
  let buffer = Buffer.allocUnsafe(declared ?? CHUNKED_START);
  let length = 0;
  for await (const chunk of payload as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (length + bytes.length > limit) {
      payload.resume();
      throw tooLarge(limit);
    }
    if (length + bytes.length > buffer.length) {
      if (declared !== undefined) {
        throw badRequest('The request body is longer than its Content-Length');
      }
      const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(buffer.length * 2, length + bytes.length)));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    bytes.copy(buffer, length);
    length += bytes.length;
  }
  if (declared !== undefined && length !== declared) {
    throw badRequest('The request body is shorter than its Content-Length');
  }
  return buffer.subarray(0, length);
}
