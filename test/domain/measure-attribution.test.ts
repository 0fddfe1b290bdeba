/**
 * Which organisation a PDI measurement counts for (src/domain/measures/attribution-sql.ts): the one
 * that treated (owner of the referral Task, else the treatment CarePlan's author), else the author
 * of the response, else the patient's managing organisation. Every patient here is managed by the
 * GP practice; the cohort is written so that each rule decides at least once.
 */
import t, { type Test } from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { count, evaluate, organisation, patient, put, referral, strataOf, stratum } from '../helpers/measure-cohort.js';

type Json = any;

const PAIN = 'http://schakel.nl/fhir/CodeSystem/pain-outcomes';
const PDI = 'http://schakel.nl/fhir/Questionnaire/pdi|1.0.0';
const PERIOD = 'periodStart=2025-01-01&periodEnd=2025-12-31';

/** Seven PDI items (0-10 each) adding up to `total`. */
function pdiItems(total: number): Json[] {
  let left = total;
  return [1, 2, 3, 4, 5, 6, 7].map((i) => {
    const value = Math.min(10, left);
    left -= value;
    return { linkId: `pdi-${i}`, answer: [{ valueInteger: value }] };
  });
}

interface Treatment {
  readonly id: string;
  readonly t0: number;
  readonly end: number;
  /** Reference of the responses' author (a PractitionerRole, or the patient who filled them in). */
  readonly author?: string;
  readonly carePlanAuthor?: string;
  readonly carePlanReferral?: string;
  readonly responseReferral?: string;
}

/**
 * A finished treatment (CarePlan completed in 2025) with a PDI Task at T0 and at the end, and the
 * two responses that complete them (the server scores each into a pdi-total Observation).
 */
async function treatment(t: Test, app: TestApp, x: Treatment): Promise<void> {
  const pat = `pat-${x.id}`;
  await put(t, app, {
    resourceType: 'CarePlan',
    id: `cp-${x.id}`,
    status: 'completed',
    intent: 'plan',
    subject: { reference: `Patient/${pat}` },
    period: { start: '2025-02-01', end: '2025-05-31' },
    ...(x.carePlanAuthor ? { author: { reference: x.carePlanAuthor } } : {}),
    ...(x.carePlanReferral ? { activity: [{ reference: { reference: `ServiceRequest/${x.carePlanReferral}` } }] } : {}),
  });
  const moments: Array<[string, string, string, string]> = [
    ['t0', '2025-01-18', '2025-02-15', '2025-02-03'],
    ['end', '2025-05-17', '2025-06-14', '2025-05-30'],
  ];
  for (const [moment, start, end] of moments) {
    await put(t, app, {
      resourceType: 'Task',
      id: `ndp-${x.id}-${moment}`,
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: PAIN, code: moment }] },
      focus: { reference: 'Questionnaire/pdi-1.0.0' },
      for: { reference: `Patient/${pat}` },
      basedOn: [{ reference: `CarePlan/cp-${x.id}` }],
      owner: { reference: `Patient/${pat}` },
      restriction: { period: { start, end } },
    });
  }
  for (const [moment, , , authored] of moments) {
    await put(t, app, {
      resourceType: 'QuestionnaireResponse',
      id: `qr-${x.id}-${moment}`,
      questionnaire: PDI,
      status: 'completed',
      subject: { reference: `Patient/${pat}` },
      authored: `${authored}T10:00:00+01:00`,
      author: { reference: x.author ?? `Patient/${pat}` },
      ...(x.responseReferral ? { basedOn: [{ reference: `ServiceRequest/${x.responseReferral}` }] } : {}),
      item: pdiItems(moment === 't0' ? x.t0 : x.end),
    });
  }
}

