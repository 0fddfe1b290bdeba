/**
 * Schakel's own spans through the OpenTelemetry API, which does nothing until tracing.ts has
 * registered a provider: PGlite's SQL statements here, the FHIR interaction of a request in
 * http/interaction-spans.ts.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

export const tracer = trace.getTracer('schakel');

/**
 * A client span around one SQL statement of PGlite, with the attributes instrumentation-pg gives
 * PostgreSQL's (stable database semantic conventions): the statement text, never its parameters.
 */
export async function sqlSpan<T>(statement: string, run: () => Promise<T>): Promise<T> {
  if (trace.getSpan(context.active()) === undefined) {
    // No request or job around it: nothing to attach to, and a start-up's many statements alone.
    return run();
  }
  return tracer.startActiveSpan(`pglite ${statement.trimStart().split(/\s/, 1)[0]?.toUpperCase() ?? ''}`, { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql', 'db.query.text': statement } }, async (span) => {
    try {
      return await run();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}
