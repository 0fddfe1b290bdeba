/**
 * The Shared CarePlan and care-bridge CarePlan profiles (docs/care-workflows.md): valid and invalid examples for
 * every invariant, the slices and the extension, over HTTP.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertInvariant, careBridgePlan, homeVisitActivity, loadWorld, physioActivity, referral, SCT, SD, sharedCarePlan, write } from '../helpers/care.js';
import { assertIssue } from '../helpers/outcome.js';
import type { Json } from '../helpers/search.js';

t.test(`Shared CarePlan and care-bridge CarePlan profiles on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await loadWorld(app);
  const post = (body: Json) => app.request({ method: 'POST', url: '/fhir/CarePlan', body });
  const without = (body: Json, key: string) => {
    const { [key]: _dropped, ...rest } = body;
    return rest;
  };

  t.test('Shared CarePlan', async (t) => {
    t.equal((await post(sharedCarePlan())).statusCode, 201, 'a plan with care team, goal and a detailed activity');
    const sr = await write(app, { ...referral(), id: 'ref-plan' });
    t.equal((await post(sharedCarePlan({ activity: [{ reference: { reference: `ServiceRequest/${sr.id as string}` } }] }))).statusCode, 201, 'an activity that references its request');
    assertInvariant(t, await post(sharedCarePlan({ activity: [physioActivity(9, { performer: undefined })] })), 'sch-cp-1', 'CarePlan');
    assertInvariant(t, await post(sharedCarePlan({ activity: [{ detail: { status: 'in-progress', performer: [{ reference: 'PractitionerRole/physio' }] } }] })), 'sch-cp-1', 'CarePlan');
    assertIssue(t, await post(without(sharedCarePlan(), 'careTeam')), 422, 'structure', 'CarePlan.careTeam');
    assertIssue(t, await post(without(sharedCarePlan(), 'goal')), 422, 'structure', 'CarePlan.goal');
    assertIssue(t, await post(without(sharedCarePlan(), 'author')), 422, 'structure', 'CarePlan.author');
    assertIssue(t, await post(without(sharedCarePlan(), 'activity')), 422, 'structure', 'CarePlan.activity');
    assertIssue(t, await post(sharedCarePlan({ period: { end: '2026-12-01' } })), 422, 'structure', 'CarePlan.period.start');
    assertIssue(t, await post(sharedCarePlan({ intent: 'order' })), 422, 'structure', 'CarePlan.intent');
  });

  t.test('care-bridge CarePlan (Cardiologische Zorgbrug)', async (t) => {
    t.equal((await post(careBridgePlan())).statusCode, 201, 'a care bridge of exactly 12 weeks');
    t.equal((await post(careBridgePlan({ period: { start: '2026-09-01' } }))).statusCode, 201, 'without an end: the profile supplies 12 weeks');
    t.equal((await post(careBridgePlan({ period: { start: '2026-09-01T00:00:00+02:00', end: '2026-11-01' } }))).statusCode, 201, 'a start given as dateTime on the discharge day');
    t.equal((await post(careBridgePlan({ activity: [physioActivity(undefined), homeVisitActivity(undefined, undefined)] }))).statusCode, 201, 'activities without counts');

    assertInvariant(t, await post(careBridgePlan({ period: { start: '2026-09-02', end: '2026-11-24' } })), 'zb-1', 'CarePlan');
    // zb-2 needs date arithmetic: Schakel checks it in code, with the same key.
    assertInvariant(t, await post(careBridgePlan({ period: { start: '2026-09-01', end: '2026-11-25' } })), 'zb-2', 'CarePlan.period.end');
    assertInvariant(t, await post(careBridgePlan({ activity: [physioActivity(10), homeVisitActivity()] })), 'zb-3', 'CarePlan');
    assertInvariant(t, await post(careBridgePlan({ activity: [physioActivity(undefined, { quantity: { value: 10 } }), homeVisitActivity()] })), 'zb-3', 'CarePlan');
    assertInvariant(t, await post(careBridgePlan({ activity: [physioActivity(), homeVisitActivity(5, undefined)] })), 'zb-4', 'CarePlan');
    assertInvariant(t, await post(careBridgePlan({ activity: [physioActivity(), homeVisitActivity(4, 6)] })), 'zb-4', 'CarePlan');

    assertIssue(t, await post(without(careBridgePlan(), 'extension')), 422, 'structure', 'CarePlan.extension');
    assertIssue(t, await post(careBridgePlan({ category: [{ coding: [{ system: SCT, code: '736353004' }] }] })), 422, 'structure', 'CarePlan.category');
    assertIssue(t, await post(careBridgePlan({ activity: [physioActivity(), physioActivity()] })), 422, 'structure', 'CarePlan.activity');
    // The care-bridge plan is a shared care plan too.
    assertInvariant(t, await post(careBridgePlan({ activity: [physioActivity(9, { performer: undefined }), homeVisitActivity()] })), 'sch-cp-1', 'CarePlan');
    const stored = (await app.request({ method: 'GET', url: '/fhir/StructureDefinition/care-bridge-careplan' })).json();
    t.equal(stored.baseDefinition, `${SD}shared-careplan`, 'derived from the shared care plan');
  });
});
