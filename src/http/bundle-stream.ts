/**
 * Large Bundles (a transaction-response of a patient history: 5,000 entries, 30 MB) leave as a
 * stream of pieces of about STREAM_PIECE_CHARS, each entry serialised when the socket wants more,
 * instead of one 30 MB string that is then copied once more into the socket's buffer. The JSON
 * is the same as JSON.stringify would give, except that `entry` comes last among the Bundle's
 * elements (json.html: the order of properties carries no meaning).
 */
import { Readable } from 'node:stream';
import type { Bundle } from '@medplum/fhirtypes';
import { stringifyFhir } from '../fhir/decimal-text.js';

/** Bundles with more entries than this are streamed; smaller ones are sent as one string. */
export const STREAM_MIN_ENTRIES = 500;
const STREAM_PIECE_CHARS = 64 * 1024;

function* pieces(bundle: Bundle): Generator<string> {
  const { entry = [], ...rest } = bundle;
  const head = stringifyFhir(rest);
  let piece = `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"entry":[`;
  for (let i = 0; i < entry.length; i++) {
    piece += (i === 0 ? '' : ',') + stringifyFhir(entry[i]);
    if (piece.length >= STREAM_PIECE_CHARS) {
      yield piece;
      piece = '';
    }
  }
  yield `${piece}]}`;
}

export function isLargeBundle(resource: { resourceType: string }): resource is Bundle {
  return resource.resourceType === 'Bundle' && ((resource as Bundle).entry?.length ?? 0) > STREAM_MIN_ENTRIES;
}

/** The Bundle's JSON text as a stream (UTF-8 bytes). */
export function bundleJsonStream(bundle: Bundle): Readable {
  return Readable.from(pieces(bundle), { objectMode: false });
}
