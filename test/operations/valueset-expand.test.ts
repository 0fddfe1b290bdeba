// ValueSet/$expand: https://hl7.org/fhir/R4/valueset-operation-expand.html
import t from 'tap';
import { tokenFor } from '../helpers/auth.js';
import { createTestApp, engine } from '../helpers/app.js';
import { put, type Json } from '../helpers/search.js';

const HULP = 'http://schakel.test/hulpmiddel';
const URL = 'http://schakel.test/fhir/ValueSet/hulpmiddelen';

t.test(`ValueSet $expand on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const get = async (url: string) => {
    const response = await app.request({ method: 'GET', url });
    return { status: response.statusCode, body: response.json<Json>() };
  };
  await put(app, {
    resourceType: 'CodeSystem',
    id: 'hulpmiddel',
    url: HULP,
    status: 'active',
    content: 'complete',
    concept: [
      { code: 'rollator', display: 'Rollator' },
      { code: 'stok', display: 'Wandelstok' },
      { code: 'rolstoel', display: 'Rolstoel' },
    ],
  });
  await put(app, { resourceType: 'ValueSet', id: 'hulpmiddelen-1', url: URL, version: '1', status: 'retired', compose: { include: [{ system: HULP, concept: [{ code: 'stok' }] }] } });
  await put(app, { resourceType: 'ValueSet', id: 'hulpmiddelen-2', url: URL, version: '2', status: 'active', compose: { include: [{ system: HULP }] } });

  t.test('a value set of R4, with the displays of its code system', async (t) => {
    const { status, body } = await get('/fhir/ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/condition-clinical');
    t.equal(status, 200);
    t.equal(body.resourceType, 'ValueSet');
    t.equal(body.url, 'http://hl7.org/fhir/ValueSet/condition-clinical');
    t.equal(body.compose, undefined, 'the definition is replaced by the expansion');
    t.equal(body.expansion.total, 6);
    t.same(
      body.expansion.contains.map((c: Json) => c.code),
      ['active', 'recurrence', 'relapse', 'inactive', 'remission', 'resolved']
    );
    t.equal(body.expansion.contains.find((c: Json) => c.code === 'relapse').display, 'Relapse');
    t.match(body.expansion.identifier, /^urn:uuid:/);
  });

  t.test('a stored value set by canonical, by version and by id; listed concepts take the code system display', async (t) => {
    const current = await get(`/fhir/ValueSet/$expand?url=${URL}`);
    t.equal(current.body.version, '2', 'the active version');
    t.same(current.body.expansion.contains.map((c: Json) => c.code), ['rollator', 'stok', 'rolstoel']);
    const first = await get(`/fhir/ValueSet/$expand?url=${URL}&valueSetVersion=1`);
    t.same(first.body.expansion.contains, [{ system: HULP, code: 'stok', display: 'Wandelstok' }]);
    const byId = await get('/fhir/ValueSet/hulpmiddelen-1/$expand');
    t.equal(byId.status, 200);
    t.equal(byId.body.id, 'hulpmiddelen-1');
    t.equal(byId.body.expansion.total, 1);
  });

  t.test('listed concepts take the display of a code system no other value set names', async (t) => {
    await put(app, { resourceType: 'ValueSet', id: 'alleen-stok', url: 'http://schakel.test/fhir/ValueSet/alleen-stok', status: 'active', compose: { include: [{ system: HULP, concept: [{ code: 'stok' }] }] } });
    const { body } = await get('/fhir/ValueSet/$expand?url=http://schakel.test/fhir/ValueSet/alleen-stok');
    t.same(body.expansion.contains, [{ system: HULP, code: 'stok', display: 'Wandelstok' }]);
  });

  t.test('filter, offset and count', async (t) => {
    const filtered = await get(`/fhir/ValueSet/$expand?url=${URL}&filter=ROL`);
    t.same(filtered.body.expansion.contains.map((c: Json) => c.code), ['rollator', 'rolstoel'], 'on code or display, case-insensitive');
    const page = await get(`/fhir/ValueSet/$expand?url=${URL}&offset=1&count=1`);
    t.equal(page.body.expansion.total, 3);
    t.equal(page.body.expansion.offset, 1);
    t.same(page.body.expansion.contains.map((c: Json) => c.code), ['stok']);
    t.same(page.body.expansion.parameter, [
      { name: 'offset', valueInteger: 1 },
      { name: 'count', valueInteger: 1 },
    ]);
  });

  t.test('POST with Parameters needs only a read scope: $expand changes nothing', async (t) => {
    const token = await tokenFor(app.app, 'admin', { scope: 'system/ValueSet.rs' });
    const posted = await app.request({
      method: 'POST',
      url: '/fhir/ValueSet/$expand',
      headers: { authorization: `Bearer ${token}` },
      body: { resourceType: 'Parameters', parameter: [{ name: 'url', valueUri: URL }, { name: 'count', valueInteger: 2 }] },
    });
    t.equal(posted.statusCode, 200, posted.body);
    t.equal(posted.json().expansion.contains.length, 2);
    const apply = await app.request({
      method: 'POST',
      url: '/fhir/PlanDefinition/x/$apply?subject=Patient/p',
      headers: { authorization: `Bearer ${await tokenFor(app.app, 'admin', { scope: 'system/PlanDefinition.rs' })}` },
    });
    t.equal(apply.statusCode, 403, 'an operation that affects state still needs a write scope');
  });

  t.test('errors', async (t) => {
    t.equal((await get('/fhir/ValueSet/$expand?url=http://schakel.test/fhir/ValueSet/onbekend')).status, 404);
    t.equal((await get('/fhir/ValueSet/none-such/$expand')).status, 404);
    const noUrl = await get('/fhir/ValueSet/$expand');
    t.equal(noUrl.status, 400);
    t.equal(noUrl.body.issue[0].expression[0], 'url');
    t.equal((await get(`/fhir/ValueSet/$expand?url=${URL}&count=-1`)).status, 400);
    t.equal((await get(`/fhir/ValueSet/$expand?url=${URL}&displayLanguage=nl`)).status, 400);
    await put(app, {
      resourceType: 'ValueSet',
      id: 'snomed-filter',
      url: 'http://schakel.test/fhir/ValueSet/snomed-filter',
      status: 'active',
      compose: { include: [{ system: 'http://snomed.info/sct', filter: [{ property: 'concept', op: 'is-a', value: '404684003' }] }] },
    });
    const filter = await get('/fhir/ValueSet/$expand?url=http://schakel.test/fhir/ValueSet/snomed-filter');
    t.equal(filter.status, 422);
    t.equal(filter.body.issue[0].code, 'not-supported');
  });

  t.test('the CapabilityStatement lists $expand on ValueSet', async (t) => {
    const { body } = await get('/fhir/metadata');
    const valueSet = body.rest[0].resource.find((r: Json) => r.type === 'ValueSet');
    t.ok(valueSet.operation.some((o: Json) => o.name === 'expand' && o.definition === 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand'));
  });
});
