/**
 * The Referral, Referral Task and Feedback profiles (profiles/referral*.json, feedback.json, docs/care-workflows.md):
 * a valid and an invalid example for every invariant and every constraint that spans elements,
 * over HTTP. Invalid examples break one rule of an otherwise valid resource.
 */
import t from 'tap';
import { uniqueBsn } from '../helpers/referral.js';
import { createTestApp, engine } from '../helpers/app.js';
import {
  assertInvariant,
  BSN_SYSTEM,
  feedback,
  feedbackOutput,
  loadWorld,
  OTHER_BSN,
  PATIENT_BSN,
  referral,
  referralTask,
  SD,
  write,
} from '../helpers/care.js';
import { assertIssue, issuesOf } from '../helpers/outcome.js';
import type { Json } from '../helpers/search.js';

t.test(`Referral, Referral Task and Feedback profiles on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await loadWorld(app);
  const post = (body: Json) => app.request({ method: 'POST', url: `/fhir/${body.resourceType as string}`, body });
  const validate = async (body: Json) => {
    const response = await app.request({ method: 'POST', url: `/fhir/${body.resourceType as string}/$validate`, body });
    return issuesOf(response).filter((i) => i.severity === 'error');
  };
  const without = (body: Json, key: string) => {
    const { [key]: _dropped, ...rest } = body;
    return rest;
  };

  t.test('Referral (ServiceRequest)', async (t) => {
    t.equal((await post(referral())).statusCode, 201, 'a complete referral');
    t.equal((await post(referral({ performer: undefined }))).statusCode, 201, 'a requested discipline without a named performer');
    t.equal(
      (await post(referral({ reasonCode: undefined, contained: [{ resourceType: 'Condition', id: 'r', subject: { reference: 'Patient/pat-1' }, code: { text: 'Pijn' } }], reasonReference: [{ reference: '#r' }] }))).statusCode,
      201,
      'a reason by reference'
    );
    // Asking for the triage: a referral to IMSR (WPN 3-4) also needs a triage (test/domain/imsr-triage-rule.test.ts).
    const asksForTriage = { coding: [{ system: 'http://schakel.nl/fhir/CodeSystem/pain-triage', code: 'triage-request' }] };
    for (const level of [1, 4]) {
      t.equal((await post(referral({ extension: [{ url: `${SD}wpn-level`, valueInteger: level }], code: asksForTriage }))).statusCode, 201, `WPN level ${level}`);
    }
    t.equal((await post(referral({ subject: { identifier: { system: BSN_SYSTEM, value: PATIENT_BSN } } }))).statusCode, 201, 'a patient by BSN only');

    assertInvariant(t, await post(referral({ subject: { reference: 'Patient/pat-1' } })), 'sch-ref-1', 'ServiceRequest');
    assertInvariant(t, await post(referral({ subject: { reference: 'Patient/pat-1', identifier: { system: 'urn:oid:2.16.840.1.113883.2.4.6.3', value: PATIENT_BSN } } })), 'sch-ref-1', 'ServiceRequest');
    assertInvariant(t, await post(referral({ subject: { reference: 'Patient/pat-1', identifier: { system: BSN_SYSTEM, value: '999911121' } } })), 'sch-ref-2', 'ServiceRequest');
    assertInvariant(t, await post(referral({ subject: { reference: 'Patient/pat-1', identifier: { system: BSN_SYSTEM, value: '99991112' } } })), 'sch-ref-2', 'ServiceRequest');
    assertInvariant(t, await post(referral({ performer: undefined, performerType: undefined })), 'sch-ref-3', 'ServiceRequest');
    assertInvariant(t, await post(referral({ reasonCode: undefined })), 'sch-ref-4', 'ServiceRequest');
    for (const extension of [{ valueInteger: 0 }, { valueInteger: 5 }, { valueString: '3' }]) {
      assertInvariant(t, await post(referral({ extension: [{ url: `${SD}wpn-level`, ...extension }] })), 'sch-ref-5', 'ServiceRequest');
    }
    // sch-ref-6 needs the Patient: Schakel checks it in the write's transaction.
    assertInvariant(t, await post(referral({ subject: { reference: 'Patient/pat-1', identifier: { system: BSN_SYSTEM, value: OTHER_BSN } } })), 'sch-ref-6', 'ServiceRequest.subject.identifier');

    assertIssue(t, await post(without(referral(), 'requester')), 422, 'structure', 'ServiceRequest.requester');
    assertIssue(t, await post(without(referral(), 'priority')), 422, 'structure', 'ServiceRequest.priority');
    assertIssue(t, await post(without(referral(), 'authoredOn')), 422, 'structure', 'ServiceRequest.authoredOn');
    assertIssue(t, await post(referral({ intent: 'plan' })), 422, 'structure', 'ServiceRequest.intent');
    assertIssue(t, await post(referral({ category: [{ text: 'verwijzing' }] })), 422, 'structure', 'ServiceRequest.category');
    const twice = { url: `${SD}wpn-level`, valueInteger: 2 };
    assertIssue(t, await post(referral({ extension: [twice, twice] })), 422, 'structure', 'ServiceRequest.extension');
  });

  t.test('sch-ref-6 inside a transaction, with the Patient after the referral', async (t) => {
    const bundle = (bsn: string, patientBsn = bsn) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:5d1e7b7e-0f6a-4f55-9f1e-3f6f7a1b2c01', resource: referral({ subject: { reference: 'urn:uuid:5d1e7b7e-0f6a-4f55-9f1e-3f6f7a1b2c02', identifier: { system: BSN_SYSTEM, value: bsn } } }), request: { method: 'POST', url: 'ServiceRequest' } },
        { fullUrl: 'urn:uuid:5d1e7b7e-0f6a-4f55-9f1e-3f6f7a1b2c02', resource: { resourceType: 'Patient', identifier: [{ system: BSN_SYSTEM, value: patientBsn }] }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    t.equal((await app.request({ method: 'POST', url: '/fhir', body: bundle('999900031') })).statusCode, 200, 'the BSNs agree');
    assertInvariant(t, await app.request({ method: 'POST', url: '/fhir', body: bundle('999900043', uniqueBsn()) }), 'sch-ref-6', 'Bundle.entry[0].resource.subject.identifier');
  });

  t.test('Referral Task', async (t) => {
    const sr = await write(app, { ...referral(), id: 'ref-task-profile' });
    t.equal((await post(referralTask(sr.id))).statusCode, 201, 'a requested Task without an owner yet');
    t.same(await validate(referralTask(sr.id, { status: 'received', owner: { reference: 'PractitionerRole/physio' } })), [], 'received with an owner');
    t.same(await validate(referralTask(sr.id, { status: 'rejected', owner: { reference: 'PractitionerRole/physio' }, statusReason: { text: 'Wachtlijst te lang' } })), [], 'rejected with a reason');
    const fb = await write(app, feedback(sr.id));
    t.same(await validate(referralTask(sr.id, { status: 'completed', owner: { reference: 'PractitionerRole/physio' }, output: feedbackOutput(fb.id) })), [], 'completed with feedback');

    assertInvariant(t, await post(referralTask(sr.id, { status: 'received' })), 'sch-task-1', 'Task');
    assertInvariant(t, await post(referralTask(sr.id, { status: 'rejected', owner: { reference: 'PractitionerRole/physio' } })), 'sch-task-2', 'Task');
    assertInvariant(t, await post(referralTask(sr.id, { status: 'completed', owner: { reference: 'PractitionerRole/physio' } })), 'sch-task-3', 'Task');
    assertInvariant(
      t,
      await post(referralTask(sr.id, { status: 'completed', owner: { reference: 'PractitionerRole/physio' }, output: [{ type: { text: 'verslag' }, valueReference: { reference: 'Patient/pat-1' } }] })),
      'sch-task-3',
      'Task'
    );
    // sch-task-4 needs the referral: Schakel checks it in the write's transaction.
    assertInvariant(t, await post(referralTask(sr.id, { for: { reference: 'Patient/pat-2' } })), 'sch-task-4', 'Task.for');
    assertIssue(t, await post(without(referralTask(sr.id), 'focus')), 422, 'structure', 'Task.focus');
    assertIssue(t, await post(without(referralTask(sr.id), 'requester')), 422, 'structure', 'Task.requester');
    assertIssue(t, await post(referralTask(sr.id, { intent: 'plan' })), 422, 'structure', 'Task.intent');
  });

  t.test('Feedback (Communication)', async (t) => {
    const sr = await write(app, { ...referral(), id: 'ref-feedback-profile' });
    t.equal((await post(feedback(sr.id))).statusCode, 201, 'text feedback');
    t.equal((await post(feedback(sr.id, { payload: [{ contentAttachment: { contentType: 'application/pdf', title: 'Eindverslag', url: 'https://example.org/verslag.pdf' } }] }))).statusCode, 201, 'an attached report');
    assertInvariant(t, await post(feedback(sr.id, { basedOn: [{ reference: 'CarePlan/nope' }] })), 'sch-fb-1', 'Communication');
    assertInvariant(t, await post(feedback(sr.id, { payload: [{ contentReference: { reference: 'Patient/pat-1' } }] })), 'sch-fb-2', 'Communication');
    assertIssue(t, await post(without(feedback(sr.id), 'sender')), 422, 'structure', 'Communication.sender');
    assertIssue(t, await post(without(feedback(sr.id), 'sent')), 422, 'structure', 'Communication.sent');
    assertIssue(t, await post(without(feedback(sr.id), 'recipient')), 422, 'structure', 'Communication.recipient');
  });

  t.test('the profiles are listed and readable', async (t) => {
    const metadata = (await app.request({ method: 'GET', url: '/fhir/metadata' })).json();
    const profiles = (type: string): string[] => metadata.rest[0].resource.find((r: Json) => r.type === type)?.supportedProfile ?? [];
    t.ok(profiles('ServiceRequest').includes(`${SD}referral`));
    t.ok(profiles('Task').includes(`${SD}referral-task`));
    t.ok(profiles('Communication').includes(`${SD}feedback`));
    const wpn = await app.request({ method: 'GET', url: '/fhir/StructureDefinition/wpn-level' });
    t.equal(wpn.statusCode, 200, 'the WPN extension definition is readable');
    t.equal(wpn.json().type, 'Extension');
  });
});
