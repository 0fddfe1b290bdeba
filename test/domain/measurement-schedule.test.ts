import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';
import { nrsResponse, PAIN, patient, PDI, pdiResponse } from '../helpers/outcomes.js';
import { put, search } from '../helpers/search.js';

function carePlan(id: string, patientId: string, start: string, end?: string) {
  return {
    resourceType: 'CarePlan',
    id,
    status: 'active',
    intent: 'plan',
    title: 'Pijnrevalidatie',
    subject: { reference: `Patient/${patientId}` },
    period: { start, ...(end ? { end } : {}) },
  };
}

async function apply(app: TestApp, patientId: string, carePlanId: string, plan = 'ndp-1.0.0') {
  return app.request({ method: 'POST', url: `/fhir/PlanDefinition/${plan}/$apply?subject=Patient/${patientId}&carePlan=CarePlan/${carePlanId}` });
}

/** The patient's measurement Tasks by `{moment} {instrument}`, e.g. `t0 pdi`. */
async function tasksOf(app: TestApp, patientId: string): Promise<Map<string, any>> {
  const body = (await app.request({ method: 'GET', url: `/fhir/Task?subject=Patient/${patientId}&_count=100` })).json();
  const tasks = new Map<string, any>();
  for (const { resource } of body.entry ?? []) {
    tasks.set(`${resource.code.coding[0].code} ${resource.focus.reference.startsWith('Questionnaire/pdi') ? 'pdi' : 'nrs'}`, resource);
  }
  return tasks;
}

async function respond(app: TestApp, body: any): Promise<any> {
  const response = await app.request({ method: 'POST', url: '/fhir/QuestionnaireResponse', body });
  if (response.statusCode !== 201) {
    throw new Error(response.body);
  }
  return response.json();
}