t.test(`attribution of PDI measurements on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await organisation(t, app, 'attr-gp', 'Huisartsenpraktijk De Linde', '01.015');
  await organisation(t, app, 'attr-rc', 'Revalidatiecentrum Zonnehoek', '01.042');
  await organisation(t, app, 'attr-physio', 'Fysiotherapie Het Anker', '04.000');
  for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) {
    await patient(t, app, `pat-${id}`, 'attr-gp');
  }
  // Referrals from the GP to the rehabilitation centre: accepted (a, b) and rejected (f).
  const toRehab = { discipline: '01.042', requester: 'role-attr-gp', performer: 'role-attr-rc', authored: '2025-01-06', received: '2025-01-07' };
  await referral(t, app, { id: 'attr-ref-a', patient: 'pat-a', ...toRehab, accepted: '2025-01-08' });
  await referral(t, app, { id: 'attr-ref-b', patient: 'pat-b', ...toRehab, accepted: '2025-01-08' });
  await referral(t, app, { id: 'attr-ref-f', patient: 'pat-f', ...toRehab, rejected: '2025-01-08' });

  // a: a CarePlan activity carries out the referral; the responses written by a physiotherapist: the referral
  //    Task's owner (rehab centre) comes first. PDI 50 -> 30: change -20.
  await treatment(t, app, { id: 'a', t0: 50, end: 30, carePlanReferral: 'attr-ref-a', author: 'PractitionerRole/role-attr-physio' });
  // b: the responses (filled in by the patient) based on the referral: rehab centre. 40 -> 34: -6.
  await treatment(t, app, { id: 'b', t0: 40, end: 34, responseReferral: 'attr-ref-b' });
  // c: no referral, the CarePlan written by the rehabilitation physician: rehab centre. 60 -> 41: -19.
  await treatment(t, app, { id: 'c', t0: 60, end: 41, carePlanAuthor: 'PractitionerRole/role-attr-rc' });
  // d: only the response author's organisation applies: physiotherapy practice. 30 -> 28: -2.
  await treatment(t, app, { id: 'd', t0: 30, end: 28, author: 'PractitionerRole/role-attr-physio' });
  // e: only the managing organisation applies: GP practice. 20 -> 25: +5.
  await treatment(t, app, { id: 'e', t0: 20, end: 25 });
  // f: based on a rejected referral (its owner did not treat): managing organisation. 44 -> 40: -4.
  await treatment(t, app, { id: 'f', t0: 44, end: 40, carePlanReferral: 'attr-ref-f' });

  t.test('PDI change per organisation', async (t) => {
    const group = (await evaluate(app, 'pain-pdi-change', PERIOD)).group[0];
    t.same(strataOf(group), ['Organization/attr-gp', 'Organization/attr-physio', 'Organization/attr-rc']);
    // Rehab centre: a, b, c: (-20 - 6 - 19) / 3 = -45 / 3 = -15.
    const rc = stratum(group, 'Organization/attr-rc');
    t.equal(count(rc, 'measure-population'), 3);
    t.equal(rc.measureScore.value, -15);
    // Physiotherapy practice: d: -2 / 1 = -2.
    const physio = stratum(group, 'Organization/attr-physio');
    t.equal(count(physio, 'measure-population'), 1);
    t.equal(physio.measureScore.value, -2);
    // GP practice: e, f: (5 - 4) / 2 = 0.5.
    const gp = stratum(group, 'Organization/attr-gp');
    t.equal(count(gp, 'measure-population'), 2);
    t.equal(gp.measureScore.value, 0.5);
    // Everyone: (-20 - 6 - 19 - 2 + 5 - 4) / 6 = -46 / 6 = -7.666... -> -7.67.
    t.equal(count(group, 'measure-population'), 6);
    t.equal(group.measureScore.value, -7.67);
  });

  t.test('PDI improvement and NDP completeness follow the same order', async (t) => {
    const improvement = (await evaluate(app, 'pain-pdi-improvement', PERIOD)).group[0];
    // At least 10 points better: a (20) and c (19) at the rehab centre; b (6) not: 2 of 3.
    const rc = stratum(improvement, 'Organization/attr-rc');
    t.same([count(rc, 'denominator'), count(rc, 'numerator')], [3, 2]);
    t.same([count(stratum(improvement, 'Organization/attr-gp'), 'denominator'), count(stratum(improvement, 'Organization/attr-gp'), 'numerator')], [2, 0]);
    const completeness = (await evaluate(app, 'pain-ndp-completeness', PERIOD)).group[0];
    // Every treatment has both PDI Tasks completed: 3, 1 and 2 complete of 3, 1 and 2.
    t.same(['attr-rc', 'attr-physio', 'attr-gp'].map((o) => count(stratum(completeness, `Organization/${o}`), 'numerator')), [3, 1, 2]);
  });

  t.test('one organisation (reporter) gets what counts for it', async (t) => {
    const report = await evaluate(app, 'pain-pdi-change', `${PERIOD}&reporter=Organization/attr-rc`);
    t.same(strataOf(report.group[0]), ['Organization/attr-rc']);
    t.equal(count(report.group[0], 'measure-population'), 3);
    t.equal(report.group[0].measureScore.value, -15);
  });
});
