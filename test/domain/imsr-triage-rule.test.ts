/**
 * A referral to interdisciplinary rehabilitation (IMSR: WPN 3 or 4) needs a triage that shows
 * primary care was tried (src/domain/referral/imsr-triage-rule.ts), over HTTP: refused with 422
 * naming the missing items, let through by a complete triage or a documented deviation, never
 * asked of a WPN 1-2 referral or of a referral that asks for the triage, and off with
 * IMSR_REQUIRES_TRIAGE=false.
 */
import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { loadWorld, referral, ROLE, SD, write } from '../helpers/care.js';
import { issuesOf } from '../helpers/outcome.js';
import type { Json } from '../helpers/search.js';
import { addRehabPhysician, deviation, painTriage, TRIAGE } from '../helpers/triage.js';

const wpn = (level: number) => [{ url: `${SD}wpn-level`, valueInteger: level }];

/** The GP's referral that asks the rehabilitation physician for the triage. */
const triageRequest = () =>
  referral({
    extension: wpn(3),
    code: { coding: [{ system: TRIAGE, code: 'triage-request' }] },
    performerType: { coding: [{ system: ROLE, code: '01.042' }] },
    performer: [{ reference: 'PractitionerRole/rehab' }],
  });

/** The rehabilitation physician's referral to IMSR, based on the triaged referral. */
const imsrReferral = (basedOn: string, level = 3, overrides: Json = {}) =>
  referral({
    extension: wpn(level),
    basedOn: [{ reference: `ServiceRequest/${basedOn}` }],
    requester: { reference: 'PractitionerRole/rehab' },
    performerType: { coding: [{ system: ROLE, code: '01.042' }] },
    performer: [{ reference: 'PractitionerRole/rehab' }],
    code: { text: 'Interdisciplinaire pijnrevalidatie' },
    ...overrides,
  });

async function setUp(t: Test, overrides: Record<string, string> = {}): Promise<TestApp> {
  const app = await createTestApp(t, overrides);
  await loadWorld(app);
  await addRehabPhysician(app);
  return app;
}

/** 422 whose business-rule issues name exactly these pain-triage codes, in details.coding and diagnostics. */
function assertMissing(t: Test, response: LightMyRequestResponse, items: string[]): void {
  t.equal(response.statusCode, 422, 'refused with 422');
  const issues = issuesOf(response) as Array<{ code: string; diagnostics?: string; details?: { coding?: Array<{ system?: string; code?: string }> } }>;
  t.ok(issues.every((i) => i.code === 'business-rule'), 'business-rule issues');
  t.same(issues.map((i) => i.details?.coding?.find((c) => c.system === TRIAGE)?.code).sort(), [...items].sort(), `missing: ${items.join(', ')}`);
  t.same(issues.map((i) => i.diagnostics).sort(), [...items].sort(), 'diagnostics name the items');
}

