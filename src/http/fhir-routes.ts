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
import { binaryFromRawBody } from './binary-body.js';
import { JSON_PATCH_TYPE, RawBody, type FormBody } from './body-parsers.js';
import { FHIR_JSON, replyFormat, wantsNativeContent } from './negotiation.js';
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

/** The FHIR base URL a request addresses: the configured public one, else from the request's Host. */
export function fhirBaseUrl(request: FastifyRequest, basePath: string, publicBaseUrl: string | undefined): string {
  return publicBaseUrl ?? `${request.protocol}://${request.host}${basePath}`;
}

export interface FhirRoutesOptions {
  readonly basePath: string;
  readonly publicBaseUrl: string | undefined;
  readonly context: FhirContext;
  /** Body limit of the other routes (BODY_LIMIT). */
  readonly bodyLimit: number;
  /** Largest Binary content (BINARY_MAX_BYTES); Binary writes may carry that much. */
  readonly binaryMaxBytes: number;
}

/**
 * Chooses the answer's format before anything else runs, so that a refused token (401) or a body
 * that does not parse (400, 415) is answered in the format the client asked for.
 */
export function registerFormatNegotiation(app: FastifyInstance, basePath: string): void {
  app.addHook('onRequest', async (request) => {
    const rawUrl = request.raw.url ?? '/';
    if (!rawUrl.startsWith(basePath)) {
      return;
    }
    try {
      request.fhirFormat = replyFormat(rawUrl, header(request, 'accept'));
    } catch {
      // Answered with 406 by the route handler, in FHIR JSON.
    }
  });
}

function interactionOf(route: ReturnType<typeof matchRoute>): NonNullable<FastifyRequest['fhirInteraction']> {
  return {
    code: route.interaction,
    ...(route.resourceType ? { resourceType: route.resourceType } : {}),
    ...(route.operation ? { operation: route.operation } : {}),
  };
}

/**
 * Names the interaction of a FHIR request as it arrives, so that a request answered before its
 * handler runs (401, 429, a shed 503) is still logged and counted by interaction. The handler
 * routes again and has the last word; a path that routes nowhere stays unnamed (its 404 comes
 * from the handler).
 */
export function registerInteractionNaming(app: FastifyInstance, basePath: string): void {
  app.addHook('onRequest', async (request) => {
    const rawUrl = request.raw.url ?? '/';
    if (!rawUrl.startsWith(basePath)) {
      return;
    }
    const q = rawUrl.indexOf('?');
    const pathname = q === -1 ? rawUrl : rawUrl.slice(0, q);
    try {
      request.fhirInteraction = interactionOf(matchRoute(request.method as HttpMethod, pathSegments(pathname.slice(basePath.length))));
    } catch {
      // Unknown path, type or method: answered by the handler.
    }
  });
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
    const accept = header(request, 'accept');
    const method = request.method as HttpMethod;
    const route = matchRoute(method, pathSegments(pathname.slice(basePath.length)));
    const nativeContent =
      (route.interaction === 'read' || route.interaction === 'vread') && route.resourceType === 'Binary' && wantsNativeContent(format, accept);
    // Errors from here on are answered in the negotiated format (FHIR JSON for a Binary's own
    // content); the onRequest hook (registerFormatNegotiation) left it unset when nothing fits: 406 here.
    request.fhirFormat = nativeContent ? { mediaType: FHIR_JSON, pretty } : replyFormat(rawUrl, accept);

    request.fhirInteraction = interactionOf(route);

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
    if (body instanceof RawBody) {
      body = binaryFromRawBody(body, route, header(request, 'x-security-context'), options.binaryMaxBytes);
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
      ...(nativeContent ? { nativeContent } : {}),
      prefer: parsePrefer(request.headers['prefer']),
      baseUrl: fhirBaseUrl(request, basePath, options.publicBaseUrl),
    };
    const response = await dispatch({ ...context, ...(request.principal ? { principal: request.principal } : {}), address: request.ip, requestId: request.id }, fhirRequest);
    return sendFhir(reply, response, request.fhirFormat);
  }

  const methods: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  app.route({ method: methods, url: `${basePath}/*`, handler: handle });
  app.route({ method: methods, url: basePath === '' ? '/' : basePath, handler: handle });
  // Binary writes carry files (binary-body.ts): their own body limit, the same handler.
  const bodyLimit = Math.max(options.bodyLimit, options.binaryMaxBytes);
  app.route({ method: ['POST', 'PUT'], url: `${basePath}/Binary`, handler: handle, bodyLimit });
  app.route({ method: ['PUT'], url: `${basePath}/Binary/:id`, handler: handle, bodyLimit });
}
