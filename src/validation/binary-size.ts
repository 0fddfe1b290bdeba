/**
 * The size limit of Binary content (BINARY_MAX_BYTES), as a write hook so that it holds for every
 * way content arrives: a raw upload (also checked before parsing, http/binary-body.ts), a FHIR JSON
 * Binary, a Bundle entry or a patch. 413 with an OperationOutcome beyond it.
 */
import { payloadTooLarge } from '../fhir/outcomes.js';
import type { ResourceChange, WriteHook } from '../repository/types.js';

/** Decoded length of base64 text without decoding it (whitespace and padding left out). */
export function base64Length(data: string): number {
  const clean = data.replace(/[\s=]/g, '').length;
  return Math.floor((clean * 3) / 4);
}

export function binarySizeGuard(maxBytes: number): WriteHook {
  return {
    async beforeWrite(_repo, change: ResourceChange): Promise<void> {
      const resource = change.resource;
      if (resource?.resourceType === 'Binary' && resource.data !== undefined && base64Length(resource.data) > maxBytes) {
        throw payloadTooLarge(`The Binary content exceeds the limit of ${maxBytes} bytes`);
      }
    },
  };
}