t.test(`IMSR needs a triage that shows primary care was tried, on ${engine}`, async (t) => {
  const app = await setUp(t);
  const post = (body: Json) => app.request({ method: 'POST', url: `/fhir/${body.resourceType as string}`, body });
  const triaged = async () => (await write(app, triageRequest())).id as string;
  const stored = async (basedOn: string) =>
    ((await app.request({ method: 'GET', url: `/fhir/ServiceRequest?based-on=ServiceRequest/${basedOn}` })).json().entry ?? []).length as number;

  t.test('a referral that asks for the triage needs none', async (t) => {
    t.equal((await post(triageRequest())).statusCode, 201);
  });

  t.test('refused without a triage, every item named', async (t) => {
    const id = await triaged();
    assertMissing(t, await post(imsrReferral(id)), ['triage', 'professionals-involved', 'pain-education', 'activities-participation', 'decision']);
    assertMissing(t, await post(imsrReferral(id, 4)), ['triage', 'professionals-involved', 'pain-education', 'activities-participation', 'decision']);
    t.equal(await stored(id), 0, 'nothing stored');
  });

  t.test('refused with a triage that lacks items, naming what it lacks', async (t) => {
    const id = await triaged();
    await write(app, painTriage(id, { education: false }));
    assertMissing(t, await post(imsrReferral(id)), ['pain-education']);
    const other = await triaged();
    await write(app, painTriage(other, { wpn: '2', professionals: false, disciplines: [], education: false, activities: false, decision: 'refer-back' }));
    assertMissing(t, await post(imsrReferral(other)), ['professionals-involved', 'pain-education', 'activities-participation', 'decision']);
    t.equal((await stored(id)) + (await stored(other)), 0, 'nothing stored');
  });

  t.test('a preliminary triage or one of another patient does not count', async (t) => {
    const id = await triaged();
    await write(app, painTriage(id, {}, { status: 'preliminary' }));
    await write(app, painTriage(id, {}, { subject: { reference: 'Patient/pat-2' } }));
    assertMissing(t, await post(imsrReferral(id)), ['triage', 'professionals-involved', 'pain-education', 'activities-participation', 'decision']);
  });

  t.test('accepted with a complete triage', async (t) => {
    const id = await triaged();
    await write(app, painTriage(id));
    const created = await post(imsrReferral(id));
    t.equal(created.statusCode, 201);
    t.equal(await stored(id), 1, 'the referral to IMSR is stored');
  });

  t.test('accepted with a triage on the referral itself, in one transaction with it', async (t) => {
    const referralUrn = 'urn:uuid:1d3c3f0e-6a55-4a57-9e8e-4f1b7c2d9a01';
    const triage = painTriage('x', { wpn: '4', decision: 'imsr-clinical' }, { basedOn: [{ reference: referralUrn }] });
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:1d3c3f0e-6a55-4a57-9e8e-4f1b7c2d9a02', resource: triage, request: { method: 'POST', url: 'Observation' } },
        { fullUrl: referralUrn, resource: referral({ extension: wpn(4), requester: { reference: 'PractitionerRole/rehab' } }), request: { method: 'POST', url: 'ServiceRequest' } },
      ],
    };
    const response = await app.request({ method: 'POST', url: '/fhir', body: bundle });
    t.equal(response.statusCode, 200, 'transaction committed');
    t.same(response.json().entry.map((e: { response: { status: string } }) => e.response.status.slice(0, 3)), ['201', '201']);
  });

  t.test('accepted with a deviation from the team\'s advice, documented with its reason', async (t) => {
    const id = await triaged();
    await write(app, painTriage(id, { education: false, activities: false, deviation: deviation('Pijneducatie en werkhervatting volgen in het IMSR-programma') }));
    t.equal((await post(imsrReferral(id))).statusCode, 201);
  });

  t.test('a WPN 1 or 2 referral (primary care) is never affected', async (t) => {
    for (const level of [1, 2]) {
      t.equal((await post(referral({ extension: wpn(level) }))).statusCode, 201, `WPN ${level} without a triage`);
    }
    t.equal((await post(referral())).statusCode, 201, 'a referral without WPN level');
  });

  t.test('checked when a referral becomes one to IMSR, not on later updates', async (t) => {
    const id = await triaged();
    const draft = await write(app, imsrReferral(id, 3, { status: 'draft' }));
    const activate = await app.request({ method: 'PUT', url: `/fhir/ServiceRequest/${draft.id as string}`, body: { ...draft, status: 'active' } });
    assertMissing(t, activate, ['triage', 'professionals-involved', 'pain-education', 'activities-participation', 'decision']);
    const level2 = await write(app, imsrReferral(id, 2));
    const raise = await app.request({ method: 'PUT', url: `/fhir/ServiceRequest/${level2.id as string}`, body: { ...level2, extension: wpn(3) } });
    t.equal(raise.statusCode, 422, 'raising the WPN level to 3 without a triage');
    await write(app, painTriage(id));
    const raised = await write(app, { ...level2, extension: wpn(3) });
    t.equal((await app.request({ method: 'PUT', url: `/fhir/ServiceRequest/${raised.id as string}`, body: { ...raised, note: [{ text: 'Intake gepland' }] } })).statusCode, 200, 'an update of a referral to IMSR');
  });
});

t.test(`IMSR_REQUIRES_TRIAGE=false switches the rule off, on ${engine}`, async (t) => {
  const app = await setUp(t, { IMSR_REQUIRES_TRIAGE: 'false' });
  const id = (await write(app, triageRequest())).id as string;
  const created = await app.request({ method: 'POST', url: '/fhir/ServiceRequest', body: imsrReferral(id) });
  t.equal(created.statusCode, 201, 'a referral to IMSR without a triage');
});
