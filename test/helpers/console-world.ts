/**
 * The demo world of the console's browser tests, loaded through the API as an integration engine
 * would: the demo professionals' fixtures (rest-core-demo.json, workflow-*.json, as the seeding
 * loads them) and a pain treatment of Fatima El Amrani with its NDP schedule and first scores
 * (docs/outcome-questionnaires.md), dated relative to today so its moments are due, done and planned.
 */
import type { Test } from 'tap';
import { fixtureBundles } from '../../src/seed/fixtures.js';

export interface ApiAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export type Api = (path: string, token: string, init?: { method?: string; body?: unknown }) => Promise<ApiAnswer>;

/** The FHIR API of the server at `base`, JSON in and out. */
export function fhirApi(base: string): Api {
  return async (path, token, init = {}) => {
    const response = await fetch(`${base}/fhir/${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', ...(init.body !== undefined ? { 'content-type': 'application/fhir+json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
}

/** Loads the world; `admin` gives a fresh token of the integration engine for each write. */
export async function loadConsoleWorld(t: Test, api: Api, admin: () => Promise<string>): Promise<void> {
  for (const { file, bundle } of fixtureBundles().filter((f) => /^(rest-core|workflow-)/.test(f.file))) {
    const loaded = await api('', await admin(), { method: 'POST', body: bundle });
    t.equal(loaded.status, 200, `fixture ${file} loads`);
  }
  const token = await admin();
  const day = (offset: number): string => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const plan = { resourceType: 'CarePlan', id: 'pijn-el-amrani', status: 'active', intent: 'plan', subject: { reference: 'Patient/patient-el-amrani' }, period: { start: day(-60), end: day(10) } };
  t.equal((await api('CarePlan/pijn-el-amrani', token, { method: 'PUT', body: plan })).status, 201);
  const applied = await api('PlanDefinition/ndp-1.0.0/$apply?subject=Patient/patient-el-amrani&carePlan=CarePlan/pijn-el-amrani', token, { method: 'POST', body: { resourceType: 'Parameters' } });
  t.equal(applied.status, 200, 'the NDP schedule is made');
  const pdi = (values: number[]) => values.map((v, i) => ({ linkId: `pdi-${i + 1}`, answer: [{ valueInteger: v }] }));
  const nrs = (value: number) => [{ linkId: 'nrs-pijn', answer: [{ valueInteger: value }] }];
  const responses = [
    { id: 'qr-el-amrani-t0-pdi', questionnaire: 'http://schakel.nl/fhir/Questionnaire/pdi|1.0.0', authored: `${day(-58)}T10:00:00+01:00`, item: pdi([6, 5, 6, 5, 4, 6, 5]) },
    { id: 'qr-el-amrani-t0-nrs', questionnaire: 'http://schakel.nl/fhir/Questionnaire/nrs-pijn|1.0.0', authored: `${day(-58)}T10:05:00+01:00`, item: nrs(7) },
    { id: 'qr-el-amrani-mid-pdi', questionnaire: 'http://schakel.nl/fhir/Questionnaire/pdi|1.0.0', authored: `${day(-25)}T10:00:00+01:00`, item: pdi([4, 3, 4, 3, 3, 4, 3]) },
    { id: 'qr-el-amrani-mid-nrs', questionnaire: 'http://schakel.nl/fhir/Questionnaire/nrs-pijn|1.0.0', authored: `${day(-25)}T10:05:00+01:00`, item: nrs(4) },
  ];
  for (const { id, ...response } of responses) {
    const body = { resourceType: 'QuestionnaireResponse', id, status: 'completed', subject: { reference: 'Patient/patient-el-amrani' }, ...response };
    t.equal((await api(`QuestionnaireResponse/${id}`, token, { method: 'PUT', body })).status, 201, `response ${id} stored`);
  }
}

/** A new referral from the demo GP to the demo physiotherapist (docs/care-workflows.md, section 1), as the GP's EHR sends it. */
export function referralToPhysio(id: string, reason: string): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        resource: {
          resourceType: 'ServiceRequest', id: `verwijzing-${id}`, status: 'active', intent: 'order', priority: 'routine',
          meta: { profile: ['http://schakel.nl/fhir/StructureDefinition/referral'] },
          category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }], text: 'Verwijzing' }],
          subject: { reference: 'Patient/patient-jansen', display: 'A. Jansen', identifier: { system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999900006' } },
          authoredOn: new Date(Date.now() - 3 * 86_400_000).toISOString(),
          requester: { reference: 'PractitionerRole/huisarts-de-boer-de-linde', display: 'dr. S. de Boer' },
          performerType: { coding: [{ system: 'urn:oid:2.16.840.1.113883.2.4.15.111', code: '04.000', display: 'Fysiotherapeut' }] },
          performer: [{ reference: 'PractitionerRole/fysiotherapeut-visser-het-anker', display: 'T. Visser' }],
          reasonCode: [{ text: reason }],
        },
        request: { method: 'PUT', url: `ServiceRequest/verwijzing-${id}` },
      },
      {
        resource: {
          resourceType: 'Task', id: `taak-${id}`, status: 'requested', intent: 'order',
          meta: { profile: ['http://schakel.nl/fhir/StructureDefinition/referral-task'] },
          authoredOn: new Date().toISOString(),
          focus: { reference: `ServiceRequest/verwijzing-${id}` }, for: { reference: 'Patient/patient-jansen' },
          requester: { reference: 'PractitionerRole/huisarts-de-boer-de-linde' },
        },
        request: { method: 'PUT', url: `Task/taak-${id}` },
      },
    ],
  };
}
