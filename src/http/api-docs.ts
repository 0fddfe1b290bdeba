/**
 * Swagger UI at [base]/docs over the OpenAPI document of GET [base]/openapi.json
 * (openapi-route.ts), in development mode only: an explorer for people building against a local
 * server. Production serves no HTML at all (security-headers.ts), so there the path is unknown (404).
 *
 * @fastify/swagger-ui reads its document from @fastify/swagger, which would generate one from
 * route schemas; Schakel's document comes from the CapabilityStatement instead, so @fastify/swagger
 * runs in its static mode (no route scanning) with an empty placeholder, and the UI's
 * `transformSpecification` answers the very document openapi.json answers, for the request's base URL.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { openApiResponse } from '../interactions/openapi-response.js';
import { fhirBaseUrl } from './fhir-routes.js';
import { scopesOf, type OpenApiRouteOptions } from './openapi-route.js';

export interface ApiDocsOptions extends OpenApiRouteOptions {
  readonly mode: 'development' | 'production';
}

export async function registerApiDocs(app: FastifyInstance, options: ApiDocsOptions): Promise<void> {
  if (options.mode !== 'development') {
    return;
  }
  await app.register(async (scope) => {
    await scope.register(swagger, {
      mode: 'static',
      specification: { document: { openapi: '3.1.0', info: { title: 'Schakel', version: '0' }, paths: {} } },
    });
    await scope.register(swaggerUi, {
      routePrefix: `${options.basePath}/docs`,
      // The UI's own policy instead of the API's `default-src 'none'`; without upgrading requests,
      // which would send a page on http://localhost to https for its scripts.
      staticCSP: true,
      transformStaticCSP: (header) => header.replace(/upgrade-insecure-requests;?/, '').trim(),
      transformSpecificationClone: false,
      transformSpecification: (_unused, request) => {
        const answer = openApiResponse(options.context, fhirBaseUrl(request, options.basePath, options.publicBaseUrl), scopesOf(options.auth), undefined);
        return JSON.parse(answer.json ?? '{}') as Record<string, unknown>;
      },
    });
  });
}
