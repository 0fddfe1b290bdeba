/**
 * A Binary served as itself (https://hl7.org/fhir/R4/binary.html#rest): its bytes with its
 * contentType. The content is whatever a client uploaded, so a browser must never run it on this
 * origin (binary.html "Security Considerations", and https://hl7.org/fhir/R4/security.html#narrative):
 * nosniff keeps the declared type; only passive types are shown inline; everything else (text/html,
 * image/svg+xml, XML, scripts...) is an attachment whose content security policy also sandboxes it,
 * so even a browser that renders it runs no script and reaches no origin.
 */
import type { FastifyReply } from 'fastify';
import { MEDIA_TYPE } from './binary-body.js';

/** Types a browser displays without running anything. */
const PASSIVE_TYPES: ReadonlySet<string> = new Set(['application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'text/plain']);

export function sendBinaryContent(reply: FastifyReply, binary: { readonly contentType: string; readonly content: Uint8Array }): FastifyReply {
  // A stored contentType that is no media type (a FHIR JSON write allows any code) is served as bytes.
  const contentType = MEDIA_TYPE.test(binary.contentType) ? binary.contentType : 'application/octet-stream';
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const passive = PASSIVE_TYPES.has(mediaType);
  reply.header('content-type', contentType);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('content-disposition', passive ? 'inline' : 'attachment');
  if (!passive) {
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'; sandbox");
  }
  return reply.send(Buffer.from(binary.content.buffer, binary.content.byteOffset, binary.content.byteLength));
}
