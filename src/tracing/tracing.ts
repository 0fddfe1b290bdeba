/**
 * OpenTelemetry tracing, started by the preload register.ts when OTEL_EXPORTER_OTLP_ENDPOINT is
 * set: spans of HTTP requests (instrumentation-http), of the FHIR interaction (interaction-spans.ts)
 * and of SQL (instrumentation-pg on PostgreSQL, sql-spans.ts on PGlite), exported over OTLP/HTTP
 * (JSON) in batches. The standard OTEL_* variables apply (OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_BSP_SCHEDULE_DELAY, …). Every span passes
 * redaction.ts on its way out.
 */
import { register } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { RedactingExporter } from './redaction.js';

/** Probes and scrapes, every few seconds on every node: noise, not requests. */
const UNTRACED_PATHS = /^\/(healthz|readyz|livez|metrics)(\?|$)/;

export function startTracing(): NodeTracerProvider {
  // ESM: pg is instrumented through the loader hook of import-in-the-middle, for pg only (wrapping
  // every module would slow the start and can break modules with unusual exports).
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: ['pg', 'pg-pool'] } });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: process.env['OTEL_SERVICE_NAME'] || 'schakel' }),
    spanProcessors: [new BatchSpanProcessor(new RedactingExporter(new OTLPTraceExporter()))],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.test(request.url ?? ''),
        // Outgoing calls are the exporter's own and rest-hook deliveries, whose URLs are the
        // subscribers'; not traced.
        disableOutgoingRequestInstrumentation: true,
      }),
      // Statement text only: parameters hold patient data (README: logs never carry patient data).
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
    ],
  });
  return provider;
}
