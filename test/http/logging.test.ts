import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';

t.test(`log lines carry ids and timings, never patient data, on ${engine}`, async (t) => {
  const lines: string[] = [];
  const { request } = await createTestApp(t, { LOG_LEVEL: 'info' }, { logStream: { write: (line) => lines.push(line) } });
  const bsn = '999900031';
  const created = await request({
    method: 'POST',
    url: '/fhir/Patient',
    headers: { 'x-request-id': 'trace-abc', authorization: 'Bearer secret-token-value' },
    body: { resourceType: 'Patient', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: bsn }], name: [{ family: 'Geheimnaam' }] },
  });
  t.equal(created.headers['x-request-id'], 'trace-abc', 'the request id is echoed');
  await request({ method: 'GET', url: `/fhir/Patient/${created.json().id}?identifier=${bsn}` });
  await request({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', gender: 'robot', name: [{ family: 'Geheimnaam' }] } });

  const entries = lines.map((l) => JSON.parse(l));
  const completed = entries.filter((e) => e.msg === 'request completed');
  t.equal(completed.length, 3);
  const first = completed[0];
  t.equal(first.reqId, 'trace-abc');
  t.equal(first.method, 'POST');
  t.equal(first.interaction, 'create');
  t.equal(first.resourceType, 'Patient');
  t.equal(first.status, 201);
  t.type(first.durationMs, 'number');
  const all = lines.join('\n');
  t.notMatch(all, new RegExp(bsn), 'no BSN');
  t.notMatch(all, /Geheimnaam/, 'no names');
  t.notMatch(all, /secret-token-value/, 'no tokens');
  t.notMatch(all, new RegExp(created.json().id), 'no resource ids from the URL');
});
