// Binary with raw content (https://hl7.org/fhir/R4/binary.html#rest): upload and serve files as
// themselves, the FHIR JSON form beside it, versions, securityContext narrowing and limits.
import { createHash } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { tokenFor, type DemoName } from '../helpers/auth.js';
import { careScenario } from '../helpers/care-scenario.js';
import { assertIssue } from '../helpers/outcome.js';

const MAX_BYTES = 4096;

/** A minimal valid PDF (ISO 32000-1 §7.5): header, four objects, a cross-reference table with exact offsets, trailer. */
function minimalPdf(text: string): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  body += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

interface RawRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly url: string;
  readonly as?: DemoName;
  readonly headers?: Record<string, string>;
  readonly payload?: Buffer | string;
}

function rawClient(app: TestApp) {
  const tokens = new Map<DemoName, string>();
  return async (request: RawRequest): Promise<LightMyRequestResponse> => {
    const who = request.as ?? 'admin';
    let token = tokens.get(who);
    if (token === undefined) {
      token = await tokenFor(app.app, who);
      tokens.set(who, token);
    }
    return app.app.inject({
      method: request.method,
      url: request.url,
      headers: { authorization: `Bearer ${token}`, ...request.headers },
      ...(request.payload !== undefined ? { payload: request.payload } : {}),
    });
  };
}

const idOf = (response: LightMyRequestResponse): string => String(response.json().id);

