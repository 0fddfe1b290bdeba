/**
 * Response format: `_format` wins over Accept (https://hl7.org/fhir/R4/http.html#mime-type).
 * FHIR JSON and FHIR XML are served; asking for anything else answers 406.
 */
import { notAcceptable } from '../fhir/outcomes.js';

export const FHIR_JSON = 'application/fhir+json';
export const JSON_TYPE = 'application/json';
export const FHIR_XML = 'application/fhir+xml';
export const XML_TYPE = 'application/xml';

/** The format a response is written in, chosen once per request; errors use it too. */
export interface ReplyFormat {
  readonly mediaType: string;
  readonly pretty: boolean;
}

export const DEFAULT_FORMAT: ReplyFormat = { mediaType: FHIR_JSON, pretty: false };

/** Media types whose body is FHIR XML (the R4 names and the DSTU2 ones clients still send). */
export const XML_MEDIA_TYPES: ReadonlySet<string> = new Set([FHIR_XML, XML_TYPE, 'application/xml+fhir', 'text/xml']);

const FORMAT_ALIASES: Record<string, string> = {
  json: FHIR_JSON,
  'application/json': JSON_TYPE,
  'application/fhir+json': FHIR_JSON,
  'application/json+fhir': FHIR_JSON,
  xml: FHIR_XML,
  'text/xml': XML_TYPE,
  'application/xml': XML_TYPE,
  'application/fhir+xml': FHIR_XML,
  'application/xml+fhir': FHIR_XML,
};

function acceptable(range: string): string | undefined {
  const type = range.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === '*/*' || type === 'application/*' || type === '') {
    return FHIR_JSON;
  }
  // Accept names media types only; `json` and `xml` are `_format` shorthands.
  return type.includes('/') ? FORMAT_ALIASES[type] : undefined;
}

function quality(range: string): number {
  const parameter = range
    .split(';')
    .slice(1)
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('q='));
  const value = parameter === undefined ? 1 : Number(parameter.slice(2));
  return Number.isFinite(value) ? value : 0;
}

export function isXmlMediaType(mediaType: string): boolean {
  return XML_MEDIA_TYPES.has(mediaType);
}

/** The media type of the response, or 406 when the client accepts neither JSON nor XML. */
export function responseMediaType(format: string | undefined, accept: string | undefined): string {
  if (format !== undefined) {
    const chosen = FORMAT_ALIASES[format.trim().toLowerCase()];
    if (!chosen) {
      throw notAcceptable(`_format ${format} is not supported; this server speaks FHIR JSON and FHIR XML`);
    }
    return chosen;
  }
  if (accept === undefined || accept.trim() === '') {
    return FHIR_JSON;
  }
  // Highest quality first, the client's order among equals (RFC 9110 section 12.5.1); q=0 is "not this".
  const ranges = accept
    .split(',')
    .map((range, position) => ({ range, position, q: quality(range) }))
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.position - b.position);
  for (const { range } of ranges) {
    const chosen = acceptable(range);
    if (chosen) {
      return chosen;
    }
  }
  throw notAcceptable(`Accept ${accept} names no format this server produces (${FHIR_JSON}, ${FHIR_XML})`);
}

/** `_format`, `_pretty` and Accept of a request URL and header: the format of its answer (406 when none fits). */
export function replyFormat(rawUrl: string, accept: string | undefined): ReplyFormat {
  const q = rawUrl.indexOf('?');
  const params = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1));
  return { mediaType: responseMediaType(params.get('_format') ?? undefined, accept), pretty: params.get('_pretty') === 'true' };
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
