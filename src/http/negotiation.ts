/**
 * Response format: `_format` wins over Accept (https://hl7.org/fhir/R4/http.html#mime-type).
 * Only JSON is served; asking for anything else answers 406.
 */
import { notAcceptable } from '../fhir/outcomes.js';

export const FHIR_JSON = 'application/fhir+json';
export const JSON_TYPE = 'application/json';

const FORMAT_ALIASES: Record<string, string> = {
  json: FHIR_JSON,
  'application/json': JSON_TYPE,
  'application/fhir+json': FHIR_JSON,
  'application/json+fhir': FHIR_JSON,
};

function acceptable(range: string): string | undefined {
  const type = range.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === FHIR_JSON || type === 'application/json+fhir' || type === '*/*' || type === 'application/*' || type === '') {
    return FHIR_JSON;
  }
  if (type === JSON_TYPE) {
    return JSON_TYPE;
  }
  return undefined;
}

/** The media type of the response, or 406 when the client accepts no JSON at all. */
export function responseMediaType(format: string | undefined, accept: string | undefined): string {
  if (format !== undefined) {
    const chosen = FORMAT_ALIASES[format.trim().toLowerCase()];
    if (!chosen) {
      throw notAcceptable(`_format ${format} is not supported; this server speaks FHIR JSON`);
    }
    return chosen;
  }
  if (accept === undefined || accept.trim() === '') {
    return FHIR_JSON;
  }
  for (const range of accept.split(',')) {
    const chosen = acceptable(range);
    if (chosen) {
      return chosen;
    }
  }
  throw notAcceptable(`Accept ${accept} names no format this server produces (application/fhir+json)`);
}

/** Media types that name a FHIR format, in Accept (https://hl7.org/fhir/R4/http.html#mime-type). */
const FHIR_FORMATS = new Set([FHIR_JSON, 'application/json+fhir', JSON_TYPE, 'application/fhir+xml', 'application/xml+fhir', 'application/xml', 'text/xml']);

/**
 * For read and vread of a Binary: whether the content is to be served as itself. The spec serves
 * the native content unless the request explicitly asks for a FHIR format
 * (https://hl7.org/fhir/R4/binary.html#rest): `_format`, or a FHIR media type in Accept. `*\/*`,
 * no Accept at all, or the Binary's own type (application/pdf...) get the bytes.
 */
export function wantsNativeContent(format: string | undefined, accept: string | undefined): boolean {
  if (format !== undefined) {
    return false;
  }
  return !(accept ?? '').split(',').some((range) => FHIR_FORMATS.has(range.split(';')[0]?.trim().toLowerCase() ?? ''));
}
