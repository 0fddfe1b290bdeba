/**
 * Task/$claim: a referral addressed to a discipline only gets a claim code that only the requester
 * side sees; a practice of that discipline claims it with the code and the patient's BSN and becomes
 * its owner. Wrong code and wrong BSN get the same answer, a client is throttled after 5 refusals in
 * 15 minutes, and every attempt is audited.
 */
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { careScenario, ORGS, ROLES } from '../helpers/care-scenario.js';
import type { Json } from '../helpers/search.js';

const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';
const ROLE = 'urn:oid:2.16.840.1.113883.2.4.15.111';
const CLAIM = 'http://schakel.nl/fhir/NamingSystem/referral-claim-code';
const PATIENT_BSN = '999911120';
const OTHER_BSN = '999900018';

type Who = 'gp' | 'physio' | 'nurse' | 'rehab' | 'admin' | 'auditor';

async function openReferral(app: TestApp, n: string): Promise<void> {
  const write = async (resource: Json) => {
    const response = await app.request({ method: 'PUT', url: `/fhir/${resource.resourceType as string}/${resource.id as string}`, body: resource, as: 'gp' });
    if (response.statusCode >= 300) {
      throw new Error(`${response.statusCode} ${response.body}`);
    }
  };
  await write({
    resourceType: 'ServiceRequest',
    id: `sr-${n}`,
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p-claim', identifier: { system: BSN, value: PATIENT_BSN } },
    requester: { reference: `PractitionerRole/${ROLES.gp}` },
    performerType: { coding: [{ system: ROLE, code: '04.000', display: 'Fysiotherapeut' }] },
  });
  await write({
    resourceType: 'Task',
    id: `task-${n}`,
    status: 'requested',
    intent: 'order',
    focus: { reference: `ServiceRequest/sr-${n}` },
    for: { reference: 'Patient/p-claim' },
    requester: { reference: `PractitionerRole/${ROLES.gp}` },
  });
}

const claimCodes = (task: Json): string[] => (task.identifier ?? []).filter((i: Json) => i.system === CLAIM).map((i: Json) => String(i.value));

