/**
 * Request body parsers. Fastify's defaults are replaced so that only the media types FHIR
 * defines (FHIR JSON, FHIR XML, JSON Patch, forms for search) are parsed; a body of any other type
 * is kept as raw bytes (RawBody), which only a Binary create or update accepts
 * (https://hl7.org/fhir/R4/binary.html#rest; 415 elsewhere, fhir-routes.ts). JSON and XML bodies
 * are read into one buffer as they stream in (body-bytes.ts, 413 over the body limit) and parsed
 * from those bytes; prototype-poisoning keys are refused by each parser.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeUtf8, parseFhirJson } from '../fhir/json-parse.js';
import { parseFhirXml } from '../fhir/xml/parse.js';
import { readBodyBytes } from './body-bytes.js';
import { XML_MEDIA_TYPES } from './negotiation.js';
import { unsupportedMediaType } from '../fhir/outcomes.js';

export const FHIR_BODY_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'];
export const JSON_PATCH_TYPE = 'application/json-patch+json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

export interface BodyParserOptions {
  readonly bodyLimit: number;
  readonly maxJsonDepth: number;
}

/** A body of a non-FHIR media type, as sent: the content of a Binary. */
export class RawBody {
  constructor(
    readonly bytes: Buffer,
    /** The Content-Type header as sent (parameters such as charset kept); undefined when absent. */
    readonly contentType: string | undefined
  ) {}
}

/** A form-encoded body as ordered pairs (POST [type]/_search). */
export type FormBody = { readonly form: ReadonlyArray<readonly [string, string]> };

/**
 * JSON is UTF-8 (RFC 8259 section 8.1) and so is every FHIR JSON body
 * (https://hl7.org/fhir/R4/http.html#mime-type): a body declared in another charset would be read
 * as something it is not, so it is refused (415) rather than decoded as UTF-8 regardless.
 */
function assertUtf8Charset(request: FastifyRequest): void {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(request.headers['content-type'] ?? '');
  if (match && !/^utf-?8$/i.test(match[1] ?? '')) {
    throw unsupportedMediaType(`Bodies are UTF-8; charset ${match[1] ?? ''} is not supported`);
  }
}

export function registerBodyParsers(app: FastifyInstance, options: BodyParserOptions): void {
  app.removeAllContentTypeParsers();
  const strictJson =
    (fhirRules: boolean) =>
    async (request: FastifyRequest, payload: IncomingMessage): Promise<unknown> => {
      assertUtf8Charset(request);
      const bytes = await readBodyBytes(payload, request.headers['content-length'], options.bodyLimit);
      return parseFhirJson(bytes, { maxDepth: options.maxJsonDepth, fhirRules });
    };
  app.addContentTypeParser(FHIR_BODY_TYPES, strictJson(true));
  // JSON Patch documents get the same strict reader as resources: their values become resource
  // content, so duplicate keys, lone surrogates, a BOM or deep nesting are refused alike.
  app.addContentTypeParser(JSON_PATCH_TYPE, strictJson(false));
  // FHIR XML bodies become the same JSON a FHIR JSON body would (fhir/xml/parse.ts); the
  // interactions never see which format arrived. The XML nesting limit is the JSON one.
  app.addContentTypeParser([...XML_MEDIA_TYPES], async (request: FastifyRequest, payload: IncomingMessage): Promise<unknown> => {
    assertUtf8Charset(request);
    const bytes = await readBodyBytes(payload, request.headers['content-length'], options.bodyLimit);
    return parseFhirXml(decodeUtf8(bytes), { maxDepth: options.maxJsonDepth });
  });
  // Any other media type, and a body without Content-Type (Fastify hands those to the catch-all).
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const header = request.headers['content-type'];
    done(null, new RawBody(body as Buffer, typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined));
  });
  app.addContentTypeParser(FORM_TYPE, { parseAs: 'string', bodyLimit: options.bodyLimit }, (_request, body, done) => {
    const form: FormBody = { form: [...new URLSearchParams(body as string)] };
    done(null, form);
  });
}
