import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { contiguousFrom, eventHead, eventsAfter, type EventRow } from '../helpers/events.js';

const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';

function patient(bsn: string, family = 'Visser'): Record<string, unknown> {
  return { resourceType: 'Patient', identifier: [{ system: BSN, value: bsn }], name: [{ family, given: ['Anna'] }], gender: 'female', birthDate: '1961-04-05' };
}

/** The events of one resource type, as `interaction/versionId`. */
function of(events: readonly EventRow[], resourceType: string): string[] {
  return events.filter((e) => e.resourceType === resourceType).map((e) => `${e.interaction}/${e.versionId}`);
}

t.test(`each committed interaction writes its change event, numbered in order without gaps, on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const start = await eventHead(app);

  const created = await request({ method: 'POST', url: '/fhir/Patient', body: patient('999911120') });
  t.equal(created.statusCode, 201);
  const id: string = created.json().id;
  t.equal((await request({ method: 'PUT', url: `/fhir/Patient/${id}`, body: { ...patient('999911120'), id, gender: 'other' } })).statusCode, 200);
  const patched = await request({
    method: 'PATCH',
    url: `/fhir/Patient/${id}`,
    headers: { 'content-type': 'application/json-patch+json' },
    body: JSON.stringify([{ op: 'replace', path: '/gender', value: 'female' }]),
  });
  t.equal(patched.statusCode, 200);
  // An update that changes nothing writes no version, so no event (repository/unchanged.ts).
  t.equal((await request({ method: 'PUT', url: `/fhir/Patient/${id}`, body: { ...patient('999911120'), id, gender: 'female' } })).statusCode, 200);
  t.equal((await request({ method: 'DELETE', url: `/fhir/Patient/${id}` })).statusCode, 200);
  t.equal((await request({ method: 'DELETE', url: `/fhir/Patient/${id}` })).statusCode, 204, 'deleting again changes nothing');

  const events = await eventsAfter(app, start);
  t.ok(contiguousFrom(start, events.map((e) => e.seq)), 'numbers follow on without gaps');
  t.equal(await eventHead(app), start + events.length, 'the counter stands at the last event');
  t.same(of(events, 'Patient'), ['create/1', 'update/2', 'patch/3', 'delete/4']);
  for (const event of events.filter((e) => e.resourceType === 'Patient')) {
    t.equal(event.id, id);
    t.same(event.patients, [id], 'a Patient belongs to itself, also once deleted');
  }
  // The Provenance the write rules add to every create and update (audit/provenance.ts) is a write too.
  const provenance = events.filter((e) => e.resourceType === 'Provenance');
  t.same(provenance.map((e) => e.interaction), ['create', 'create', 'create']);
  for (const event of provenance) {
    t.same(event.patients, [id], "a Provenance has its target's patient");
  }
  t.notOk(events.some((e) => e.resourceType === 'AuditEvent'), 'the audit trail is no change event');
});

t.test(`conditional interactions write events only when they write, on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const start = await eventHead(app);
  const ifNoneExist = { 'if-none-exist': `identifier=${BSN}|999900018` };
  const created = await request({ method: 'POST', url: '/fhir/Patient', headers: ifNoneExist, body: patient('999900018') });
  t.equal(created.statusCode, 201);
  const id: string = created.json().id;
  t.equal((await request({ method: 'POST', url: '/fhir/Patient', headers: ifNoneExist, body: patient('999900018', 'Anders') })).statusCode, 200, 'a match: nothing created');
  const query = `identifier=${encodeURIComponent(`${BSN}|999900018`)}`;
  t.equal((await request({ method: 'PUT', url: `/fhir/Patient?${query}`, body: patient('999900018', 'Bos') })).statusCode, 200);
  t.equal((await request({ method: 'DELETE', url: `/fhir/Patient?${query}` })).statusCode, 200);

  const events = await eventsAfter(app, start);
  t.ok(contiguousFrom(start, events.map((e) => e.seq)));
  t.same(of(events, 'Patient'), ['create/1', 'update/2', 'delete/3']);
  t.ok(events.filter((e) => e.resourceType === 'Patient').every((e) => e.id === id));
});

