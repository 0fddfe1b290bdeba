/**
 * The indicators regional networks are funded on (docs/outcome-questionnaires.md, "Network
 * indicators"): referrals per discipline and the share kept in primary care, median days from
 * referral to acceptance and from acceptance to feedback, and care-bridge sessions used against
 * the budget. The cohort is written here; every expected figure is computed by hand in a comment.
 */
import t, { type Test } from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';
import { count, evaluate, organisation, patient, put, referral, strataOf, stratum } from '../helpers/measure-cohort.js';

type Json = any;

const YEAR = 'periodStart=2025-01-01&periodEnd=2025-12-31';
const SCT = 'http://snomed.info/sct';
const PHYSIO = { system: SCT, code: '91251008' };
const HOME_VISIT = { system: SCT, code: '439708006' };
const GP = 'role-net-gp';

async function transaction(t: Test, app: TestApp, resources: readonly Json[]): Promise<void> {
  const body = { resourceType: 'Bundle', type: 'transaction', entry: resources.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })) };
  const response = await app.request({ method: 'POST', url: '/fhir', body });
  t.equal(response.statusCode, 200, `transaction of ${resources.length}: ${response.statusCode === 200 ? 'ok' : response.body}`);
}

/** Care-bridge visits: Procedures based on `basedOn` (a plan or an activity's ServiceRequest). */
function visits(id: string, pat: string, basedOn: string, code: { system: string; code: string }, role: string, days: readonly string[], status = 'completed'): Json[] {
  return days.map((day, i) => ({
    resourceType: 'Procedure',
    id: `${id}-${i + 1}`,
    status,
    basedOn: [{ reference: basedOn }],
    code: { coding: [code] },
    subject: { reference: `Patient/${pat}` },
    performedDateTime: `${day}T10:00:00+01:00`,
    performer: [{ actor: { reference: `PractitionerRole/${role}` } }],
  }));
}

/** A care-bridge plan (category only, so the profile's care team and goals are not needed here). */
function careBridge(id: string, pat: string, discharge: string, period: Json, activities: Json[]): Json {
  return {
    resourceType: 'CarePlan',
    id,
    status: 'active',
    intent: 'plan',
    extension: [{ url: 'http://schakel.nl/fhir/StructureDefinition/discharge-date', valueDate: discharge }],
    category: [{ coding: [{ system: 'http://schakel.nl/fhir/CodeSystem/care-programme', code: 'cardiac-care-bridge' }] }],
    subject: { reference: `Patient/${pat}` },
    period,
    activity: activities,
  };
}

const activity = (code: { system: string; code: string }, role: string): Json => ({
  detail: { code: { coding: [code] }, status: 'in-progress', performer: [{ reference: `PractitionerRole/${role}` }] },
});

