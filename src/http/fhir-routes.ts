/**
 * The FHIR endpoint: turns each HTTP request into a transport-free FhirRequest (routes table,
 * headers, negotiated format), hands it to dispatch and writes the FhirResponse back.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, unsupportedMediaType } from '../fhir/outcomes.js';
import { assertNoNul, type FhirRequest, type HttpMethod, type InteractionCode, type QueryParams } from '../fhir/request.js';
import { matchRoute, pathSegments } from '../fhir/routes.js';
import type { FhirContext } from '../interactions/context.js';
import { dispatch } from '../interactions/dispatch.js';
import { JSON_PATCH_TYPE, type FormBody } from './body-parsers.js';
import { responseMediaType } from './negotiation.js';
import { parsePrefer } from './prefer.js';
import { sendFhir } from './reply.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The interaction this request was routed to, for logs and audit (never the URL: it may hold patient data). */
    fhirInteraction?: { code: InteractionCode; resourceType?: string; operation?: string };
  }
}

const HTTP_ONLY_PARAMETERS = new Set(['_format', '_pretty']);
const SEARCH_INTERACTIONS: ReadonlySet<InteractionCode> = new Set(['search-type', 'search-system', 'search-compartment']);
const PATCH_INTERACTIONS: ReadonlySet<InteractionCode> = new Set(['patch', 'conditional-patch']);

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function isFormBody(body: unknown): body is FormBody {
  return typeof body === 'object' && body !== null && 'form' in body && Array.isArray((body as FormBody).form);
}

export interface FhirRoutesOptions {
  readonly basePath: string;
  readonly publicBaseUrl: string | undefined;
  readonly context: FhirContext;
}

export function registerFhirRoutes(app: FastifyInstance, options: FhirRoutesOptions): void {
  const { basePath, context } = options;

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const rawUrl = request.raw.url ?? '/';
    const q = rawUrl.indexOf('?');
    const pathname = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const allParams = [...new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1))];
    if (pathname.includes('%00')) {
      throw badRequest('The request URL contains a NUL character');
    }
    assertNoNul(allParams, 'The request URL');
    const pretty = allParams.find(([k]) => k === '_pretty')?.[1] === 'true';
    const format = allParams.find(([k]) => k === '_format')?.[1];
    // Errors from here on are answered in the negotiated format.
    request.fhirFormat = { mediaType: responseMediaType(format, header(request, 'accept')), pretty };

    const method = request.method as HttpMethod;
    const route = matchRoute(method, pathSegments(pathname.slice(basePath.length)));
    request.fhirInteraction = {
      code: route.interaction,
      ...(route.resourceType ? { resourceType: route.resourceType } : {}),
      ...(route.operation ? { operation: route.operation } : {}),
    };

    let query: QueryParams = allParams.filter(([k]) => !HTTP_ONLY_PARAMETERS.has(k));
    let body: unknown = request.body;
    if (isFormBody(body)) {
      if (!SEARCH_INTERACTIONS.has(route.interaction) && route.interaction !== 'operation') {
        throw unsupportedMediaType('A form-encoded body is only accepted by POST [type]/_search');
      }
      assertNoNul(body.form, 'The form body');
      query = [...query, ...body.form.filter(([k]) => !HTTP_ONLY_PARAMETERS.has(k))];
      body = undefined;
    }
    const needsBody =
      route.interaction === 'create' ||
      route.interaction === 'update' ||
      route.interaction === 'conditional-update' ||
      route.interaction === 'patch' ||
      route.interaction === 'conditional-patch' ||
      route.interaction === 'batch-transaction';
    if (needsBody && body === undefined) {
      throw badRequest(`${method} needs a request body`);
    }
    const contentType = header(request, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (contentType === JSON_PATCH_TYPE && body !== undefined && !PATCH_INTERACTIONS.has(route.interaction)) {
      throw unsupportedMediaType(`${JSON_PATCH_TYPE} is a body for PATCH only; send application/fhir+json`);
    }
    const ifMatch = header(request, 'if-match');
    const ifNoneMatch = header(request, 'if-none-match');
    const ifNoneExist = header(request, 'if-none-exist');
    const ifModifiedSince = header(request, 'if-modified-since');
    const fhirRequest: FhirRequest = {
      ...route,
      method,
      query,
      ...(body !== undefined ? { body } : {}),
      ...(contentType ? { contentType } : {}),
      ...(ifMatch !== undefined ? { ifMatch } : {}),
      ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
      ...(ifNoneExist !== undefined ? { ifNoneExist } : {}),
      ...(ifModifiedSince !== undefined ? { ifModifiedSince } : {}),
      prefer: parsePrefer(request.headers['prefer']),
      baseUrl: options.publicBaseUrl ?? `${request.protocol}://${request.host}${basePath}`,
    };
    const response = await dispatch({ ...context, ...(request.principal ? { principal: request.principal } : {}), address: request.ip }, fhirRequest);
    return sendFhir(reply, response, request.fhirFormat);
  }

  const methods: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  app.route({ method: methods, url: `${basePath}/*`, handler: handle });
  app.route({ method: methods, url: basePath === '' ? '/' : basePath, handler: handle });
}
