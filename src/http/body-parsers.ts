/**
 * Request body parsers. Fastify's defaults are replaced so that only the media types FHIR
 * defines (FHIR JSON, FHIR XML, JSON Patch, forms for search) are accepted (anything else: 415). Fastify still enforces the body limit (413) before
 * a parser runs; prototype-poisoning keys are refused by each parser.
 */
import type { FastifyInstance } from 'fastify';
import { decodeUtf8, parseFhirJson } from '../fhir/json-parse.js';
import { parseFhirXml } from '../fhir/xml/parse.js';
import { XML_MEDIA_TYPES } from './negotiation.js';

export const FHIR_BODY_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'];
export const JSON_PATCH_TYPE = 'application/json-patch+json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

export interface BodyParserOptions {
  readonly bodyLimit: number;
  readonly maxJsonDepth: number;
}

/** A form-encoded body as ordered pairs (POST [type]/_search). */
export type FormBody = { readonly form: ReadonlyArray<readonly [string, string]> };

export function registerBodyParsers(app: FastifyInstance, options: BodyParserOptions): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    FHIR_BODY_TYPES,
    { parseAs: 'buffer', bodyLimit: options.bodyLimit },
    (_request, body, done) => {
      try {
        done(null, parseFhirJson(decodeUtf8(body as Buffer), { maxDepth: options.maxJsonDepth }));
      } catch (error) {
        done(error as Error, undefined);
      }
    }
  );
  // FHIR XML bodies become the same JSON a FHIR JSON body would (fhir/xml/parse.ts); the
  // interactions never see which format arrived. The XML nesting limit is the JSON one.
  app.addContentTypeParser([...XML_MEDIA_TYPES], { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseFhirXml(decodeUtf8(body as Buffer), { maxDepth: options.maxJsonDepth }));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // JSON Patch documents get the same strict reader as resources: their values become resource
  // content, so duplicate keys, lone surrogates, a BOM or deep nesting are refused alike.
  app.addContentTypeParser(JSON_PATCH_TYPE, { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, body, done) => {
    try {
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
