/** Writes FhirResponses to Fastify replies: status, headers, body in the negotiated format. */
import type { FastifyReply } from 'fastify';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { OUTCOME_STATUS } from '../fhir/outcomes.js';
import type { FhirResponse } from '../fhir/request.js';
import { sendBinaryContent } from './binary-reply.js';
import { bundleJsonStream, isLargeBundle } from './bundle-stream.js';
import { serialiseFhirXml } from '../fhir/xml/serialise.js';
import { isXmlMediaType, type ReplyFormat } from './negotiation.js';
import { stringifyFhir, withoutStoredMark } from '../fhir/decimal-text.js';
import { parseStoredJson } from '../fhir/json-parse.js';

export { DEFAULT_FORMAT, type ReplyFormat } from './negotiation.js';

/** Outcome ids are the server's status tags (fhir/outcomes.ts), not resource ids for clients. */
function publicResource(resource: Resource): Resource {
  if (resource.resourceType === 'OperationOutcome' && resource.id !== undefined && resource.id in OUTCOME_STATUS) {
    const { id: _id, ...rest } = resource;
    return rest;
  }
  return resource;
}

export function serialize(resource: Resource, format: ReplyFormat): string {
  const body = publicResource(resource);
  if (isXmlMediaType(format.mediaType)) {
    return serialiseFhirXml(body, { pretty: format.pretty });
  }
  return stringifyFhir(body, format.pretty ? 2 : undefined);
}

/** A stored resource's JSON text, re-written only when the format asks for something else. */
function serializeStored(json: string, format: ReplyFormat): string {
  if (isXmlMediaType(format.mediaType)) {
    return serialiseFhirXml(parseStoredJson(json), { pretty: format.pretty });
  }
  return format.pretty ? stringifyFhir(parseStoredJson(json), 2) : withoutStoredMark(json);
}

export function sendFhir(reply: FastifyReply, response: FhirResponse, format: ReplyFormat): FastifyReply {
  reply.code(response.status);
  if (response.location) {
    reply.header('location', response.location);
    if (response.status === 201) {
      reply.header('content-location', response.location);
    }
  }
  if (response.contentLocation) {
    reply.header('content-location', response.contentLocation);
  }
  if (response.etag) {
    reply.header('etag', response.etag);
  }
  if (response.lastModified) {
    reply.header('last-modified', response.lastModified);
  }
  if (response.binary && response.status !== 304) {
    return sendBinaryContent(reply, response.binary);
  }
  let body: string | undefined;
  if (response.resource && !format.pretty && !isXmlMediaType(format.mediaType) && response.status !== 304 && isLargeBundle(response.resource)) {
    reply.header('content-type', `${format.mediaType}; charset=utf-8`);
    return reply.send(bundleJsonStream(response.resource));
  }
  if (response.resource) {
    body = serialize(response.resource, format);
  } else if (response.json !== undefined) {
    body = serializeStored(response.json, format);
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
  return reply.send(serialize(outcome, format));
}
