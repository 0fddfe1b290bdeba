/**
 * GET [base]/openapi.json, public like GET [base]/metadata (it describes the API and holds no
 * data): the OpenAPI 3.1 document generated from the CapabilityStatement
 * (interactions/openapi.ts). Registered outside the authenticated scope; a static route, so it
 * takes precedence over the FHIR wildcard route.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService } from '../auth/service.js';
import type { FhirContext } from '../interactions/context.js';
import { openApiResponse } from '../interactions/openapi-response.js';
import { fhirBaseUrl } from './fhir-routes.js';

export interface OpenApiRouteOptions {
  readonly basePath: string;
  readonly publicBaseUrl: string | undefined;
  readonly context: FhirContext;
  readonly auth: AuthService;
}

export function scopesOf(auth: AuthService): string[] {
  const scopes = auth.smartConfiguration()['scopes_supported'];
  return Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : [];
}

export function registerOpenApiRoute(app: FastifyInstance, options: OpenApiRouteOptions): void {
  app.get(`${options.basePath}/openapi.json`, async (request: FastifyRequest, reply: FastifyReply) => {
    const ifNoneMatch = request.headers['if-none-match'];
    const answer = openApiResponse(options.context, fhirBaseUrl(request, options.basePath, options.publicBaseUrl), scopesOf(options.auth), ifNoneMatch);
    reply.header('etag', answer.etag);
    if (answer.status === 304) {
      return reply.code(304).send();
    }
    return reply.code(200).type('application/json; charset=utf-8').send(answer.json);
  });
}
