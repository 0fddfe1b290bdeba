/**
 * What a span may carry (README: logs never carry patient data, and traces leave the process too):
 * HTTP instrumentation records the request URL, whose path names resources (a Patient id) and
 * whose query holds search values (a BSN, a name). Those attributes are cut down here before export
 * to the path with every id replaced by `:id` and without the query. SQL spans carry the statement
 * text only, never parameters (and error events lose their message): tracing.ts keeps instrumentation-pg's enhancedDatabaseReporting off,
 * and its parameter attribute (db.postgresql.values) would be dropped here all the same.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { isR4ResourceType } from '../fhir/definitions.js';

/** Path segments that are names, not ids: Schakel's own routes. */
const ROUTE_WORDS = new Set(['fhir', 'auth', 'token', 'jwks', 'healthz', 'readyz', 'livez', 'metrics', 'metadata', 'openapi.json', 'docs', '.well-known', 'smart-configuration']);

/** Attributes holding a URL or a part of one (old and stable HTTP semantic conventions). */
const PATH_ATTRIBUTES = new Set(['http.target', 'url.path']);
const DROPPED_ATTRIBUTES = new Set(['http.url', 'url.full', 'url.query', 'http.request.query', 'url.original']);

function keepSegment(segment: string): boolean {
  return segment === '' || segment.startsWith('$') || segment.startsWith('_') || ROUTE_WORDS.has(segment) || /^[A-Z][A-Za-z]+$/.test(segment) && isR4ResourceType(segment);
}

/** A request path without its query and with every segment that is not a route word as `:id`. */
export function redactPath(target: string): string {
  const path = target.split('?', 1)[0] ?? '';
  return path
    .split('/')
    .map((segment) => (keepSegment(segment) ? segment : ':id'))
    .join('/');
}

export function redactAttributes(attributes: Attributes): Attributes {
  const clean: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (DROPPED_ATTRIBUTES.has(key) || key.startsWith('http.request.header.') || key.startsWith('db.query.parameter') || key === 'db.postgresql.values') {
      continue;
    }
    clean[key] = PATH_ATTRIBUTES.has(key) && typeof value === 'string' ? redactPath(value) : value;
  }
  return clean;
}

/**
 * An error event's message can quote data (PostgreSQL's "Key (id)=(…) already exists"): events keep
 * the exception type, never the message.
 */
const DROPPED_EVENT_ATTRIBUTES = new Set(['exception.message']);

function redactEvents(events: ReadableSpan['events']): ReadableSpan['events'] {
  return events.map((event) =>
    event.attributes === undefined ? event : { ...event, attributes: Object.fromEntries(Object.entries(event.attributes).filter(([key]) => !DROPPED_EVENT_ATTRIBUTES.has(key))) }
  );
}

/** Passes spans on to `next` with their attributes redacted; the span objects stay untouched. */
export class RedactingExporter implements SpanExporter {
  constructor(private readonly next: SpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: Parameters<SpanExporter['export']>[1]): void {
    const redacted = spans.map(
      (span) =>
        Object.create(span, {
          attributes: { value: redactAttributes(span.attributes), enumerable: true },
          events: { value: redactEvents(span.events), enumerable: true },
        }) as ReadableSpan
    );
    this.next.export(redacted, resultCallback);
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush?.() ?? Promise.resolve();
  }
}
