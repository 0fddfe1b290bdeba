/**
 * The FHIR interaction of a request as a span (tracing/tracing.ts; a no-op while tracing is off).
 */
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { tracer } from '../tracing/spans.js';

/**
 * A span per FHIR interaction, named by interaction and resource type (`FHIR search-type
 * Observation`), child of the HTTP span and parent of the SQL the interaction runs. Attributes
 * name the interaction only: never an id or a search value. Registered after the interaction is
 * named (http/fhir-routes.ts registerInteractionNaming).
 */
export function registerInteractionSpans(app: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', (request, _reply, done) => {
    const interaction = request.fhirInteraction;
    if (interaction === undefined) {
      done();
      return;
    }
    const span = tracer.startSpan(['FHIR', interaction.code, interaction.resourceType, interaction.operation].filter((p) => p !== undefined).join(' '), {
      kind: SpanKind.INTERNAL,
      attributes: {
        'fhir.interaction': interaction.code,
        ...(interaction.resourceType !== undefined ? { 'fhir.resource_type': interaction.resourceType } : {}),
        ...(interaction.operation !== undefined ? { 'fhir.operation': interaction.operation } : {}),
      },
    });
    spans.set(request, span);
    // The rest of the request (hooks, handler, their promises) runs in the span's context.
    context.with(trace.setSpan(context.active(), span), done);
  });
  const end = async (request: FastifyRequest, status: number | undefined): Promise<void> => {
    const span = spans.get(request);
    if (span === undefined) {
      return;
    }
    spans.delete(request);
    if (status !== undefined) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    span.end();
  };
  app.addHook('onResponse', async (request, reply) => end(request, reply.statusCode));
  app.addHook('onRequestAbort', async (request) => end(request, undefined));
}
