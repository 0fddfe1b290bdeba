/**
 * Preload of the server process (`node --import ./src/tracing/register.ts`, as `npm start` runs it):
 * starts OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set, and does nothing else.
 *
 * Why a preload and not an import in server.ts: ESM links every static import of a module graph
 * before any of its code runs, so a hook that must see `pg` being loaded (to instrument it) has to
 * be registered before the graph that imports pg is even resolved. A preload runs to completion
 * (top-level await included) before the entry module is loaded. Without the variable the SDK is not
 * even imported: tracing costs nothing when it is off.
 */
if (process.env['OTEL_EXPORTER_OTLP_ENDPOINT']) {
  const { startTracing } = await import('./tracing.js');
  startTracing();
}
