/**
 * A raw request body as the content of a Binary (https://hl7.org/fhir/R4/binary.html#rest): POST
 * [base]/Binary or PUT [base]/Binary/[id] with a body of the file's own media type creates or
 * updates a Binary of that contentType; the X-Security-Context header sets its securityContext.
 * Any other interaction refuses a non-FHIR body with 415, as before.
 */
import type { Binary } from '@medplum/fhirtypes';
import { badRequest, payloadTooLarge, unsupportedMediaType } from '../fhir/outcomes.js';
import type { InteractionCode } from '../fhir/request.js';
import type { RawBody } from './body-parsers.js';

const BINARY_WRITES: ReadonlySet<InteractionCode> = new Set(['create', 'update', 'conditional-update']);

/** type/subtype with optional parameters (RFC 9110 §8.3.1); what a stored contentType may be. */
export const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"\\\r\n]*"|[A-Za-z0-9!#$&^_.+-]+))*$/;

/** A relative literal reference Type/id (http.html#general: ids are [A-Za-z0-9\-.]{1,64}). */
const LOCAL_REFERENCE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

export interface RawBinaryTarget {
  readonly interaction: InteractionCode;
  readonly resourceType?: string;
  readonly id?: string;
}

/** The Binary a raw body stands for; 415, 400 or 413 when it cannot be one. */
export function binaryFromRawBody(raw: RawBody, target: RawBinaryTarget, securityContext: string | undefined, maxBytes: number): Binary {
  if (target.resourceType !== 'Binary' || !BINARY_WRITES.has(target.interaction)) {
    throw unsupportedMediaType(
      `${raw.contentType ?? 'A body without Content-Type'} is accepted only as the content of a Binary (POST Binary, PUT Binary/[id]); send application/fhir+json`
    );
  }
  if (raw.contentType === undefined) {
    throw unsupportedMediaType('The content of a Binary needs a Content-Type: the media type of the file');
  }
  if (!MEDIA_TYPE.test(raw.contentType)) {
    throw unsupportedMediaType('The Content-Type is not a media type (type/subtype)');
  }
  if (raw.bytes.length === 0) {
    throw badRequest('The Binary content is empty');
  }
  if (raw.bytes.length > maxBytes) {
    throw payloadTooLarge(`The Binary content exceeds the limit of ${maxBytes} bytes`);
  }
  if (securityContext !== undefined && !LOCAL_REFERENCE.test(securityContext.trim())) {
    throw badRequest('X-Security-Context must be a reference of the form Type/id', 'X-Security-Context');
  }
  return {
    resourceType: 'Binary',
    ...(target.id !== undefined ? { id: target.id } : {}),
    contentType: raw.contentType,
    ...(securityContext !== undefined ? { securityContext: { reference: securityContext.trim() } } : {}),
    data: raw.bytes.toString('base64'),
  };
}
