/**
 * Care-plan limits (docs/care-workflows.md): visits over a limit or outside the window are accepted with a
 * warning (OperationOutcome on the write, entry.response.outcome in Bundles) and a stored
 * DetectedIssue; $progress reports sessions used against allowed, the flags and the days left.
 * Works for any CarePlan; the care-bridge profile supplies the defaults.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { careBridgePlan, FLAGS, homeVisitActivity, loadWorld, physioActivity, referral, sharedCarePlan, visit, write } from '../helpers/care.js';
import { issuesOf } from '../helpers/outcome.js';
import type { Json } from '../helpers/search.js';

const part = (parameter: Json, name: string): Json => parameter.part.find((p: Json) => p.name === name);
const parts = (parameter: Json, name: string): Json[] => parameter.part.filter((p: Json) => p.name === name);
const param = (parameters: Json, name: string): Json[] => parameters.parameter.filter((p: Json) => p.name === name);

/** The activity entries of a $progress answer as plain figures. */
function figures(parameters: Json) {
  return param(parameters, 'activity').map((a) => ({
    allowed: part(a, 'allowed')?.valueInteger,
    onIndication: part(a, 'onIndication')?.valueInteger,
    used: part(a, 'used')?.valueInteger,
    remaining: part(a, 'remaining')?.valueInteger,
    visits: parts(a, 'visit').map((v) => [part(v, 'visit').valueReference.reference, parts(v, 'flag').map((f) => f.valueCoding.code)]),
  }));
}

