// OpenTelemetry tracing (src/tracing/): with OTEL_EXPORTER_OTLP_ENDPOINT set, the server process
// (started with the preload as `npm start` starts it) exports spans of the HTTP request, the FHIR
// interaction and its SQL to an OTLP/HTTP receiver, and no patient identifier, name or id.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import t from 'tap';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { redactPath, RedactingExporter } from '../../src/tracing/redaction.js';
import { engine } from '../helpers/database.js';
import { adminToken, freePort, serverDatabase, ServerProcess, sleep } from '../helpers/server-process.js';

interface OtlpSpan {
  readonly name: string;
  readonly kind: number;
  readonly attributes?: readonly { key: string; value: Record<string, unknown> }[];
}

interface OtlpExport {
  readonly resourceSpans?: readonly { scopeSpans?: readonly { spans?: readonly OtlpSpan[] }[] }[];
}

const SERVER = 2;
const CLIENT = 3;
// Synthetic patient: a BSN that passes the eleven-test, a name and an id found nowhere else.
const BSN = '999911120';
const FAMILY = 'Zeldzaamtraceernaam';
const PATIENT_ID = 'pt-traceer-7c1e';

function attribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
}

t.test('request paths lose their ids and query', async (t) => {
  t.equal(redactPath(`/fhir/Patient/${PATIENT_ID}/_history/2?_format=json`), '/fhir/Patient/:id/_history/:id');
  t.equal(redactPath(`/fhir/Patient?identifier=${BSN}`), '/fhir/Patient');
  t.equal(redactPath('/fhir/CarePlan/zorgplan-1/$logbook'), '/fhir/CarePlan/:id/$logbook');
  t.equal(redactPath('/fhir/metadata'), '/fhir/metadata');
});

t.test('the exporter passes spans on without URLs, parameters or error messages', async (t) => {
  const received: ReadableSpan[] = [];
  const next: SpanExporter = { export: (spans, done) => { received.push(...spans); done({ code: 0 }); }, shutdown: async () => undefined };
  const span = {
    name: 'GET',
    attributes: { 'http.target': `/fhir/Patient/${PATIENT_ID}?x=1`, 'http.url': `http://h/fhir/Patient?identifier=${BSN}`, 'db.postgresql.values': [BSN], 'http.method': 'GET' },
    events: [{ name: 'exception', time: [0, 0], attributes: { 'exception.type': '23505', 'exception.message': `Key (id)=(${PATIENT_ID}) already exists` } }],
    spanContext: () => ({ traceId: 'a', spanId: 'b', traceFlags: 1 }),
  } as unknown as ReadableSpan;
  new RedactingExporter(next).export([span], () => undefined);
  t.same(received[0]?.attributes, { 'http.target': '/fhir/Patient/:id', 'http.method': 'GET' });
  t.same(received[0]?.events[0]?.attributes, { 'exception.type': '23505' });
  t.equal(received[0]?.name, 'GET', 'the rest of the span is the original');
  t.equal(received[0]?.spanContext().spanId, 'b');
  t.equal(span.attributes['http.url'], `http://h/fhir/Patient?identifier=${BSN}`, 'which is left untouched');
});

t.test(`spans of HTTP, the FHIR interaction and SQL reach the collector on ${engine}`, async (t) => {
  const payloads: string[] = [];
  const receiver = Fastify();
  receiver.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  receiver.post('/v1/traces', async (request) => {
    payloads.push(typeof request.body === 'string' ? request.body : JSON.stringify(request.body));
    return {};
  });
  await receiver.listen({ port: 0, host: '127.0.0.1' });
  const address = receiver.server.address();
  const receiverPort = typeof address === 'object' && address !== null ? address.port : 0;

  const dataDir = mkdtempSync(join(tmpdir(), 'schakel-tracing-'));
  const database = await serverDatabase(dataDir);
  const server = new ServerProcess(
    await freePort(),
    { ...database.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`, OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_SERVICE_NAME: 'schakel-test' },
    ['./src/tracing/register.ts']
  );
  t.teardown(async () => {
    await server.stop(5000);
    await receiver.close();
    await database.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });
  if (!(await server.listening(120_000))) {
    t.fail(`the server did not start: ${server.log.slice(-10).join('\n')}`);
    return;
  }
  const headers = { authorization: `Bearer ${await adminToken(server.base, dataDir)}`, 'content-type': 'application/fhir+json' };
  const patient = {
    resourceType: 'Patient',
    id: PATIENT_ID,
    identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: BSN }],
    name: [{ family: FAMILY, given: ['Trea'] }],
    birthDate: '1951-03-04',
  };
  // Each body is read: an unread one keeps its socket, and with it this test process, open.
  const status = async (path: string, init: RequestInit = {}): Promise<number> => {
    const response = await fetch(`${server.base}${path}`, { headers, ...init });
    await response.arrayBuffer();
    return response.status;
  };
  t.equal(await status(`/fhir/Patient/${PATIENT_ID}`, { method: 'PUT', body: JSON.stringify(patient) }), 201);
  t.equal(await status(`/fhir/Patient/${PATIENT_ID}`), 200);
  t.equal(await status(`/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|${BSN}`), 200);
  t.equal(await status(`/fhir/Patient?family=${FAMILY}`), 200);

  const spans = (): OtlpSpan[] =>
    payloads.flatMap((p) => (JSON.parse(p) as OtlpExport).resourceSpans ?? []).flatMap((r) => r.scopeSpans ?? []).flatMap((s) => s.spans ?? []);
  const until = Date.now() + 20_000;
  const complete = (): boolean =>
    spans().some((s) => s.name === 'FHIR search-type Patient') && spans().some((s) => s.name === 'FHIR read Patient') && spans().some((s) => s.kind === CLIENT && typeof attribute(s, 'db.query.text') === 'string');
  while (!complete() && Date.now() < until) {
    await sleep(200);
  }
  const all = spans();
  const http = all.filter((s) => s.kind === SERVER);
  t.ok(http.length >= 4, 'an HTTP server span per request');
  t.ok(http.some((s) => attribute(s, 'http.method') === 'PUT' || attribute(s, 'http.request.method') === 'PUT'));
  const read = all.find((s) => s.name === 'FHIR read Patient');
  t.equal(read && attribute(read, 'fhir.interaction'), 'read', 'the interaction span names the interaction');
  t.equal(read && attribute(read, 'fhir.resource_type'), 'Patient', 'and the resource type');
  t.ok(all.some((s) => s.name === 'FHIR update Patient'));
  const sql = all.filter((s) => s.kind === CLIENT && typeof attribute(s, 'db.query.text') === 'string');
  t.ok(sql.length > 0, 'SQL spans with the statement text');
  t.ok(sql.every((s) => !(s.attributes ?? []).some((a) => a.key === 'db.postgresql.values' || a.key.startsWith('db.query.parameter'))), 'never the parameters');
  const exported = payloads.join('\n');
  for (const secret of [BSN, FAMILY, PATIENT_ID]) {
    t.notOk(exported.includes(secret), `the export never holds ${secret === BSN ? 'the BSN' : secret === FAMILY ? 'the name' : 'the Patient id'}`);
  }
});