t.test(`Binary raw content on ${engine}`, async (t) => {
  const app = await createTestApp(t, { BINARY_MAX_BYTES: String(MAX_BYTES) });
  await careScenario(app);
  const raw = rawClient(app);
  const upload = (payload: Buffer | string, headers: Record<string, string>, as: DemoName = 'admin') =>
    raw({ method: 'POST', url: '/fhir/Binary', as, headers, payload });

  t.test('a PDF uploaded raw comes back byte for byte, with its type, ETag and Last-Modified', async (t) => {
    const pdf = minimalPdf('Verwijsbrief fysiotherapie');
    const created = await upload(pdf, { 'content-type': 'application/pdf', 'x-security-context': 'Patient/p-vis' });
    t.equal(created.statusCode, 201);
    const id = idOf(created);
    t.match(created.headers['location'], new RegExp(`/fhir/Binary/${id}/_history/1$`));
    t.equal(created.json().contentType, 'application/pdf');
    t.same(created.json().securityContext, { reference: 'Patient/p-vis' });

    for (const accept of ['application/pdf', '*/*', undefined]) {
      const read = await raw({ method: 'GET', url: `/fhir/Binary/${id}`, headers: accept === undefined ? {} : { accept } });
      t.equal(read.statusCode, 200, `Accept ${accept ?? '(none)'}`);
      t.match(read.headers['content-type'], /^application\/pdf/);
      t.equal(sha256(read.rawPayload), sha256(pdf), 'identical bytes');
      t.equal(read.headers['etag'], 'W/"1"');
      t.ok(read.headers['last-modified'], 'Last-Modified');
      t.equal(read.headers['x-content-type-options'], 'nosniff');
      t.equal(read.headers['content-disposition'], 'inline', 'a PDF is passive content');
    }
    const notModified = await raw({ method: 'GET', url: `/fhir/Binary/${id}`, headers: { accept: 'application/pdf', 'if-none-match': 'W/"1"' } });
    t.equal(notModified.statusCode, 304);

    // The FHIR JSON form of the same Binary, by Accept and by _format.
    for (const [url, headers] of [
      [`/fhir/Binary/${id}`, { accept: 'application/fhir+json' }],
      [`/fhir/Binary/${id}?_format=json`, { accept: '*/*' }],
    ] as const) {
      const json = await raw({ method: 'GET', url, headers });
      t.equal(json.statusCode, 200);
      t.match(json.headers['content-type'], /^application\/fhir\+json/);
      const body = json.json();
      t.equal(body.resourceType, 'Binary');
      t.equal(body.contentType, 'application/pdf');
      t.same(body.securityContext, { reference: 'Patient/p-vis' });
      t.equal(sha256(Buffer.from(body.data, 'base64')), sha256(pdf), 'data is the base64 of the same bytes');
    }

    // Stored apart: the resource row holds no base64, binary_content holds the bytes.
    const db = app.app.fhirContext.repo.queryable;
    const [row] = await db.query<{ content: string }>(`SELECT content FROM resource WHERE resource_type = 'Binary' AND id = $1`, [id]);
    t.notOk('data' in JSON.parse(row?.content ?? '{}'), 'the resource JSON is stored without data');
    const [stored] = await db.query<{ n: number }>('SELECT octet_length(content) AS n FROM binary_content WHERE resource_id = $1 AND version_id = 1', [id]);
    t.equal(Number(stored?.n), pdf.length, 'the bytes are stored as bytea');
  });

  t.test('an update is a new version; vread and history give each version its own bytes', async (t) => {
    const first = minimalPdf('Terugrapportage versie 1');
    const second = minimalPdf('Terugrapportage versie 2, aangevuld');
    const id = idOf(await upload(first, { 'content-type': 'application/pdf', 'x-security-context': 'Patient/p-vis' }));
    const updated = await raw({
      method: 'PUT',
      url: `/fhir/Binary/${id}`,
      headers: { 'content-type': 'application/pdf', 'x-security-context': 'Patient/p-vis' },
      payload: second,
    });
    t.equal(updated.statusCode, 200);
    t.equal(updated.headers['etag'], 'W/"2"');

    const current = await raw({ method: 'GET', url: `/fhir/Binary/${id}`, headers: { accept: 'application/pdf' } });
    t.equal(sha256(current.rawPayload), sha256(second));
    const old = await raw({ method: 'GET', url: `/fhir/Binary/${id}/_history/1`, headers: { accept: 'application/pdf' } });
    t.equal(old.statusCode, 200);
    t.equal(sha256(old.rawPayload), sha256(first), 'vread of version 1 answers the old bytes');
    t.equal(old.headers['etag'], 'W/"1"');
    const oldJson = await raw({ method: 'GET', url: `/fhir/Binary/${id}/_history/1`, headers: { accept: 'application/fhir+json' } });
    t.equal(sha256(Buffer.from(oldJson.json().data, 'base64')), sha256(first));

    const history = (await raw({ method: 'GET', url: `/fhir/Binary/${id}/_history`, headers: { accept: 'application/fhir+json' } })).json();
    const byVersion = new Map<string, string>(history.entry.map((e: any) => [e.resource.meta.versionId, sha256(Buffer.from(e.resource.data, 'base64'))]));
    t.same(Object.fromEntries(byVersion), { '1': sha256(first), '2': sha256(second) }, 'history entries carry the bytes of their version');

    const found = (await raw({ method: 'GET', url: `/fhir/Binary?_id=${id}`, headers: { accept: 'application/fhir+json' } })).json();
    t.equal(found.entry.length, 1);
    t.equal(sha256(Buffer.from(found.entry[0].resource.data, 'base64')), sha256(second), 'a search match carries its data');
    // Every write has its Provenance (audit/provenance.ts), whose target is the Binary version.
    const withTarget = (await raw({ method: 'GET', url: `/fhir/Provenance?target=Binary/${id}&_include=Provenance:target`, headers: { accept: 'application/fhir+json' } })).json();
    const included = withTarget.entry.filter((e: any) => e.search.mode === 'include' && e.resource.resourceType === 'Binary');
    t.equal(included.length, 1, 'the Binary is included');
    t.equal(sha256(Buffer.from(included[0].resource.data, 'base64')), sha256(second), 'an included Binary carries its data');
    const everything = (await raw({ method: 'GET', url: '/fhir/Patient/p-vis/$everything?_type=Binary&_count=100', headers: { accept: 'application/fhir+json' } })).json();
    const inRecord = everything.entry.find((e: any) => e.resource.id === id);
    t.equal(sha256(Buffer.from(inRecord.resource.data, 'base64')), sha256(second), "the patient's record carries the Binary's data");
  });

  t.test('a FHIR JSON Binary still works, and is served raw too', async (t) => {
    const text = 'Logboekregel als platte tekst';
    const created = await raw({
      method: 'POST',
      url: '/fhir/Binary',
      headers: { 'content-type': 'application/fhir+json' },
      payload: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain', securityContext: { reference: 'Patient/p-vis' }, data: Buffer.from(text).toString('base64') }),
    });
    t.equal(created.statusCode, 201);
    const read = await raw({ method: 'GET', url: `/fhir/Binary/${idOf(created)}`, headers: { accept: 'text/plain' } });
    t.equal(read.statusCode, 200);
    t.match(read.headers['content-type'], /^text\/plain/);
    t.equal(read.payload, text);
  });

  t.test('active content is served as a sandboxed attachment', async (t) => {
    const html = '<html><script>alert(document.cookie)</script></html>';
    const created = await upload(html, { 'content-type': 'text/html', 'x-security-context': 'Patient/p-vis' });
    t.equal(created.statusCode, 201);
    const read = await raw({ method: 'GET', url: `/fhir/Binary/${idOf(created)}`, headers: { accept: '*/*' } });
    t.equal(read.statusCode, 200);
    t.match(read.headers['content-type'], /^text\/html/);
    t.equal(read.headers['content-disposition'], 'attachment');
    t.equal(read.headers['x-content-type-options'], 'nosniff');
    t.match(String(read.headers['content-security-policy']), /sandbox/);
    t.match(String(read.headers['content-security-policy']), /default-src 'none'/);
  });

  t.test('securityContext narrows a Binary like its patient', async (t) => {
    const pdf = minimalPdf('Brief over patient Kok');
    // p-kok's care team is the GP only (care-scenario.ts); p-vis has GP, physio and nurse.
    const kok = idOf(await upload(pdf, { 'content-type': 'application/pdf', 'x-security-context': 'Patient/p-kok' }));
    const viaObservation = idOf(await upload(pdf, { 'content-type': 'application/pdf', 'x-security-context': 'Observation/obs-kok' }));
    const vis = idOf(await upload(pdf, { 'content-type': 'application/pdf', 'x-security-context': 'Patient/p-vis' }));

    for (const id of [kok, viaObservation]) {
      for (const accept of ['application/pdf', 'application/fhir+json']) {
        const hidden = await raw({ method: 'GET', url: `/fhir/Binary/${id}`, as: 'physio', headers: { accept } });
        assertIssue(t, hidden, 404, 'not-found');
        t.not(sha256(hidden.rawPayload), sha256(pdf), 'no byte of the file');
      }
      assertIssue(t, await raw({ method: 'GET', url: `/fhir/Binary/${id}/_history/1`, as: 'physio', headers: { accept: 'application/pdf' } }), 404, 'not-found');
      const gp = await raw({ method: 'GET', url: `/fhir/Binary/${id}`, as: 'gp', headers: { accept: 'application/pdf' } });
      t.equal(gp.statusCode, 200, 'the GP is in the care team');
      t.equal(sha256(gp.rawPayload), sha256(pdf));
    }
    const searched = (await raw({ method: 'GET', url: `/fhir/Binary?_id=${kok},${vis}`, as: 'physio', headers: { accept: 'application/fhir+json' } })).json();
    t.same(searched.entry.map((e: any) => e.resource.id), [vis], 'search leaves the hidden Binary out');
    t.equal((await raw({ method: 'GET', url: `/fhir/Binary/${vis}`, as: 'physio', headers: { accept: 'application/pdf' } })).statusCode, 200);

    // A professional names whose document it is; one outside the patient's care cannot attach it there.
    assertIssue(t, await upload(pdf, { 'content-type': 'application/pdf' }, 'physio'), 422, 'required', 'Binary.securityContext');
    assertIssue(t, await upload(pdf, { 'content-type': 'application/pdf', 'x-security-context': 'Patient/p-kok' }, 'physio'), 422, 'not-found');
    t.equal((await upload(pdf, { 'content-type': 'application/pdf', 'x-security-context': 'Patient/p-vis' }, 'physio')).statusCode, 201);
  });

  t.test('limits and malformed uploads', async (t) => {
    const tooLarge = Buffer.alloc(MAX_BYTES + 1, 0x41);
    assertIssue(t, await upload(tooLarge, { 'content-type': 'application/pdf', 'x-security-context': 'Patient/p-vis' }), 413, 'too-costly');
    const asJson = await raw({
      method: 'POST',
      url: '/fhir/Binary',
      headers: { 'content-type': 'application/fhir+json' },
      payload: JSON.stringify({ resourceType: 'Binary', contentType: 'application/pdf', data: tooLarge.toString('base64') }),
    });
    assertIssue(t, asJson, 413, 'too-costly');
    t.equal(Number((await app.app.fhirContext.repo.queryable.query<{ n: number }>('SELECT count(*) AS n FROM binary_content WHERE octet_length(content) > $1', [MAX_BYTES]))[0]?.n), 0, 'nothing stored');

    assertIssue(t, await upload('', { 'content-type': 'application/pdf', 'x-security-context': 'Patient/p-vis' }), 400, 'invalid');
    assertIssue(t, await upload(minimalPdf('x'), { 'content-type': 'application/pdf', 'x-security-context': 'not a reference' }), 400, 'invalid');
    // A file is only ever the content of a Binary.
    assertIssue(t, await raw({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/pdf' }, payload: minimalPdf('x') }), 415, 'not-supported');
  });
});