t.test(`claiming an open referral on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  await app.request({
    method: 'PUT',
    url: '/fhir/Patient/p-claim',
    body: { resourceType: 'Patient', id: 'p-claim', identifier: [{ system: BSN, value: PATIENT_BSN }], managingOrganization: { reference: `Organization/${ORGS.gp}` } },
  });
  const get = (as: Who, url: string) => app.request({ method: 'GET', url: `/fhir/${url}`, as });
  const claim = (as: Who, code: string, patient: string) =>
    app.request({
      method: 'POST',
      url: '/fhir/Task/$claim',
      as,
      body: { resourceType: 'Parameters', parameter: [{ name: 'code', valueString: code }, { name: 'patient', valueString: patient }] },
    });
  const audited = async (): Promise<number> => (await get('auditor', 'AuditEvent?subtype=operation&_summary=count')).json().total;
  await openReferral(app, '1');
  await openReferral(app, '2');

  const [code] = claimCodes((await get('gp', 'Task/task-1')).json());
  t.match(code, /^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$/, 'the requester sees an 8-character code without look-alikes');
  t.equal(claimCodes((await get('admin', 'Task/task-1')).json()).length, 1, 'so does the integration engine');
  const [other] = claimCodes((await get('gp', 'Task/task-2')).json());
  t.not(code, other, 'each referral its own code');
  t.equal((await get('physio', 'Task/task-1')).statusCode, 404, 'before the claim the physiotherapist sees nothing');
  const code1 = code as string;

  await t.test('the CapabilityStatement lists $claim', async (t) => {
    const metadata = (await app.request({ method: 'GET', url: '/fhir/metadata' })).json();
    const task = metadata.rest[0].resource.find((r: Json) => r.type === 'Task');
    t.ok(task.operation.some((o: Json) => o.name === 'claim' && o.definition === 'http://schakel.nl/fhir/OperationDefinition/Task-claim'));
  });

  await t.test('wrong code and wrong BSN get the same answer; wrong discipline is refused', async (t) => {
    const before = await audited();
    const wrongCode = await claim('physio', code1 === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA', PATIENT_BSN);
    const wrongBsn = await claim('physio', code1, OTHER_BSN);
    t.equal(wrongCode.statusCode, 404);
    t.same([wrongBsn.statusCode, wrongBsn.json().issue[0].code], [wrongCode.statusCode, wrongCode.json().issue[0].code], 'the same answer');
    const rehab = await claim('rehab', code1, PATIENT_BSN);
    t.equal(rehab.statusCode, 403, 'a rehabilitation physician may not take a physiotherapy referral');
    t.equal(rehab.json().issue[0].code, 'forbidden');
    t.equal((await get('admin', 'Task/task-1')).json().owner, undefined, 'nothing was claimed');
    t.equal(await audited(), before + 3, 'every attempt is audited');
    const refused = (await get('auditor', 'AuditEvent?subtype=operation&outcome=4&_summary=count')).json().total;
    t.ok(refused >= 3, 'as a failure');
  });

  await t.test('the right code and BSN make the practice the owner', async (t) => {
    const typed = `${code1.slice(0, 4).toLowerCase()}-${code1.slice(4)}`;
    const claimed = await claim('physio', typed, `${BSN}|${PATIENT_BSN}`);
    t.equal(claimed.statusCode, 200);
    t.same(claimed.json().owner, { reference: `Organization/${ORGS.physio}` });
    t.same(claimCodes(claimed.json()), [], 'the new owner does not see the code');
    const task = await get('physio', 'Task/task-1');
    t.equal(task.statusCode, 200, 'the owner now reads the Task');
    t.same(claimCodes(task.json()), []);
    t.equal((await get('physio', 'ServiceRequest/sr-1')).statusCode, 200, 'and the referral');
    const search = (await get('physio', `Task?_id=task-1,task-2&_include=Task:focus`)).json();
    t.notOk(JSON.stringify(search).includes(CLAIM), 'no code in search results either');
    for (const url of ['Task/task-1/_history', 'Task/task-1/_history/2', 'Patient/p-claim/$everything']) {
      const answer = await get('physio', url);
      t.equal(answer.statusCode, 200, url);
      t.notOk(answer.body.includes(CLAIM), `nor in ${url}`);
    }
    t.same(claimCodes((await get('gp', 'Task/task-1')).json()), [code1], 'the requester still does');
    const received = await app.request({ method: 'PUT', url: '/fhir/Task/task-1', as: 'physio', body: { ...task.json<Json>(), status: 'received' } });
    t.equal(received.statusCode, 200, 'and the owner moves it on');
    t.same(claimCodes((await get('gp', 'Task/task-1')).json()), [code1], 'an update without the code it could not see keeps it');
    t.equal((await claim('nurse', code1, PATIENT_BSN)).statusCode, 404, 'a spent code claims nothing');
  });

  await t.test('five refusals in 15 minutes, then 429', async (t) => {
    const [code2] = claimCodes((await get('gp', 'Task/task-2')).json());
    // The physiotherapy practice has had 2 refusals; 3 more reach the limit.
    for (let i = 0; i < 3; i++) {
      t.equal((await claim('physio', 'ZZZZZZZZ', PATIENT_BSN)).statusCode, 404);
    }
    const throttled = await claim('physio', code2 as string, PATIENT_BSN);
    t.equal(throttled.statusCode, 429, 'even the right code');
    t.equal(throttled.json().issue[0].code, 'throttled');
    t.equal((await get('admin', 'Task/task-2')).json().owner, undefined);
    const after = await audited();
    t.equal((await claim('physio', code2 as string, PATIENT_BSN)).statusCode, 429);
    t.equal(await audited(), after + 1, 'throttled attempts are audited too');
  });
});