t.test(`measurement schedules on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const { request } = app;
  await patient(app, 'p1');
  await put(app, carePlan('cp1', 'p1', '2025-01-06', '2025-03-31'));

  t.test('$apply creates one Task per moment and instrument, held by a stored RequestGroup', async (t) => {
    const applied = await apply(app, 'p1', 'cp1');
    t.equal(applied.statusCode, 200);
    const group = applied.json();
    t.equal(group.resourceType, 'RequestGroup');
    t.equal((await request({ method: 'GET', url: `/fhir/RequestGroup/${group.id}` })).statusCode, 200, 'the RequestGroup is stored');
    t.same(group.subject, { reference: 'Patient/p1' });
    t.same(group.basedOn, [{ reference: 'CarePlan/cp1' }]);
    t.same(group.instantiatesCanonical, ['http://schakel.nl/fhir/PlanDefinition/ndp|1.0.0']);
    t.same(group.action.map((a: any) => a.code[0].coding[0].code), ['t0', 'halfway', 'end', 'follow-up-3m', 'follow-up-12m']);
    t.same(group.action.map((a: any) => a.action.length), [2, 2, 2, 1, 1], 'PDI and NRS at T0, halfway and end; PDI at follow-up');

    const tasks = await tasksOf(app, 'p1');
    t.equal(tasks.size, 8);
    const referenced = group.action.flatMap((a: any) => a.action.map((s: any) => s.resource.reference)).sort();
    t.same(referenced, [...tasks.values()].map((task) => `Task/${task.id}`).sort(), 'the RequestGroup references every Task');
    // Treatment 2025-01-06 to 2025-03-31: 84 days, so halfway is 2025-02-17; 3 months after the end is 2025-06-30.
    const expected: Record<string, [string, string]> = {
      't0 pdi': ['2024-12-23', '2025-01-20'],
      't0 nrs': ['2024-12-23', '2025-01-20'],
      'halfway pdi': ['2025-02-03', '2025-03-03'],
      'halfway nrs': ['2025-02-03', '2025-03-03'],
      'end pdi': ['2025-03-17', '2025-04-14'],
      'end nrs': ['2025-03-17', '2025-04-14'],
      'follow-up-3m pdi': ['2025-05-31', '2025-07-30'],
      'follow-up-12m pdi': ['2026-03-01', '2026-04-30'],
    };
    for (const [key, [start, end]] of Object.entries(expected)) {
      const task = tasks.get(key);
      t.same(task?.restriction?.period, { start, end }, `${key} is due ${start} to ${end}`);
    }
    const t0 = tasks.get('t0 pdi');
    t.equal(t0.status, 'requested');
    t.equal(t0.intent, 'order');
    t.same(t0.for, { reference: 'Patient/p1' });
    t.same(t0.owner, { reference: 'Patient/p1' });
    t.equal(t0.focus.reference, 'Questionnaire/pdi-1.0.0');
    t.same(t0.basedOn, [{ reference: 'CarePlan/cp1' }]);
    t.same(t0.code.coding[0], { system: PAIN, code: 't0', display: 'Intake (T0)' });
    t.equal(t0.input[0].valueCanonical, PDI);
    t.same(t0.groupIdentifier, group.groupIdentifier);
    t.equal(t0.instantiatesCanonical, 'http://schakel.nl/fhir/PlanDefinition/ndp|1.0.0');
  });

  t.test('$apply refuses what it cannot schedule', async (t) => {
    assertIssue(t, await apply(app, 'p1', 'cp1'), 409, 'duplicate', 'carePlan');
    t.equal((await request({ method: 'GET', url: '/fhir/PlanDefinition/ndp-1.0.0/$apply?subject=Patient/p1&carePlan=CarePlan/cp1' })).statusCode, 405);
    assertIssue(t, await request({ method: 'POST', url: '/fhir/PlanDefinition/ndp-1.0.0/$apply?carePlan=CarePlan/cp1' }), 400, 'required', 'subject'); // min 1 in the OperationDefinition
    assertIssue(t, await request({ method: 'POST', url: '/fhir/PlanDefinition/ndp-1.0.0/$apply?subject=Organization/x&carePlan=CarePlan/cp1' }), 400, 'invalid', 'subject');
    t.equal((await apply(app, 'p1', 'cp1', 'unknown')).statusCode, 404);
    assertIssue(t, await apply(app, 'nobody', 'cp1'), 422, 'not-found', 'subject');
    await put(app, carePlan('open-ended', 'p1', '2025-01-06'));
    assertIssue(t, await apply(app, 'p1', 'open-ended'), 422, 'business-rule', 'CarePlan.period');
    await patient(app, 'p9', '999911132');
    assertIssue(t, await apply(app, 'p9', 'cp1'), 422, 'business-rule', 'CarePlan.subject');
    const broken = (await request({ method: 'GET', url: '/fhir/PlanDefinition/ndp-1.0.0' })).json();
    const { id: _id, meta: _meta, ...copy } = broken;
    const noWindow = structuredClone(copy);
    noWindow.url = 'http://schakel.test/fhir/PlanDefinition/kapot';
    delete noWindow.action[1].extension;
    const created = (await request({ method: 'POST', url: '/fhir/PlanDefinition', body: noWindow })).json();
    assertIssue(t, await apply(app, 'p1', 'open-ended', created.id), 422, 'invalid', 'PlanDefinition.action[1]');
  });

  t.test('a completed response inside a window completes that Task', async (t) => {
    const pdi = await respond(app, pdiResponse('Patient/p1', [5, 5, 5, 5, 5, 5, 5], { authored: '2025-01-08T10:00:00+01:00' }));
    let tasks = await tasksOf(app, 'p1');
    t.equal(tasks.get('t0 pdi').status, 'completed');
    t.same(tasks.get('t0 pdi').output.map((o: any) => o.valueReference), [{ reference: `QuestionnaireResponse/${pdi.id}` }]);
    t.equal(tasks.get('t0 nrs').status, 'requested', 'only the Task of that Questionnaire');

    await respond(app, nrsResponse('Patient/p1', 6, { authored: '2025-02-10' }));
    tasks = await tasksOf(app, 'p1');
    t.equal(tasks.get('halfway nrs').status, 'completed', 'the window that holds the authored date');
    t.equal(tasks.get('t0 nrs').status, 'requested');

    await respond(app, pdiResponse('Patient/p1', [4, 4, 4, 4, 4, 4, 4], { authored: '2025-04-30' }));
    const outside = await tasksOf(app, 'p1');
    t.same([...outside.values()].filter((x) => x.status === 'completed').length, 2, 'a response outside every window completes nothing');

    const draft = await respond(app, pdiResponse('Patient/p1', [3, 3, 3, null, null, null, null], { authored: '2025-03-20', status: 'in-progress' }));
    t.equal((await tasksOf(app, 'p1')).get('end pdi').status, 'requested', 'an unfinished response completes nothing');
    const finished = await request({
      method: 'PUT',
      url: `/fhir/QuestionnaireResponse/${draft.id}`,
      body: pdiResponse('Patient/p1', [3, 3, 3, 3, 3, 3, 3], { id: draft.id, authored: '2025-03-20' }),
    });
    t.equal(finished.statusCode, 200);
    t.equal((await tasksOf(app, 'p1')).get('end pdi').status, 'completed', 'completing it later does');

    const byOutput = await search(app, `Task?output=QuestionnaireResponse/${pdi.id}`);
    t.same(byOutput.ids, [tasks.get('t0 pdi').id], 'Task?output= finds the Task a response completed');

    const error = await request({ method: 'PUT', url: `/fhir/QuestionnaireResponse/${pdi.id}`, body: { ...pdi, status: 'entered-in-error' } });
    t.equal(error.statusCode, 200);
    const reopened = (await tasksOf(app, 'p1')).get('t0 pdi');
    t.equal(reopened.status, 'requested', 'a response entered in error reopens its Task');
    t.notOk(reopened.output);
  });

  t.test('overdue measurements are a plain Task search', async (t) => {
    const overdue = await search(app, 'Task?subject=Patient/p1&status=requested&restriction-period=eb2025-05-01&_sort=restriction-period');
    const tasks = await tasksOf(app, 'p1');
    t.same(overdue.ids, ['t0 pdi', 't0 nrs', 'halfway pdi', 'end nrs'].map((k) => tasks.get(k).id), 'windows that closed before 1 May 2025, still requested');
    const dueNow = await search(app, 'Task?subject=Patient/p1&status=requested&restriction-period=ap2025-06-15');
    t.ok(dueNow.ids.includes(tasks.get('follow-up-3m pdi').id));
  });

  t.test('of overlapping windows the earliest is completed first', async (t) => {
    await patient(app, 'p2', '999911144');
    // Three weeks: T0 2024-12-23..2025-01-20, halfway (day 11) 2025-01-03..2025-01-31, end 2025-01-13..2025-02-10.
    await put(app, carePlan('cp2', 'p2', '2025-01-06', '2025-01-27'));
    t.equal((await apply(app, 'p2', 'cp2')).statusCode, 200);
    for (const day of ['2025-01-14', '2025-01-15', '2025-01-16']) {
      await respond(app, pdiResponse('Patient/p2', [1, 1, 1, 1, 1, 1, 1], { authored: day }));
    }
    const tasks = await tasksOf(app, 'p2');
    t.same(['t0 pdi', 'halfway pdi', 'end pdi'].map((k) => tasks.get(k).status), ['completed', 'completed', 'completed']);
    t.equal(tasks.get('halfway pdi').restriction.period.start, '2025-01-03');
  });

  t.test('cancelled schedules can be made again; operators add instruments as data', async (t) => {
    for (const task of (await tasksOf(app, 'p2')).values()) {
      await put(app, { ...task, status: 'cancelled' });
    }
    t.equal((await apply(app, 'p2', 'cp2')).statusCode, 200, 'after cancelling, the treatment can be scheduled again');

    await put(app, {
      resourceType: 'Questionnaire',
      id: 'slaap-1',
      url: 'http://schakel.test/fhir/Questionnaire/slaap',
      version: '1',
      status: 'active',
      item: [{ linkId: 'slaap', text: 'Hoe slaapt u?', type: 'integer' }],
    });
    const ndp = (await request({ method: 'GET', url: '/fhir/PlanDefinition/ndp-1.0.0' })).json();
    const { id: _id, meta: _meta, ...plus } = structuredClone(ndp);
    plus.url = 'http://schakel.test/fhir/PlanDefinition/ndp-plus';
    plus.action[1].action.push({ title: 'Slaap', definitionCanonical: 'http://schakel.test/fhir/Questionnaire/slaap|1' });
    const created = (await request({ method: 'POST', url: '/fhir/PlanDefinition', body: plus })).json();
    await patient(app, 'p3', '999911156');
    await put(app, carePlan('cp3', 'p3', '2025-09-01', '2025-11-24'));
    const group = (await apply(app, 'p3', 'cp3', created.id)).json();
    t.same(group.action.map((a: any) => a.action.length), [3, 2, 2, 1, 1], 'the added instrument is scheduled at T0');
    const sleep = await search(app, 'Task?subject=Patient/p3&focus=Questionnaire/slaap-1');
    t.equal(sleep.ids.length, 1);
  });
});