t.test(`network indicators on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await organisation(t, app, 'net-gp', 'Huisartsenpraktijk De Linde', '01.015');
  await organisation(t, app, 'net-physio', 'Fysiotherapie Het Anker', '04.000');
  await organisation(t, app, 'net-physio-2', 'Fysiotherapie De Brug', '04.000');
  await organisation(t, app, 'net-oefen', 'Oefentherapie Mensendieck Oost', '94.000');
  await organisation(t, app, 'net-rc', 'Revalidatiecentrum Zonnehoek', '01.042');
  await organisation(t, app, 'net-nurse', 'Thuiszorg Stadsbuurt', '30.000');
  for (const id of ['n1', 'n2', 'n3', 'n4', 'n5', 'n7', 'z1', 'z2', 'z3', 'z4']) {
    await patient(t, app, id, 'net-gp');
  }

  // Referrals written by the GP in 2025; days between the dates as written.
  const gp = { requester: GP };
  const physio = { ...gp, discipline: '04.000', performer: 'role-net-physio' };
  // r1: accepted after 2 days (03-03 -> 03-05), feedback after 40 (03-05 -> 04-14: 26 + 14).
  await referral(t, app, { id: 'r1', patient: 'n1', ...physio, authored: '2025-03-03', received: '2025-03-04', accepted: '2025-03-05', completed: '2025-04-14' });
  // r2: 4 days (03-10 -> 03-14), feedback after 28 (03-14 -> 04-11: 17 + 11); then onward to the rehab centre (r6).
  await referral(t, app, { id: 'r2', patient: 'n2', ...physio, authored: '2025-03-10', received: '2025-03-12', accepted: '2025-03-14', completed: '2025-04-11' });
  // r3: to the second physiotherapy practice, accepted after 7 days (04-01 -> 04-08), still in treatment.
  await referral(t, app, { id: 'r3', patient: 'n3', ...physio, performer: 'role-net-physio-2', authored: '2025-04-01', received: '2025-04-02', accepted: '2025-04-08' });
  // r4: rejected by the physiotherapist: never accepted.
  await referral(t, app, { id: 'r4', patient: 'n4', ...physio, authored: '2025-05-05', received: '2025-05-06', rejected: '2025-05-07' });
  const oefen = { ...gp, discipline: '94.000', performer: 'role-net-oefen' };
  // r5: 1 day (02-03 -> 02-04), feedback after 30 (02-04 -> 03-06: 24 + 6); a referral to the rehab
  //     centre on 09-01 (r9) is more than 90 days after the feedback (06-04): not an onward one.
  await referral(t, app, { id: 'r5', patient: 'n5', ...oefen, authored: '2025-02-03', received: '2025-02-04', accepted: '2025-02-04', completed: '2025-03-06' });
  // r7: 3 days (06-02 -> 06-05), feedback after 32 (06-05 -> 07-07: 25 + 7); r8 is based on it: onward.
  await referral(t, app, { id: 'r7', patient: 'n7', ...oefen, authored: '2025-06-02', received: '2025-06-03', accepted: '2025-06-05', completed: '2025-07-07' });
  const rehab = { ...gp, discipline: '01.042', performer: 'role-net-rc' };
  // r6: onward from r2 (05-01 lies within 04-11 + 90 days); 8 days (05-01 -> 05-09), feedback after
  //     112 (05-09 -> 08-29: 22 + 30 + 31 + 29).
  await referral(t, app, { id: 'r6', patient: 'n2', ...rehab, authored: '2025-05-01', received: '2025-05-02', accepted: '2025-05-09', completed: '2025-08-29' });
  // r8: based on r7, 1 day (11-20 -> 11-21), in treatment.
  await referral(t, app, { id: 'r8', patient: 'n7', ...rehab, authored: '2025-11-20', received: '2025-11-21', accepted: '2025-11-21', basedOn: 'r7' });
  // r9: not yet received: counts for its performer's organisation.
  await referral(t, app, { id: 'r9', patient: 'n5', ...rehab, authored: '2025-09-01' });

  t.test('referrals per discipline, and the share kept in primary care', async (t) => {
    const group = (await evaluate(app, 'referral-primary-care', YEAR)).group[0];
    // All: r1..r9 = 9. Denominator: completed referrals to primary care: r1, r2 (04.000), r5, r7 (94.000) = 4.
    // Numerator: r1 and r5 (r2 has onward r6 in its window, r7 has r8 based on it) = 2: 2 / 4 = 0.5.
    t.same([count(group, 'initial-population'), count(group, 'denominator'), count(group, 'numerator')], [9, 4, 2]);
    t.equal(group.measureScore.value, 0.5);
    // Per discipline: 04.000 r1-r4 (4; 2 completed, 1 kept), 94.000 r5, r7 (2; 2, 1), 01.042 r6, r8, r9 (3; 0, 0).
    t.same(strataOf(group, 1), ['01.042', '04.000', '94.000']);
    t.same(['04.000', '94.000', '01.042'].map((d) => ['initial-population', 'denominator', 'numerator'].map((c) => count(stratum(group, d, 1), c))), [
      [4, 2, 1],
      [2, 2, 1],
      [3, 0, 0],
    ]);
    t.equal(stratum(group, '04.000', 1).measureScore.value, 0.5);
    t.notOk(stratum(group, '01.042', 1).measureScore, 'no score without a denominator');
    // Per organisation: net-physio r1, r2, r4 (3; 2, 1); net-physio-2 r3 (1; 0, 0); net-oefen r5, r7
    // (2; 2, 1); net-rc r6, r8 and r9 (by its performer) (3; 0, 0).
    t.same(strataOf(group), ['Organization/net-oefen', 'Organization/net-physio', 'Organization/net-physio-2', 'Organization/net-rc']);
    t.same(['net-physio', 'net-physio-2', 'net-oefen', 'net-rc'].map((o) => ['initial-population', 'denominator', 'numerator'].map((c) => count(stratum(group, `Organization/${o}`), c))), [
      [3, 2, 1],
      [1, 0, 0],
      [2, 2, 1],
      [3, 0, 0],
    ]);
  });

  t.test('median days from referral to acceptance and from acceptance to feedback', async (t) => {
    const report = await evaluate(app, 'referral-waiting-times', YEAR);
    const [acceptance, feedback] = report.group;
    // Acceptance: r1 2, r2 4, r3 7, r5 1, r7 3, r6 8, r8 1 (r4 rejected, r9 not received).
    // All: 1 1 2 3 4 7 8, seven (odd): the 4th = 3.
    t.same([count(acceptance, 'initial-population'), count(acceptance, 'measure-population')], [9, 7]);
    t.same(acceptance.measureScore, { value: 3, unit: 'dagen', system: 'http://unitsofmeasure.org', code: 'd' });
    // net-physio: 2, 4 (even): (2 + 4) / 2 = 3, of 3 referrals; net-physio-2: 7; net-oefen: 1, 3 -> 2;
    // net-rc: 1, 8 -> 4.5, of 3 referrals.
    t.same(['net-physio', 'net-physio-2', 'net-oefen', 'net-rc'].map((o) => stratum(acceptance, `Organization/${o}`).measureScore.value), [3, 7, 2, 4.5]);
    t.same([count(stratum(acceptance, 'Organization/net-rc'), 'initial-population'), count(stratum(acceptance, 'Organization/net-rc'), 'measure-population')], [3, 2]);
    // Feedback: r1 40, r2 28, r5 30, r7 32, r6 112. All: 28 30 32 40 112, five (odd): 32.
    t.same([count(feedback, 'initial-population'), count(feedback, 'measure-population')], [9, 5]);
    t.equal(feedback.measureScore.value, 32);
    // net-physio: 28, 40 -> 34; net-oefen: 30, 32 -> 31; net-rc: 112; net-physio-2: none completed.
    t.same(['net-physio', 'net-oefen', 'net-rc'].map((o) => stratum(feedback, `Organization/${o}`).measureScore.value), [34, 31, 112]);
    t.notOk(stratum(feedback, 'Organization/net-physio-2').measureScore);
  });

  t.test('one organisation, and a shorter period', async (t) => {
    const physio = await evaluate(app, 'referral-waiting-times', `${YEAR}&reporter=Organization/net-physio`);
    t.same(strataOf(physio.group[0]), ['Organization/net-physio']);
    // net-physio only: 2, 4 -> 3; feedback 28, 40 -> 34.
    t.same(physio.group.map((g: Json) => g.measureScore.value), [3, 34]);
    // Referrals written in the first quarter: r1 (2), r2 (4), r5 (1): 1 2 4 -> 2.
    const q1 = await evaluate(app, 'referral-waiting-times', 'periodStart=2025-01-01&periodEnd=2025-03-31');
    t.same([count(q1.group[0], 'initial-population'), q1.group[0].measureScore.value], [3, 2]);
    // One patient: n2's referrals r2 (4 days; 28) and r6 (8; 112): (4 + 8) / 2 = 6 and (28 + 112) / 2 = 70.
    const n2 = await evaluate(app, 'referral-waiting-times', `${YEAR}&subject=Patient/n2`);
    t.equal(n2.type, 'individual');
    t.same(n2.group.map((g: Json) => [count(g, 'initial-population'), g.measureScore.value]), [
      [2, 6],
      [2, 70],
    ]);
  });

  t.test('care-bridge sessions used against the budget', async (t) => {
    // z1: discharged 2025-03-03, no end: the window ends 84 days later (2025-05-26). Default budget
    //     9 physiotherapy (net-physio, 6 used) and 4 + 1 home visits (net-nurse, 5 used).
    await transaction(t, app, [
      careBridge('zb-z1', 'z1', '2025-03-03', { start: '2025-03-03' }, [activity(PHYSIO, 'role-net-physio'), activity(HOME_VISIT, 'role-net-nurse')]),
    ]);
    await transaction(t, app, [
      ...visits('zb-z1-fysio', 'z1', 'CarePlan/zb-z1', PHYSIO, 'role-net-physio', ['2025-03-05', '2025-03-07', '2025-03-12', '2025-03-14', '2025-03-19', '2025-03-21']),
      ...visits('zb-z1-hv', 'z1', 'CarePlan/zb-z1', HOME_VISIT, 'role-net-nurse', ['2025-03-04', '2025-03-18', '2025-04-01', '2025-04-15', '2025-04-29']),
    ]);
    // z2: window 2025-06-02 to 2025-08-25; physiotherapy at net-physio-2, 10 used (one over the
    //     limit, still used) of 9, and a cancelled one that does not count; 3 home visits of 4 + 1.
    await transaction(t, app, [
      careBridge('zb-z2', 'z2', '2025-06-02', { start: '2025-06-02', end: '2025-08-25' }, [activity(PHYSIO, 'role-net-physio-2'), activity(HOME_VISIT, 'role-net-nurse')]),
    ]);
    await transaction(t, app, [
      ...visits('zb-z2-fysio', 'z2', 'CarePlan/zb-z2', PHYSIO, 'role-net-physio-2', ['2025-06-03', '2025-06-05', '2025-06-10', '2025-06-12', '2025-06-17', '2025-06-19', '2025-06-24', '2025-06-26', '2025-07-01', '2025-07-03']),
      ...visits('zb-z2-fysio-x', 'z2', 'CarePlan/zb-z2', PHYSIO, 'role-net-physio-2', ['2025-07-08'], 'not-done'),
      ...visits('zb-z2-hv', 'z2', 'CarePlan/zb-z2', HOME_VISIT, 'role-net-nurse', ['2025-06-04', '2025-06-25', '2025-07-16']),
    ]);
    // z3: window ends 2026-02-23, after the period: not counted.
    await transaction(t, app, [careBridge('zb-z3', 'z3', '2025-12-01', { start: '2025-12-01' }, [activity(PHYSIO, 'role-net-physio')])]);
    await transaction(t, app, visits('zb-z3-fysio', 'z3', 'CarePlan/zb-z3', PHYSIO, 'role-net-physio', ['2025-12-02', '2025-12-04']));
    // z4: the physiotherapy activity carries out a referral named for net-physio but whose Task is
    //     owned by net-physio-2, which counts: 4 sessions used of the default 9.
    await put(t, app, {
      resourceType: 'ServiceRequest',
      id: 'zb-z4-fysio',
      status: 'active',
      intent: 'order',
      code: { coding: [PHYSIO] },
      subject: { reference: 'Patient/z4' },
      requester: { reference: `PractitionerRole/${GP}` },
      performer: [{ reference: 'PractitionerRole/role-net-physio' }],
    });
    const task: Json = { resourceType: 'Task', id: 'zb-z4-task', status: 'requested', intent: 'order', focus: { reference: 'ServiceRequest/zb-z4-fysio' }, for: { reference: 'Patient/z4' }, requester: { reference: `PractitionerRole/${GP}` } };
    await put(t, app, task);
    await put(t, app, { ...task, status: 'received', owner: { reference: 'PractitionerRole/role-net-physio-2' } });
    await put(t, app, { ...task, status: 'accepted', owner: { reference: 'PractitionerRole/role-net-physio-2' } });
    await transaction(t, app, [careBridge('zb-z4', 'z4', '2025-09-01', { start: '2025-09-01', end: '2025-11-24' }, [{ reference: { reference: 'ServiceRequest/zb-z4-fysio' } }])]);
    await transaction(t, app, visits('zb-z4-fysio', 'z4', 'ServiceRequest/zb-z4-fysio', PHYSIO, 'role-net-physio-2', ['2025-09-02', '2025-09-04', '2025-09-09', '2025-09-11']));

    const report = await evaluate(app, 'care-bridge-sessions', YEAR);
    const [physio, homeVisits] = report.group;
    // Physiotherapy: z1 6 of 9, z2 10 of 9, z4 4 of 9: 20 / 27 = 0.7407.
    t.same([count(physio, 'initial-population'), count(physio, 'denominator'), count(physio, 'numerator')], [3, 27, 20]);
    t.equal(physio.measureScore.value, 0.7407);
    // net-physio: z1, 6 / 9 = 0.6667; net-physio-2: z2 and z4, (10 + 4) / (9 + 9) = 14 / 18 = 0.7778.
    t.same(strataOf(physio), ['Organization/net-physio', 'Organization/net-physio-2']);
    t.same([count(stratum(physio, 'Organization/net-physio'), 'numerator'), stratum(physio, 'Organization/net-physio').measureScore.value], [6, 0.6667]);
    t.same([count(stratum(physio, 'Organization/net-physio-2'), 'initial-population'), stratum(physio, 'Organization/net-physio-2').measureScore.value], [2, 0.7778]);
    // Home visits: z1 5 of 4 + 1, z2 3 of 4 + 1: 8 / 10 = 0.8, all at net-nurse.
    t.same([count(homeVisits, 'initial-population'), count(homeVisits, 'denominator'), count(homeVisits, 'numerator'), homeVisits.measureScore.value], [2, 10, 8, 0.8]);
    t.same(strataOf(homeVisits), ['Organization/net-nurse']);
    // The same figures as $progress on the window's last day: z2 used 10 of 9 physiotherapy sessions.
    const progress = await app.request({ method: 'GET', url: '/fhir/CarePlan/zb-z2/$progress?date=2025-08-25' });
    const used = progress.json().parameter.filter((p: Json) => p.name === 'activity').map((p: Json) => p.part.find((x: Json) => x.name === 'used').valueInteger);
    t.same(used, [10, 3]);
    // One organisation.
    const nurse = await evaluate(app, 'care-bridge-sessions', `${YEAR}&reporter=Organization/net-nurse`);
    t.same([count(nurse.group[0], 'initial-population'), count(nurse.group[1], 'numerator')], [0, 8]);
  });

  t.test('a regional network (Measure scope only) gets the same aggregate figures, naming no patient', async (t) => {
    for (const measure of ['referral-primary-care', 'referral-waiting-times', 'care-bridge-sessions']) {
      const response = await app.request({ method: 'GET', url: `/fhir/Measure/${measure}/$evaluate-measure?${YEAR}`, as: 'network' });
      t.equal(response.statusCode, 200, measure);
      const admin = await evaluate(app, measure, YEAR);
      t.same({ ...response.json(), date: undefined }, { ...admin, date: undefined }, `${measure}: as the integration engine gets them`);
      t.notOk(/Patient\/|ServiceRequest\/|Task\/|CarePlan\//.test(response.body), `${measure}: names no patient or record`);
    }
  });

  t.test('a malformed indicator is 422', async (t) => {
    const bad = await app.request({
      method: 'POST',
      url: '/fhir/Measure',
      body: {
        resourceType: 'Measure',
        status: 'active',
        scoring: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-scoring', code: 'continuous-variable' }] },
        group: [{ extension: [{ url: 'http://schakel.nl/fhir/StructureDefinition/measure-indicator', extension: [{ url: 'type', valueCode: 'referral-interval' }, { url: 'interval', valueCode: 'eternity' }] }] }],
      },
    });
    assertIssue(t, await app.request({ method: 'GET', url: `/fhir/Measure/${bad.json().id}/$evaluate-measure?${YEAR}` }), 422, 'invalid', 'Measure.group[0]');
  });
});
