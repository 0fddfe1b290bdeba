/**
 * The joint logbook (docs/care-workflows.md): `CarePlan/{id}/$logbook` and `Patient/{id}/$logbook` list the
 * entries of every discipline newest first, across Observations, feedback Communications,
 * Procedures and Encounters, with date, category and author-discipline filters and paging whose
 * next links work.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { bloodPressure, bodyWeight, feedback, handGrip, loadWorld, physioActivity, referral, ROLE, sharedCarePlan, visit, write } from '../helpers/care.js';
import { assertIssue } from '../helpers/outcome.js';
import { linkPath, search, type Json } from '../helpers/search.js';

t.test(`$logbook on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await loadWorld(app);
  const sr = await write(app, { ...referral(), id: 'ref-logbook' });
  await write(app, {
    ...sharedCarePlan({ activity: [physioActivity(20), { reference: { reference: 'ServiceRequest/ref-logbook' } }] }),
    id: 'plan-logbook',
  });
  const on = (day: string, hour = '10') => `2026-09-${day}T${hour}:00:00+02:00`;
  const planned = [{ reference: 'CarePlan/plan-logbook' }];
  // One entry per day, so the expected order is plain; each discipline writes some.
  const entries: Json[] = [
    { ...bloodPressure(128, 76, { effectiveDateTime: on('02'), basedOn: planned }), id: 'bp-nurse-02' },
    { ...visit('plan-logbook', 'physio', '2026-09-03'), id: 'visit-physio-03' },
    { ...handGrip(24, { effectiveDateTime: on('04'), basedOn: planned }), id: 'grip-physio-04' },
    { ...bodyWeight(79, { effectiveDateTime: on('05'), basedOn: planned }), id: 'weight-nurse-05' },
    // Feedback on the referral that is one of the plan's activities, from a physio whose system
    // puts the discipline in PractitionerRole.specialty.
    { ...feedback(sr.id, { sent: on('06'), sender: { reference: 'PractitionerRole/physio2' } }), id: 'feedback-physio2-06' },
    {
      resourceType: 'Encounter',
      id: 'homevisit-nurse-07',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH', display: 'home health' },
      subject: { reference: 'Patient/pat-1' },
      basedOn: [{ reference: 'ServiceRequest/ref-logbook' }],
      participant: [{ individual: { reference: 'PractitionerRole/nurse' } }],
      period: { start: on('07'), end: on('07', '11') },
    },
    { ...bloodPressure(122, 72, { effectiveDateTime: on('08'), basedOn: planned, performer: [{ reference: 'PractitionerRole/physio' }] }), id: 'bp-physio-08' },
    { ...bloodPressure(130, 80, { effectiveDateTime: on('09'), basedOn: planned }), id: 'bp-nurse-09' },
    // Not on the plan: only in the patient's logbook.
    { ...bodyWeight(80, { effectiveDateTime: on('10') }), id: 'weight-nurse-10-unplanned' },
    // Another patient's entry wrongly based on this plan: never in pat-1's logbooks.
    { ...bloodPressure(140, 90, { effectiveDateTime: on('11'), basedOn: planned, subject: { reference: 'Patient/pat-2' } }), id: 'bp-other-patient-11' },
  ];
  for (const entry of entries) {
    await write(app, entry);
  }
  const newestFirst = ['bp-nurse-09', 'bp-physio-08', 'homevisit-nurse-07', 'feedback-physio2-06', 'weight-nurse-05', 'grip-physio-04', 'visit-physio-03', 'bp-nurse-02'];
  const logbook = (query = '', of = 'CarePlan/plan-logbook') => search(app, `/fhir/${of}/$logbook${query}`);

  t.test('the plan\'s logbook: every discipline and entry type, newest first', async (t) => {
    const result = await logbook();
    t.equal(result.status, 200);
    t.equal(result.body.type, 'searchset');
    t.same(result.ids, newestFirst);
    t.equal(result.body.total, newestFirst.length);
  });

  t.test('the patient\'s logbook: all the patient\'s entries', async (t) => {
    const result = await logbook('', 'Patient/pat-1');
    t.same(result.ids, ['weight-nurse-10-unplanned', ...newestFirst]);
    t.same((await logbook('', 'Patient/pat-2')).ids, ['bp-other-patient-11']);
  });

  t.test('filters: author-discipline, category, date, combined', async (t) => {
    const physio = ['bp-physio-08', 'feedback-physio2-06', 'grip-physio-04', 'visit-physio-03'];
    t.same((await logbook(`?author-discipline=${encodeURIComponent(`${ROLE}|04.000`)}`)).ids, physio, 'physiotherapists, discipline in code or specialty');
    t.same((await logbook('?author-discipline=04.000')).ids, physio, 'by code alone');
    t.same((await logbook('?author-discipline=30.000')).ids, ['bp-nurse-09', 'homevisit-nurse-07', 'weight-nurse-05', 'bp-nurse-02'], 'the nurse');
    t.same((await logbook('?author-discipline=01.015')).ids, [], 'the GP wrote nothing here');
    const nobody = await logbook('?author-discipline=99.000&_count=5');
    t.same([nobody.status, nobody.body.total, nobody.ids], [200, 0, []], 'a discipline nobody has');
    t.equal(linkPath(nobody.body, 'self'), '/fhir/CarePlan/plan-logbook/$logbook?author-discipline=99.000&_count=5');
    t.same((await logbook('?author-discipline=04.000,30.000')).ids, newestFirst, 'either discipline');
    t.same((await logbook('?category=vital-signs')).ids, ['bp-nurse-09', 'bp-physio-08', 'weight-nurse-05', 'bp-nurse-02']);
    t.same((await logbook('?category=exam')).ids, ['grip-physio-04']);
    t.same((await logbook(`?category=${encodeURIComponent('http://terminology.hl7.org/CodeSystem/v3-ActCode|HH')}`)).ids, ['homevisit-nurse-07'], 'home visits by Encounter class');
    t.same((await logbook('?date=ge2026-09-05&date=lt2026-09-08')).ids, ['homevisit-nurse-07', 'feedback-physio2-06', 'weight-nurse-05']);
    t.same((await logbook('?date=2026-09-06')).ids, ['feedback-physio2-06'], 'a Communication by its sent date');
    t.same((await logbook('?category=vital-signs&author-discipline=30.000&date=gt2026-09-02')).ids, ['bp-nurse-09', 'weight-nurse-05']);
  });

  t.test('paging: next links run the same logbook on', async (t) => {
    const seen: string[] = [];
    let url: string | undefined = '/fhir/CarePlan/plan-logbook/$logbook?_count=3&author-discipline=04.000,30.000';
    let pages = 0;
    while (url !== undefined && pages < 10) {
      const page = await search(app, url);
      t.equal(page.status, 200);
      t.ok(page.ids.length <= 3);
      seen.push(...page.ids);
      const next = linkPath(page.body, 'next');
      if (next !== undefined) {
        t.match(next, /^\/fhir\/CarePlan\/plan-logbook\/\$logbook\?_count=3&author-discipline=04.000%2C30.000&_cursor=/, 'the next link points at $logbook with the caller\'s parameters');
      }
      url = next;
      pages++;
    }
    t.equal(pages, 3);
    t.same(seen, newestFirst, 'every entry once, in order');
    const first = await search(app, '/fhir/CarePlan/plan-logbook/$logbook?_count=3');
    t.equal(linkPath(first.body, 'self'), '/fhir/CarePlan/plan-logbook/$logbook?_count=3');
    const second = await search(app, linkPath(first.body, 'next') as string);
    t.same((await search(app, linkPath(second.body, 'previous') as string)).ids, first.ids, 'previous goes back');
    await write(app, { ...bloodPressure(120, 70, { effectiveDateTime: on('12'), basedOn: planned }), id: 'bp-nurse-12-later' });
    t.same((await search(app, linkPath(first.body, 'next') as string)).ids, second.ids, 'a new entry does not shift later pages');
  });

  t.test('POST with Parameters, and errors', async (t) => {
    const posted = await app.request({
      method: 'POST',
      url: '/fhir/CarePlan/plan-logbook/$logbook',
      body: { resourceType: 'Parameters', parameter: [{ name: 'author-discipline', valueString: '30.000' }, { name: 'category', valueString: 'vital-signs' }] },
    });
    t.equal(posted.statusCode, 200);
    t.same(posted.json().entry.map((e: Json) => e.resource.id), ['bp-nurse-12-later', 'bp-nurse-09', 'weight-nurse-05', 'bp-nurse-02']);
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/CarePlan/plan-logbook/$logbook?code=8867-4' }), 400, 'invalid', 'code');
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/CarePlan/plan-logbook/$logbook?date=yesterday' }), 400, 'invalid');
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/CarePlan/nope/$logbook' }), 404, 'not-found');
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/Patient/nope/$logbook' }), 404, 'not-found');
    await app.request({ method: 'DELETE', url: '/fhir/Goal/goal-1' });
    const gone = await write(app, { ...sharedCarePlan(), id: 'plan-gone' });
    t.equal((await app.request({ method: 'DELETE', url: `/fhir/CarePlan/${gone.id as string}` })).statusCode, 200);
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/CarePlan/plan-gone/$logbook' }), 410, 'deleted');
  });
});
