/**
 * Request body parsers. Fastify's defaults are replaced so that only the media types FHIR
 * defines are accepted (anything else: 415). JSON bodies are read into one buffer as they stream
 * in (body-bytes.ts, 413 over the body limit) and parsed from those bytes (fhir/json-parse.ts);
 * prototype-poisoning keys are refused by each parser.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseFhirJson } from '../fhir/json-parse.js';
import { readBodyBytes } from './body-bytes.js';

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
  const strictJson =
    (fhirRules: boolean) =>
    async (request: FastifyRequest, payload: IncomingMessage): Promise<unknown> => {
      const bytes = await readBodyBytes(payload, request.headers['content-length'], options.bodyLimit);
      return parseFhirJson(bytes, { maxDepth: options.maxJsonDepth, fhirRules });
    };
  app.addContentTypeParser(FHIR_BODY_TYPES, strictJson(true));
  // JSON Patch documents get the same strict reader as resources: their values become resource
  // content, so duplicate keys, lone surrogates, a BOM or deep nesting are refused alike.
  app.addContentTypeParser(JSON_PATCH_TYPE, strictJson(false));
  app.addContentTypeParser(FORM_TYPE, { parseAs: 'string', bodyLimit: options.bodyLimit }, (_request, body, done) => {
    const form: FormBody = { form: [...new URLSearchParams(body as string)] };
    done(null, form);
  });
}