t.test(`care-plan limits and $progress on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await loadWorld(app);
  const withOutcome = { prefer: 'return=OperationOutcome' };
  const flags = (response: { json(): Json }) =>
    (issuesOf(response as never) as Json[])
      .filter((i) => i.details?.coding?.[0]?.system === FLAGS)
      .map((i) => [i.severity, i.code, i.details.coding[0].code, i.expression?.[0]]);
  const post = (body: Json, headers: Record<string, string> = withOutcome) => app.request({ method: 'POST', url: `/fhir/${body.resourceType as string}`, body, headers });
  const detectedIssues = async (reference: string) =>
    (await app.request({ method: 'GET', url: `/fhir/DetectedIssue?implicated=${reference}` })).json().entry?.map((e: Json) => e.resource.code.coding[0].code) ?? [];
  const progress = async (plan: string, date = '2026-09-15') => (await app.request({ method: 'GET', url: `/fhir/CarePlan/${plan}/$progress?date=${date}` })).json();

  const plan = await write(app, {
    ...sharedCarePlan({ period: { start: '2026-09-01', end: '2026-09-30' }, activity: [physioActivity(2), homeVisitActivity(1, 2)] }),
    id: 'plan-limits',
  });

  t.test('visits within limits carry no warning', async (t) => {
    for (const date of ['2026-09-02', '2026-09-04']) {
      const response = await post(visit(plan.id, 'physio', date));
      t.equal(response.statusCode, 201);
      t.same(flags(response), [], `physio ${date}`);
    }
  });

  t.test('a visit over the limit is accepted with a warning and a DetectedIssue', async (t) => {
    const response = await post(visit(plan.id, 'physio', '2026-09-08'));
    t.equal(response.statusCode, 201, 'accepted');
    t.same(flags(response), [['warning', 'business-rule', 'over-limit', 'Procedure.basedOn']]);
    const location = response.headers.location as string;
    const id = /Procedure\/([^/]+)/.exec(location)?.[1] as string;
    t.same(await detectedIssues(`Procedure/${id}`), ['over-limit'], 'recorded for the care team');

    const quiet = await post(visit(plan.id, 'physio', '2026-09-10'), {});
    t.equal(quiet.statusCode, 201);
    t.equal(quiet.json().resourceType, 'Procedure', 'without Prefer the body is the resource, as R4 says');
    t.same(await detectedIssues(`Procedure/${quiet.json().id as string}`), ['over-limit'], 'and the DetectedIssue tells the client that sent no Prefer');

    const again = await app.request({ method: 'PUT', url: `/fhir/Procedure/${id}`, body: { ...visit(plan.id, 'physio', '2026-09-08'), id, note: [{ text: 'Extra sessie na val' }] }, headers: withOutcome });
    t.same(flags(again), [['warning', 'business-rule', 'over-limit', 'Procedure.basedOn']], 'an update still warns');
    t.same(await detectedIssues(`Procedure/${id}`), ['over-limit'], 'but records the issue once');
  });

  t.test('home visits: on indication (countMax) is information, beyond it a warning', async (t) => {
    t.same(flags(await post(visit(plan.id, 'nurse', '2026-09-03'))), []);
    const fifth = await post(visit(plan.id, 'nurse', '2026-09-10'));
    t.same(flags(fifth), [['information', 'informational', 'on-indication', 'Procedure.basedOn']]);
    t.same(await detectedIssues(`Procedure/${/Procedure\/([^/]+)/.exec(fifth.headers.location as string)?.[1] as string}`), [], 'no DetectedIssue for an allowed extra visit');
    t.same(flags(await post(visit(plan.id, 'nurse', '2026-09-17'))), [['warning', 'business-rule', 'over-limit', 'Procedure.basedOn']]);
  });

  t.test('outside the window, unplanned, and visits that do not count', async (t) => {
    const late = await write(app, { ...sharedCarePlan({ period: { start: '2026-09-01', end: '2026-09-30' }, activity: [physioActivity(5)] }), id: 'plan-window' });
    t.same(flags(await post(visit(late.id, 'physio', '2026-10-05'))), [['warning', 'business-rule', 'outside-window', 'Procedure.performed']]);
    t.same(flags(await post(visit(late.id, 'physio', '2026-08-31'))), [['warning', 'business-rule', 'outside-window', 'Procedure.performed']]);
    t.same(flags(await post(visit(late.id, 'nurse', '2026-09-05'))), [['warning', 'business-rule', 'unplanned', 'Procedure.basedOn']], 'a home visit on a plan without home visits');
    t.same(flags(await post(visit(late.id, 'physio', '2026-10-06', { status: 'preparation' }))), [], 'a planned visit does not use a session');
    const figures2 = figures(await progress(late.id));
    t.equal(figures2[0]?.used, 2, 'two counted physiotherapy visits');
  });

  t.test('Encounters based on the ServiceRequest of an activity count too', async (t) => {
    const sr = await write(app, { ...referral({ occurrenceTiming: { repeat: { count: 1 } } }), id: 'ref-activity' });
    const byRequest = await write(app, { ...sharedCarePlan({ activity: [{ reference: { reference: `ServiceRequest/${sr.id as string}` } }] }), id: 'plan-request' });
    const encounter = (day: string) => ({
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: 'Patient/pat-1' },
      basedOn: [{ reference: `ServiceRequest/${sr.id as string}` }],
      participant: [{ individual: { reference: 'PractitionerRole/physio' } }],
      period: { start: `${day}T10:00:00+02:00` },
    });
    t.same(flags(await post(encounter('2026-09-10'))), []);
    t.same(flags(await post(encounter('2026-09-17'))), [['warning', 'business-rule', 'over-limit', 'Encounter.basedOn']]);
    const [activity] = figures(await progress(byRequest.id));
    t.same([activity?.allowed, activity?.used], [1, 2], 'the limit comes from the request');
  });

  t.test('warnings of visits in a transaction Bundle reach entry.response.outcome', async (t) => {
    const fresh = await write(app, { ...sharedCarePlan({ period: { start: '2026-09-01', end: '2026-09-30' }, activity: [physioActivity(2)] }), id: 'plan-bundle' });
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: ['2026-09-02', '2026-09-03', '2026-09-04'].map((day) => ({ resource: visit(fresh.id, 'physio', day), request: { method: 'POST', url: 'Procedure' } })),
    };
    const response = await app.request({ method: 'POST', url: '/fhir', body: bundle });
    t.equal(response.statusCode, 200);
    const outcomes = response.json().entry.map((e: Json) => e.response.outcome?.issue?.map((i: Json) => i.details?.coding?.[0]?.code) ?? []);
    t.same(outcomes, [[], [], ['over-limit']], 'the third visit of the Bundle is over the limit');
  });

  t.test('$progress reports used against allowed, flags and days left', async (t) => {
    const result = await progress(plan.id, '2026-09-20');
    t.equal(result.resourceType, 'Parameters');
    t.equal(param(result, 'carePlan')[0].valueReference.reference, `CarePlan/${plan.id as string}`);
    const window = param(result, 'window')[0];
    t.same([part(window, 'start').valueDate, part(window, 'end').valueDate, part(window, 'daysTotal').valueInteger, part(window, 'daysLeft').valueInteger], ['2026-09-01', '2026-09-30', 29, 10]);
    const [physio, nurse] = figures(result);
    t.same([physio?.allowed, physio?.onIndication, physio?.used, physio?.remaining], [2, 0, 4, 0]);
    t.same(physio?.visits.map(([, f]) => f), [[], [], ['over-limit'], ['over-limit']], 'visits ranked by date');
    t.same([nurse?.allowed, nurse?.onIndication, nurse?.used, nurse?.remaining], [1, 1, 3, 0]);
    t.same(nurse?.visits.map(([, f]) => f), [[], ['on-indication'], ['over-limit']]);
    t.equal(part(param(result, 'activity')[0], 'discipline').valueCodeableConcept.coding[0].code, '04.000', 'the performer\'s discipline');
    t.equal(param(result, 'flagged')[0].valueInteger, 3);
    t.equal(part(param(await progress(plan.id, '2026-10-15'), 'window')[0], 'daysLeft').valueInteger, 0, 'no days left after the end');
    t.equal(part(param(await progress(plan.id, '2026-08-15'), 'window')[0], 'daysLeft').valueInteger, 29, 'all days left before the start');
    const late = await progress('plan-window');
    t.same(param(late, 'unplannedVisit').map((v) => parts(v, 'flag').map((f: Json) => f.valueCoding.code)), [['unplanned']]);
  });

  t.test('the care-bridge profile supplies the defaults: 9 physio, 4 + 1 home visits, 12 weeks', async (t) => {
    const bridge = await write(app, { ...careBridgePlan({ period: { start: '2026-09-01' }, activity: [physioActivity(undefined), homeVisitActivity(undefined, undefined)] }), id: 'plan-bridge' });
    const result = await progress(bridge.id, '2026-09-01');
    const [physio, nurse] = figures(result);
    t.same([physio?.allowed, physio?.onIndication, nurse?.allowed, nurse?.onIndication], [9, 0, 4, 1]);
    const window = param(result, 'window')[0];
    t.same([part(window, 'end').valueDate, part(window, 'daysTotal').valueInteger, part(window, 'daysLeft').valueInteger], ['2026-11-24', 84, 84]);
    const days = ['02', '03', '04', '07', '08', '09', '10', '11', '14'];
    for (const day of days) {
      t.same(flags(await post(visit(bridge.id, 'physio', `2026-09-${day}`))), [], `physio session on 09-${day}`);
    }
    t.same(flags(await post(visit(bridge.id, 'physio', '2026-09-15'))), [['warning', 'business-rule', 'over-limit', 'Procedure.basedOn']], 'the tenth session');
    t.same(flags(await post(visit(bridge.id, 'nurse', '2026-11-25'))), [['warning', 'business-rule', 'outside-window', 'Procedure.performed']], 'a home visit after 12 weeks');
  });

  t.test('$progress errors and the OperationDefinitions', async (t) => {
    t.equal((await app.request({ method: 'GET', url: '/fhir/CarePlan/nope/$progress' })).statusCode, 404);
    t.equal((await app.request({ method: 'GET', url: `/fhir/CarePlan/${plan.id as string}/$progress?date=15-09-2026` })).statusCode, 400);
    const today = await app.request({ method: 'GET', url: `/fhir/CarePlan/${plan.id as string}/$progress` });
    t.equal(param(today.json(), 'asOf')[0].valueDate, new Date().toISOString().slice(0, 10), 'today by default');
    const metadata = (await app.request({ method: 'GET', url: '/fhir/metadata' })).json();
    const operations = (type: string) => (metadata.rest[0].resource.find((r: Json) => r.type === type)?.operation ?? []).map((o: Json) => [o.name, o.definition]);
    t.ok(operations('CarePlan').some(([name, definition]: string[]) => name === 'progress' && definition === 'http://schakel.nl/fhir/OperationDefinition/CarePlan-progress'));
    t.ok(operations('CarePlan').some(([name]: string[]) => name === 'logbook'));
    t.ok(operations('Patient').some(([name, definition]: string[]) => name === 'logbook' && definition === 'http://schakel.nl/fhir/OperationDefinition/Patient-logbook'));
    t.notOk(operations('Observation').some(([name]: string[]) => name === 'logbook'), 'only where it is defined');
  });
});
