/** Writes FhirResponses to Fastify replies: status, headers, body in the negotiated format. */
import type { FastifyReply } from 'fastify';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { OUTCOME_STATUS } from '../fhir/outcomes.js';
import type { FhirResponse } from '../fhir/request.js';
import { bundleJsonStream, isLargeBundle } from './bundle-stream.js';
import { FHIR_JSON } from './negotiation.js';

export interface ReplyFormat {
  readonly mediaType: string;
  readonly pretty: boolean;
}

export const DEFAULT_FORMAT: ReplyFormat = { mediaType: FHIR_JSON, pretty: false };

/** Outcome ids are the server's status tags (fhir/outcomes.ts), not resource ids for clients. */
function publicResource(resource: Resource): Resource {
  if (resource.resourceType === 'OperationOutcome' && resource.id !== undefined && resource.id in OUTCOME_STATUS) {
    const { id: _id, ...rest } = resource;
    return rest;
  }
  return resource;
}

export function serialize(resource: Resource, pretty: boolean): string {
  return JSON.stringify(publicResource(resource), undefined, pretty ? 2 : undefined);
}

export function sendFhir(reply: FastifyReply, response: FhirResponse, format: ReplyFormat): FastifyReply {
  reply.code(response.status);
  if (response.location) {
    reply.header('location', response.location);
    if (response.status === 201) {
      reply.header('content-location', response.location);
    }
  }
  if (response.etag) {
    reply.header('etag', response.etag);
  }
  if (response.lastModified) {
    reply.header('last-modified', response.lastModified);
  }
  let body: string | undefined;
  if (response.resource && !format.pretty && response.status !== 304 && isLargeBundle(response.resource)) {
    reply.header('content-type', `${format.mediaType}; charset=utf-8`);
    return reply.send(bundleJsonStream(response.resource));
  }
  if (response.resource) {
    body = serialize(response.resource, format.pretty);
  } else if (response.json !== undefined) {
    body = format.pretty ? JSON.stringify(JSON.parse(response.json), undefined, 2) : response.json;
  }
  if (body === undefined || response.status === 304) {
    return reply.send();
  }
  reply.header('content-type', `${format.mediaType}; charset=utf-8`);
  return reply.send(body);
}

export function sendOutcome(reply: FastifyReply, status: number, outcome: OperationOutcome, format: ReplyFormat): FastifyReply {
  reply.code(status);
  reply.header('content-type', `${format.mediaType}; charset=utf-8`);
  return reply.send(serialize(outcome, format.pretty));
}
