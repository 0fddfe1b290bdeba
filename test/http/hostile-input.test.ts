// Input that once reached the database or a library unchecked and answered 500: each is now a
// 4xx OperationOutcome, or, where FHIR allows the input, a normal answer.
import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';

const PATCH = { 'content-type': 'application/json-patch+json' };
const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';

/** Letters that do not compress (PostgreSQL's btree limit applies to the compressed index entry). */
function letters(length: number, seed: number): string {
  let x = seed;
  let out = '';
  for (let i = 0; i < length; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    out += String.fromCharCode(97 + (x % 26));
  }
  return out;
}

function refused(t: Test, response: LightMyRequestResponse, status: number | readonly number[], label: string): void {
  const allowed = typeof status === 'number' ? [status] : status;
  t.ok(allowed.includes(response.statusCode), `${label}: ${response.statusCode} is one of ${allowed.join(', ')}`);
  t.equal(response.json().resourceType, 'OperationOutcome', `${label}: an OperationOutcome`);
  t.notMatch(response.body, /\n\s+at /, `${label}: no stack trace`);
}

t.test(`hostile input gets a 4xx OperationOutcome, never a 500, on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const created = await request({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', name: [{ family: 'Smit', given: ['Anna'] }] } });
  t.equal(created.statusCode, 201);
  const id = created.json().id as string;

  t.test('version and count numbers out of range', async (t) => {
    refused(t, await request({ method: 'GET', url: `/fhir/Patient/${id}/_history/99999999999999999999` }), 404, 'vread of a huge version');
    refused(t, await request({ method: 'GET', url: `/fhir/Patient/${id}/_history/-1` }), [400, 404], 'vread of a negative version');
    const history = await request({ method: 'GET', url: `/fhir/Patient/${id}/_history?_count=99999999999999999999` });
    t.not(history.statusCode, 500, 'history with a huge _count');
    const huge = await request({ method: 'GET', url: '/fhir/Patient?_count=99999999999999999999' });
    t.not(huge.statusCode, 500, 'search with a huge _count');
  });

  t.test('dates at the edges of the calendar', async (t) => {
    const wide = await request({
      method: 'GET',
      url: '/fhir/Measure/pain-pdi-improvement/$evaluate-measure?periodStart=0001-01-01&periodEnd=9999-12-31',
    });
    t.not(wide.statusCode, 500, '$evaluate-measure over the whole calendar');
    t.ok([200, 400, 422].includes(wide.statusCode), `$evaluate-measure over the whole calendar: ${wide.statusCode}`);
    const search = await request({ method: 'GET', url: '/fhir/Observation?date=lt0001-01-01' });
    t.not(search.statusCode, 500, 'a date search before year 1');
    const far = await request({ method: 'GET', url: '/fhir/Observation?date=gt9999-12-31T23:59:59Z' });
    t.not(far.statusCode, 500, 'a date search after year 9999');
    // `ap` widens the range by a tenth of its distance from now: near year 1 or 9999 that would
    // leave what a timestamp holds.
    const yearZero = await request({ method: 'GET', url: '/fhir/Patient?_lastUpdated=0000-01-01' });
    t.equal(yearZero.statusCode, 400, 'year 0000 is no FHIR date');
    for (const value of ['ap9999-12-31', 'ap0001-01-01']) {
      const approximate = await request({ method: 'GET', url: `/fhir/Patient?birthdate=${value}` });
      t.equal(approximate.statusCode, 200, `birthdate=${value} is an ordinary search`);
    }
    // Date.UTC reads years 0-99 as 1900-1999: year 50 must not find someone born in 1950.
    const born = await request({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', birthDate: '1950-06-01' } });
    t.equal(born.statusCode, 201);
    const early = await request({ method: 'GET', url: '/fhir/Patient?birthdate=0050' });
    t.equal(early.json().entry, undefined, 'year 0050 is not 1950');
    const late = await request({ method: 'GET', url: '/fhir/Patient?birthdate=1950' });
    t.equal(late.json().entry?.length, 1, 'year 1950 is');
  });

  t.test('NUL characters never reach the database', async (t) => {
    refused(t, await request({ method: 'GET', url: '/fhir/Patient?name=a%00b' }), 400, 'a string search with NUL');
    refused(t, await request({ method: 'GET', url: '/fhir/Patient?identifier=a%00b' }), 400, 'a token search with NUL');
    refused(t, await request({ method: 'GET', url: '/fhir/Patient/a%00b' }), [400, 404], 'an id with NUL');
  });

  t.test('long strings that FHIR allows are stored and found', async (t) => {
    const family = 'Lang' + letters(2_996, 1);
    const patient = await request({
      method: 'POST',
      url: '/fhir/Patient',
      body: { resourceType: 'Patient', identifier: [{ system: BSN, value: '999900055' }], name: [{ family }] },
    });
    t.equal(patient.statusCode, 201, 'a 3,000-letter family name');
    const found = await request({ method: 'GET', url: `/fhir/Patient?name:exact=${family}` });
    t.same(
      found.json().entry?.map((e: { resource: { id: string } }) => e.resource.id),
      [patient.json().id],
      'found by its whole name'
    );
    const prefix = await request({ method: 'GET', url: `/fhir/Patient?family=${family.slice(0, 12).toUpperCase()}` });
    t.equal(prefix.json().entry?.length, 1, 'and by its beginning, in any case');
    const almost = await request({ method: 'GET', url: `/fhir/Patient?name:exact=${family.slice(0, -1)}z` });
    t.equal(almost.json().entry, undefined, 'a name that differs only at its end is another name');
    const sorted = await request({ method: 'GET', url: '/fhir/Patient?_sort=family' });
    t.equal(sorted.statusCode, 200, 'sorting by it works');

    const value = letters(6_000, 2);
    const observation = await request({
      method: 'POST',
      url: '/fhir/Observation',
      body: { resourceType: 'Observation', status: 'final', code: { text: 'notitie' }, subject: { reference: `Patient/${id}` }, valueString: value },
    });
    t.equal(observation.statusCode, 201, 'a 6,000-character valueString');
    const byValue = await request({ method: 'GET', url: `/fhir/Observation?value-string=${value.slice(0, 40)}` });
    t.equal(byValue.json().entry?.length, 1, 'found by its beginning');

    // Codes, identifiers and URIs are indexed whole: one beyond the index's limit is refused, not a 500.
    const identifier = await request({
      method: 'POST',
      url: '/fhir/Patient',
      body: { resourceType: 'Patient', identifier: [{ system: 'urn:test:long', value: letters(4_000, 3) }] },
    });
    refused(t, identifier, 422, 'a 4,000-character identifier');
  });

  t.test('JSON Patch documents of every shape', async (t) => {
    const cases: Array<[string, unknown]> = [
      ['replace into __proto__', [{ op: 'replace', path: '/__proto__/x', value: 1 }]],
      ['add into constructor.prototype', [{ op: 'add', path: '/constructor/prototype/x', value: 1 }]],
      ['move a value into itself', [{ op: 'move', from: '/name', path: '/name/0' }]],
      ['move the whole resource into itself', [{ op: 'move', from: '', path: '/name/99' }]],
      ['copy from nowhere', [{ op: 'copy', from: '/nothing', path: '/name' }]],
      ['a failing test', [{ op: 'test', path: '/name/0/family', value: 'Anders' }]],
      ['an index past the end', [{ op: 'add', path: '/name/7', value: { family: 'X' } }]],
      ['a non-numeric array index', [{ op: 'replace', path: '/name/first/family', value: 'X' }]],
      ['a path without a slash', [{ op: 'add', path: 'name', value: [] }]],
      ['an unknown op', [{ op: 'merge', path: '/name', value: [] }]],
      ['remove the id', [{ op: 'remove', path: '/id' }]],
      ['an operation that is not an object', [42]],
      ['a null operation', [null]],
      ['an operation that is an array', [[]]],
      ['an object instead of an array', { op: 'add', path: '/gender', value: 'male' }],
    ];
    for (const [label, body] of cases) {
      const response = await request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: PATCH, body });
      refused(t, response, [400, 422], label);
    }
    const raw: Array<[string, string]> = [
      ['duplicate keys', '[{"op":"add","op":"replace","path":"/gender","value":"male"}]'],
      ['a lone surrogate', '[{"op":"add","path":"/gender","value":"\\ud800"}]'],
      ['3,000 levels of nesting', `[{"op":"add","path":"/extension","value":${'['.repeat(3_000)}${']'.repeat(3_000)}}]`],
    ];
    for (const [label, body] of raw) {
      const response = await request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: PATCH, body });
      refused(t, response, 400, label);
    }
    const after = await request({ method: 'GET', url: `/fhir/Patient/${id}` });
    t.equal(after.json().meta.versionId, '1', 'no refused patch wrote a version');
    // As for resource bodies (json-strictness.test.ts), a leading BOM is dropped (RFC 8259 section 8.1).
    const bom = await request({ method: 'PATCH', url: `/fhir/Patient/${id}`, headers: PATCH, body: '\ufeff[{"op":"add","path":"/gender","value":"male"}]' });
    t.equal(bom.statusCode, 200, 'a leading BOM is dropped');
  });

  t.test('primitives are checked against their calendar and their 32-bit range', async (t) => {
    // https://hl7.org/fhir/R4/datatypes.html: "Dates SHALL be valid dates"; integer is 32-bit.
    const invalid: Array<[string, Record<string, unknown>, string]> = [
      ['30 February', { resourceType: 'Patient', birthDate: '2023-02-30' }, 'Patient.birthDate'],
      ['29 February outside a leap year', { resourceType: 'Patient', birthDate: '2023-02-29' }, 'Patient.birthDate'],
      ['29 February 1900 (not a leap year)', { resourceType: 'Patient', deceasedDateTime: '1900-02-29' }, 'Patient.deceasedDateTime'],
      ['31 April in a dateTime', { resourceType: 'Patient', deceasedDateTime: '2023-04-31T10:00:00Z' }, 'Patient.deceasedDateTime'],
      ['an integer past 2^31 - 1', { resourceType: 'Patient', multipleBirthInteger: 2_147_483_648 }, 'Patient.multipleBirthInteger'],
      ['an integer of 1e20', { resourceType: 'Patient', multipleBirthInteger: 1e20 }, 'Patient.multipleBirthInteger'],
      ['a positiveInt of 0', { resourceType: 'Task', status: 'draft', intent: 'order', restriction: { repetitions: 0 } }, 'Task.restriction.repetitions'],
      [
        'an instant on 29 February 2023',
        { resourceType: 'Observation', status: 'final', code: { text: 'pijn' }, subject: { reference: `Patient/${id}` }, issued: '2023-02-29T10:00:00Z' },
        'Observation.issued',
      ],
    ];
    for (const [label, body, expression] of invalid) {
      const response = await request({ method: 'POST', url: `/fhir/${String(body['resourceType'])}`, body });
      assertIssue(t, response, 422, 'value', expression);
      t.notMatch(response.body, /\n\s+at /, `${label}: no stack trace`);
    }
    const valid: Array<[string, Record<string, unknown>]> = [
      ['29 February 2024', { resourceType: 'Patient', birthDate: '2024-02-29' }],
      ['29 February 2000', { resourceType: 'Patient', birthDate: '2000-02-29' }],
      ['the largest integer', { resourceType: 'Patient', multipleBirthInteger: 2_147_483_647 }],
    ];
    for (const [label, body] of valid) {
      t.equal((await request({ method: 'POST', url: '/fhir/Patient', body })).statusCode, 201, label);
    }
    const batch = await request({
      method: 'POST',
      url: '/fhir',
      body: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ resource: { resourceType: 'Patient', id: 'kalender-1', birthDate: '2023-02-29' }, request: { method: 'PUT', url: 'Patient/kalender-1' } }],
      },
    });
    t.equal(batch.statusCode, 200);
    t.match(batch.json().entry[0].response.status, /^422/, 'a batch entry with 29 February 2023 is refused');
    t.equal((await request({ method: 'GET', url: '/fhir/Patient/kalender-1' })).statusCode, 404, 'and not stored');
  });

  t.test('operation dates are checked against the calendar (a date parameter of the OperationDefinition)', async (t) => {
    const plan = await request({
      method: 'POST',
      url: '/fhir/CarePlan',
      body: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: `Patient/${id}` }, period: { start: '2024-01-01' } },
    });
    t.equal(plan.statusCode, 201);
    const planId = plan.json().id as string;
    assertIssue(t, await request({ method: 'GET', url: `/fhir/CarePlan/${planId}/$progress?date=2023-13-01` }), 400, 'value', 'date');
    assertIssue(t, await request({ method: 'GET', url: `/fhir/CarePlan/${planId}/$progress?date=2023-02-29` }), 400, 'value', 'date');
    t.equal((await request({ method: 'GET', url: `/fhir/CarePlan/${planId}/$progress?date=2024-02-29` })).statusCode, 200, 'a leap day is a day');
  });

  t.test('NUL characters in every source of search criteria', async (t) => {
    refused(t, await request({ method: 'POST', url: '/fhir/Patient', headers: { 'if-none-exist': '_id=%00' }, body: { resourceType: 'Patient' } }), 400, 'If-None-Exist');
    refused(
      t,
      await request({ method: 'POST', url: '/fhir/Patient/_search', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=a%00b' }),
      400,
      'a form-encoded search'
    );
    const batch = await request({
      method: 'POST',
      url: '/fhir',
      body: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { request: { method: 'GET', url: 'Patient?name=a%00b' } },
          { request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=a%00b' }, resource: { resourceType: 'Patient' } },
        ],
      },
    });
    t.equal(batch.statusCode, 200);
    t.same(
      batch.json().entry.map((e: { response: { status: string } }) => e.response.status.slice(0, 3)),
      ['400', '400'],
      'each entry with a NUL is refused'
    );
  });

  t.test('a body in another charset than UTF-8 is refused', async (t) => {
    const body = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Smit' }] });
    refused(t, await request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json; charset=latin1' }, body }), 415, 'latin1');
    refused(t, await request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json; charset="iso-8859-1"' }, body }), 415, 'iso-8859-1');
    t.equal((await request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json; charset=UTF-8' }, body })).statusCode, 201, 'UTF-8');
  });

  t.test('a path that is not percent-encoded UTF-8 gets an OperationOutcome', async (t) => {
    refused(t, await request({ method: 'GET', url: '/fhir/Patient/%ff' }), 400, 'an invalid byte');
    refused(t, await request({ method: 'DELETE', url: '/fhir/%ED%A0%80' }), 400, 'an encoded lone surrogate');
  });

  t.test('a JSON Patch body is for PATCH only', async (t) => {
    const body = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Smit' }] });
    refused(t, await request({ method: 'POST', url: '/fhir/Patient', headers: PATCH, body }), 415, 'create');
    refused(t, await request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: PATCH, body: JSON.stringify({ resourceType: 'Patient', id }) }), 415, 'update');
    refused(t, await request({ method: 'POST', url: '/fhir', headers: PATCH, body: JSON.stringify({ resourceType: 'Bundle', type: 'batch' }) }), 415, 'batch');
    refused(t, await request({ method: 'POST', url: '/fhir/Patient/_search', headers: PATCH, body: '[{"op":"add","path":"/gender","value":"male"}]' }), 415, 'search');
  });
});