t.test(`transaction and batch Bundles write an event per committed entry, on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const start = await eventHead(app);
  const transaction = await request({
    method: 'POST',
    url: '/fhir',
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:6a2f1c0e-0000-4000-8000-000000000001', resource: patient('999990019'), request: { method: 'POST', url: 'Patient' } },
        {
          resource: { resourceType: 'Organization', name: 'Fysiotherapie De Brug' },
          request: { method: 'POST', url: 'Organization' },
        },
      ],
    },
  });
  t.equal(transaction.statusCode, 200);
  const [patientId, organizationId] = transaction.json().entry.map((e: { resource: { id: string } }) => e.resource.id);
  const afterTransaction = await eventsAfter(app, start);
  t.ok(contiguousFrom(start, afterTransaction.map((e) => e.seq)));
  t.same(of(afterTransaction, 'Patient'), ['create/1']);
  t.same(of(afterTransaction, 'Organization'), ['create/1']);
  t.equal(afterTransaction.find((e) => e.resourceType === 'Patient')?.id, patientId);
  t.equal(afterTransaction.find((e) => e.resourceType === 'Organization')?.id, organizationId);

  const middle = await eventHead(app);
  const batch = await request({
    method: 'POST',
    url: '/fhir',
    body: {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Organization', name: 'Wijkverpleging Oost' }, request: { method: 'POST', url: 'Organization' } },
        { request: { method: 'DELETE', url: `Organization/${organizationId}` } },
        // Refused (a reference to nothing): its entry fails, the others commit.
        {
          resource: { resourceType: 'Organization', name: 'Kapot', partOf: { reference: 'Organization/does-not-exist' } },
          request: { method: 'POST', url: 'Organization' },
        },
      ],
    },
  });
  t.equal(batch.statusCode, 200);
  const statuses = batch.json().entry.map((e: { response: { status: string } }) => e.response.status);
  t.match(statuses, [/^201/, /^200|^204/, /^4/]);
  const afterBatch = await eventsAfter(app, middle);
  t.ok(contiguousFrom(middle, afterBatch.map((e) => e.seq)), 'the refused entry left no gap');
  t.same(of(afterBatch, 'Organization'), ['create/1', 'delete/2']);
});

t.test(`a rolled-back write leaves no event and no gap, on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const start = await eventHead(app);
  const failed = await request({
    method: 'POST',
    url: '/fhir',
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Organization', name: 'Eerst' }, request: { method: 'POST', url: 'Organization' } },
        {
          resource: { resourceType: 'Organization', name: 'Dan', partOf: { reference: 'Organization/does-not-exist' } },
          request: { method: 'POST', url: 'Organization' },
        },
      ],
    },
  });
  t.ok(failed.statusCode >= 400 && failed.statusCode < 500, 'the transaction is refused');
  t.equal(failed.json().resourceType, 'OperationOutcome');
  t.equal(await eventHead(app), start, 'no number taken');
  t.same(await eventsAfter(app, start), []);

  t.equal((await request({ method: 'POST', url: '/fhir/Organization', body: { resourceType: 'Organization', name: 'Daarna' } })).statusCode, 201);
  const events = await eventsAfter(app, start);
  t.equal(events[0]?.seq, start + 1, 'the next write takes the next number');
  t.ok(contiguousFrom(start, events.map((e) => e.seq)));
});

t.test(`concurrent writes get contiguous numbers in commit order, on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const start = await eventHead(app);
  const db = app.fhirContext.repo.queryable;
  // A reader watching while the writes commit: if numbers committed out of order it would, at
  // some moment, see a number without the one before it.
  let writing = true;
  let holes = 0;
  let looks = 0;
  const watcher = (async () => {
    while (writing) {
      const [row] = await db.query<{ n: string | number; top: string | number | null }>(
        'SELECT count(*) AS n, max(seq) AS top FROM resource_event WHERE seq > $1',
        [start]
      );
      looks += 1;
      if (row && Number(row.n) !== Number(row.top ?? start) - start) {
        holes += 1;
      }
    }
  })();
  const responses = await Promise.all(
    Array.from({ length: 40 }, (_, i) => request({ method: 'POST', url: '/fhir/Organization', body: { resourceType: 'Organization', name: `Praktijk ${i}` } }))
  );
  writing = false;
  await watcher;
  t.ok(responses.every((r) => r.statusCode === 201), 'all 40 created');
  t.ok(looks > 0);
  t.equal(holes, 0, 'no reader ever saw a later number before an earlier one');
  const events = await eventsAfter(app, start);
  t.ok(contiguousFrom(start, events.map((e) => e.seq)), 'contiguous');
  const ids = new Set(responses.map((r) => r.json().id as string));
  t.same(new Set(events.filter((e) => e.resourceType === 'Organization').map((e) => e.id)), ids, 'one event per create');
  t.equal(events.length, 80, 'each with its Provenance');
});
