/**
 * Who owns what in a referral (src/domain/referral/referral-ownership.ts and
 * referral-task-fields.ts), over HTTP with the demo clients' tokens: the requester's organisation
 * owns the ServiceRequest; on the Task, requester/for/focus/basedOn/intent never change, the owner
 * works it (status, output, reassigning within its organisation), the requester may reassign it
 * while it is requested; a care-team member who is neither (the nurse) changes nothing. PUT, PATCH
 * and transaction Bundles alike.
 */
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import type { DemoName } from '../helpers/auth.js';
import { careScenario, ORGS, ROLES } from '../helpers/care-scenario.js';
import { assertIssue, issuesOf } from '../helpers/outcome.js';
import { put, type Json } from '../helpers/search.js';

type Op = { op: string; path: string; value?: unknown };

/** The elements a 403 names, without the resource type. */
function refusedElements(body: Json): string[] {
  return (body.issue as Json[]).flatMap((i: Json) => (i.expression ?? []) as string[]).sort();
}

t.test(`referral ownership on ${engine}`, async (t) => {
  const app: TestApp = await createTestApp(t);
  await careScenario(app);
  // A second physiotherapist of the same practice, to reassign the Task to.
  await put(app, { resourceType: 'Practitioner', id: 't-physio-pract-2', name: [{ family: 'Smit' }] });
  await put(app, {
    resourceType: 'PractitionerRole',
    id: 't-physio-role-2',
    practitioner: { reference: 'Practitioner/t-physio-pract-2' },
    organization: { reference: `Organization/${ORGS.physio}` },
  });

  let counter = 0;
  /** A referral from the GP to the physiotherapist for patient Visser (care team: GP, physio, nurse). */
  async function newReferral(): Promise<{ sr: string; task: string }> {
    counter++;
    const sr = `own-sr-${counter}`;
    const task = `own-task-${counter}`;
    await put(app, {
      resourceType: 'ServiceRequest',
      id: sr,
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/p-vis' },
      requester: { reference: `PractitionerRole/${ROLES.gp}` },
      performer: [{ reference: `PractitionerRole/${ROLES.physio}` }],
      reasonCode: [{ text: 'Lage rugpijn' }],
    });
    await put(app, {
      resourceType: 'Task',
      id: task,
      status: 'requested',
      intent: 'order',
      focus: { reference: `ServiceRequest/${sr}` },
      for: { reference: 'Patient/p-vis' },
      requester: { reference: `PractitionerRole/${ROLES.gp}` },
      owner: { reference: `PractitionerRole/${ROLES.physio}` },
      note: [{ text: 'Graag binnen twee weken' }],
    });
    return { sr, task };
  }
  const read = async (url: string): Promise<Json> => (await app.request({ method: 'GET', url: `/fhir/${url}` })).json();
  const putAs = async (as: DemoName, url: string, edit: (current: Json) => Json) =>
    app.request({ method: 'PUT', url: `/fhir/${url}`, as, body: edit(await read(url)) });
  const patchAs = (as: DemoName, url: string, ops: Op[]) =>
    app.request({ method: 'PATCH', url: `/fhir/${url}`, as, headers: { 'content-type': 'application/json-patch+json' }, body: JSON.stringify(ops) });
  const move = async (as: DemoName, task: string, status: string, extra: Json = {}) => {
    const response = await putAs(as, `Task/${task}`, (current) => ({ ...current, status, ...extra }));
    if (response.statusCode !== 200) {
      throw new Error(`${as} -> ${status}: ${response.statusCode} ${response.body}`);
    }
  };

  t.test('only the requesting organisation changes the referral', async (t) => {
    const { sr } = await newReferral();
    const rewritten = await putAs('physio', `ServiceRequest/${sr}`, (current) => ({ ...current, reasonCode: [{ text: 'Nekklachten' }] }));
    assertIssue(t, rewritten, 403, 'forbidden', 'ServiceRequest.reasonCode');
    const revoked = await patchAs('physio', `ServiceRequest/${sr}`, [{ op: 'replace', path: '/status', value: 'revoked' }]);
    assertIssue(t, revoked, 403, 'forbidden', 'ServiceRequest.status');
    const both = await putAs('physio', `ServiceRequest/${sr}`, (current) => ({ ...current, priority: 'urgent', reasonCode: [{ text: 'Nekklachten' }] }));
    t.equal(both.statusCode, 403);
    t.same(refusedElements(both.json()), ['ServiceRequest.priority', 'ServiceRequest.reasonCode'], 'every changed element is named');
    assertIssue(t, await patchAs('nurse', `ServiceRequest/${sr}`, [{ op: 'add', path: '/note', value: [{ text: 'Gezien' }] }]), 403, 'forbidden', 'ServiceRequest.note');
    const stored = await read(`ServiceRequest/${sr}`);
    t.equal(stored.meta.versionId, '1', 'nothing was written');
    t.same(stored.reasonCode, [{ text: 'Lage rugpijn' }]);

    t.equal((await putAs('physio', `ServiceRequest/${sr}`, (current) => current)).statusCode, 200, 'a write that changes nothing is no change');
    t.equal((await putAs('physio', `ServiceRequest/${sr}`, (current) => ({ ...current, text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Verwijzing</div>' } }))).statusCode, 200, 'the narrative is not content');
    t.equal((await putAs('gp', `ServiceRequest/${sr}`, (current) => ({ ...current, reasonCode: [{ text: 'Lage rugpijn, uitstralend' }] }))).statusCode, 200, 'the GP changes the reason');
    t.equal((await putAs('admin', `ServiceRequest/${sr}`, (current) => ({ ...current, priority: 'urgent' }))).statusCode, 200, "an integration engine relays the requester's system");
    t.equal((await patchAs('gp', `ServiceRequest/${sr}`, [{ op: 'replace', path: '/status', value: 'revoked' }])).statusCode, 200, 'the GP revokes it');
    t.equal((await read(`ServiceRequest/${sr}`)).status, 'revoked');
  });

  t.test('the status that follows the Task is written for the owner', async (t) => {
    const rejected = await newReferral();
    await move('physio', rejected.task, 'received');
    await move('physio', rejected.task, 'rejected', { statusReason: { text: 'Geen plek' } });
    t.equal((await read(`ServiceRequest/${rejected.sr}`)).status, 'revoked', 'rejected by the physio: the referral is revoked');

    const done = await newReferral();
    const feedback = await app.request({
      method: 'POST',
      url: '/fhir/Communication',
      as: 'physio',
      body: { resourceType: 'Communication', status: 'completed', basedOn: [{ reference: `ServiceRequest/${done.sr}` }], subject: { reference: 'Patient/p-vis' } },
    });
    t.equal(feedback.statusCode, 201);
    for (const status of ['received', 'accepted', 'in-progress']) {
      await move('physio', done.task, status);
    }
    await move('physio', done.task, 'completed', { output: [{ type: { text: 'Terugkoppeling' }, valueReference: { reference: `Communication/${feedback.json().id as string}` } }] });
    t.equal((await read(`ServiceRequest/${done.sr}`)).status, 'completed', 'completed by the physio: the referral is completed');
  });

  t.test('requester, for, focus, basedOn and intent never change, for anyone', async (t) => {
    const { task } = await newReferral();
    const other = await newReferral();
    const selfRequested = await patchAs('physio', `Task/${task}`, [{ op: 'replace', path: '/requester', value: { reference: `PractitionerRole/${ROLES.physio}` } }]);
    assertIssue(t, selfRequested, 403, 'forbidden', 'Task.requester');
    assertIssue(t, await putAs('gp', `Task/${task}`, (c) => ({ ...c, focus: { reference: `ServiceRequest/${other.sr}` } })), 403, 'forbidden', 'Task.focus');
    assertIssue(t, await patchAs('gp', `Task/${task}`, [{ op: 'add', path: '/basedOn', value: [{ reference: `ServiceRequest/${other.sr}` }] }]), 403, 'forbidden', 'Task.basedOn');
    assertIssue(t, await patchAs('admin', `Task/${task}`, [{ op: 'replace', path: '/intent', value: 'plan' }]), 403, 'forbidden', 'Task.intent');
    assertIssue(t, await putAs('admin', `Task/${task}`, (c) => ({ ...c, requester: { reference: `PractitionerRole/${ROLES.rehab}` } })), 403, 'forbidden', 'Task.requester');
    assertIssue(t, await putAs('physio', `Task/${task}`, (c) => ({ ...c, for: { reference: 'Patient/p-vis', display: 'Visser' } })), 403, 'forbidden', 'Task.for');
    t.equal((await read(`Task/${task}`)).meta.versionId, '1', 'nothing was written');
  });

  t.test('the owner works the Task; the requester and others do not', async (t) => {
    const { task } = await newReferral();
    const businessStatus = [{ op: 'add', path: '/businessStatus', value: { text: 'Intake gepland' } }];
    assertIssue(t, await patchAs('gp', `Task/${task}`, businessStatus), 403, 'forbidden', 'Task.businessStatus');
    assertIssue(t, await patchAs('nurse', `Task/${task}`, businessStatus), 403, 'forbidden', 'Task.businessStatus');
    t.equal((await patchAs('physio', `Task/${task}`, businessStatus)).statusCode, 200, 'the owner sets businessStatus');
    assertIssue(t, await putAs('nurse', `Task/${task}`, (c) => ({ ...c, status: 'received' })), 403, 'forbidden', 'Task.status');
    assertIssue(t, await putAs('physio', `Task/${task}`, (c) => ({ ...c, description: 'Andere vraag' })), 403, 'forbidden', 'Task.description');
    assertIssue(t, await patchAs('physio', `Task/${task}`, [{ op: 'add', path: '/restriction', value: { period: { end: '2027-01-01' } } }]), 403, 'forbidden', 'Task.restriction');
    t.equal((await patchAs('gp', `Task/${task}`, [{ op: 'add', path: '/restriction', value: { period: { end: '2027-01-01' } } }])).statusCode, 200, 'the requester sets restriction');
    assertIssue(t, await putAs('gp', `Task/${task}`, (c) => ({ ...c, status: 'received' })), 403, 'forbidden', 'Task.status');
    t.equal((await patchAs('admin', `Task/${task}`, [{ op: 'replace', path: '/businessStatus', value: { text: 'Intake gedaan' } }])).statusCode, 200, 'an integration engine may act as the owner');
    assertIssue(t, await patchAs('admin', `Task/${task}`, [{ op: 'add', path: '/description', value: 'Andere vraag' }]), 403, 'forbidden', 'Task.description');
  });

  t.test('notes: either party appends, nobody rewrites, others do not write', async (t) => {
    const { task } = await newReferral();
    t.equal((await patchAs('physio', `Task/${task}`, [{ op: 'add', path: '/note/-', value: { text: 'Intake volgende week' } }])).statusCode, 200, 'the owner appends');
    t.equal((await patchAs('gp', `Task/${task}`, [{ op: 'add', path: '/note/-', value: { text: 'Dank' } }])).statusCode, 200, 'the requester appends');
    assertIssue(t, await patchAs('physio', `Task/${task}`, [{ op: 'replace', path: '/note/0/text', value: 'Geen haast' }]), 403, 'forbidden', 'Task.note');
    assertIssue(t, await patchAs('gp', `Task/${task}`, [{ op: 'remove', path: '/note/1' }]), 403, 'forbidden', 'Task.note');
    assertIssue(t, await patchAs('nurse', `Task/${task}`, [{ op: 'add', path: '/note/-', value: { text: 'Ook gezien' } }]), 403, 'forbidden', 'Task.note');
    t.same((await read(`Task/${task}`)).note.map((n: Json) => n.text), ['Graag binnen twee weken', 'Intake volgende week', 'Dank']);
  });

  t.test('the owner reassigns within its organisation only', async (t) => {
    const { task } = await newReferral();
    const owner = (reference: string): Op[] => [{ op: 'replace', path: '/owner', value: { reference } }];
    assertIssue(t, await patchAs('physio', `Task/${task}`, owner(`PractitionerRole/${ROLES.rehab}`)), 403, 'forbidden', 'Task.owner');
    await move('physio', task, 'received');
    await move('physio', task, 'accepted');
    t.equal((await patchAs('physio', `Task/${task}`, owner('PractitionerRole/t-physio-role-2'))).statusCode, 200, 'to a colleague in the practice');
    t.equal((await patchAs('physio', `Task/${task}`, owner('Practitioner/t-physio-pract-2'))).statusCode, 200, 'to a practitioner of the practice');
    const started = await patchAs('physio', `Task/${task}`, [{ op: 'replace', path: '/status', value: 'in-progress' }]);
    t.equal(started.statusCode, 200, "a colleague of the practitioner's organisation acts as the owner");
    assertIssue(t, await patchAs('physio', `Task/${task}`, owner(`PractitionerRole/${ROLES.rehab}`)), 403, 'forbidden', 'Task.owner');
    assertIssue(t, await putAs('physio', `Task/${task}`, (c) => ({ ...c, owner: { reference: `Organization/${ORGS.nurse}` } })), 403, 'forbidden', 'Task.owner');
    assertIssue(t, await patchAs('nurse', `Task/${task}`, owner(`PractitionerRole/${ROLES.nurse}`)), 403, 'forbidden', 'Task.owner');
    assertIssue(t, await patchAs('admin', `Task/${task}`, owner(`PractitionerRole/${ROLES.rehab}`)), 403, 'forbidden', 'Task.owner');
    t.equal((await read(`Task/${task}`)).owner.reference, 'Practitioner/t-physio-pract-2');
  });

  t.test('the requester reassigns while requested, not after', async (t) => {
    const { task } = await newReferral();
    const owner = (reference: string): Op[] => [{ op: 'replace', path: '/owner', value: { reference } }];
    t.equal((await patchAs('gp', `Task/${task}`, owner(`PractitionerRole/${ROLES.rehab}`))).statusCode, 200, 'to the rehabilitation physician');
    t.equal((await putAs('gp', `Task/${task}`, (c) => ({ ...c, owner: { reference: `PractitionerRole/${ROLES.physio}` } }))).statusCode, 200, 'and back');
    await move('physio', task, 'received');
    await move('physio', task, 'accepted');
    assertIssue(t, await patchAs('gp', `Task/${task}`, owner(`PractitionerRole/${ROLES.rehab}`)), 403, 'forbidden', 'Task.owner');
    assertIssue(t, await putAs('gp', `Task/${task}`, (c) => ({ ...c, owner: { reference: `PractitionerRole/${ROLES.rehab}` } })), 403, 'forbidden', 'Task.owner');
    t.equal((await read(`Task/${task}`)).owner.reference, `PractitionerRole/${ROLES.physio}`);
  });

  t.test('a transaction Bundle entry that breaks a rule refuses the whole transaction', async (t) => {
    const { sr, task } = await newReferral();
    const observationCount = async (): Promise<number> => (await read('Observation?subject=Patient/p-vis&_summary=count')).total as number;
    const observationsBefore = await observationCount();
    const current = await read(`Task/${task}`);
    const referral = await read(`ServiceRequest/${sr}`);
    const bundle = (entry: Json) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'Tussendoor' }, subject: { reference: 'Patient/p-vis' } }, request: { method: 'POST', url: 'Observation' } },
        entry,
      ],
    });
    const taken = await app.request({
      method: 'POST',
      url: '/fhir',
      as: 'physio',
      body: bundle({ resource: { ...current, requester: { reference: `PractitionerRole/${ROLES.physio}` } }, request: { method: 'PUT', url: `Task/${task}` } }),
    });
    assertIssue(t, taken, 403, 'forbidden', 'Bundle.entry[1].resource.requester');
    const rewritten = await app.request({
      method: 'POST',
      url: '/fhir',
      as: 'physio',
      body: bundle({ resource: { ...referral, reasonCode: [{ text: 'Nekklachten' }] }, request: { method: 'PUT', url: `ServiceRequest/${sr}` } }),
    });
    assertIssue(t, rewritten, 403, 'forbidden', 'Bundle.entry[1].resource.reasonCode');
    t.equal((await read(`Task/${task}`)).meta.versionId, '1', 'the Task is unchanged');
    t.equal((await read(`ServiceRequest/${sr}`)).meta.versionId, '1', 'the referral is unchanged');
    t.equal(await observationCount(), observationsBefore, 'nothing else of either Bundle was written');
    t.ok(issuesOf(taken).every((i) => i.code === 'forbidden'), 'only the rule answers');
  });
});
