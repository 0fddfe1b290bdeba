/**
 * Request body parsers. Fastify's defaults are replaced so that only the media types FHIR
 * defines are accepted (anything else: 415). Fastify still enforces the body limit (413) before
 * a parser runs; prototype-poisoning keys are refused by each parser.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeUtf8, parseFhirJson } from '../fhir/json-parse.js';
import { unsupportedMediaType } from '../fhir/outcomes.js';

export const FHIR_BODY_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'];
export const JSON_PATCH_TYPE = 'application/json-patch+json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

export interface BodyParserOptions {
  readonly bodyLimit: number;
  readonly maxJsonDepth: number;
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
  app.addContentTypeParser(
    FHIR_BODY_TYPES,
    { parseAs: 'buffer', bodyLimit: options.bodyLimit },
    (request, body, done) => {
      try {
        assertUtf8Charset(request);
        done(null, parseFhirJson(decodeUtf8(body as Buffer), { maxDepth: options.maxJsonDepth }));
      } catch (error) {
        done(error as Error, undefined);
      }
    }
  );
  // JSON Patch documents get the same strict reader as resources: their values become resource
  // content, so duplicate keys, lone surrogates, a BOM or deep nesting are refused alike.
  app.addContentTypeParser(JSON_PATCH_TYPE, { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (request, body, done) => {
    try {
      assertUtf8Charset(request);
      done(null, parseFhirJson(decodeUtf8(body as Buffer), { maxDepth: options.maxJsonDepth, fhirRules: false }));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser(FORM_TYPE, { parseAs: 'string', bodyLimit: options.bodyLimit }, (_request, body, done) => {
    const form: FormBody = { form: [...new URLSearchParams(body as string)] };
    done(null, form);
  });
}
