/**
 * A small care network for access tests, written by the admin integration engine: the four demo
 * organisations with one practitioner and role each (identifiers as the demo tokens carry them),
 * patient Kok (managed by the GP practice, care team: the GP only) and patient Visser (managed by
 * the GP practice, care team: GP, physio and nurse). Observations link across the two.
 */
import type { TestApp } from './app.js';
import { put, type Json } from './search.js';

const AGB = 'http://fhir.nl/fhir/NamingSystem/agb-z';
const URA = 'http://fhir.nl/fhir/NamingSystem/ura';
const UZI = 'http://fhir.nl/fhir/NamingSystem/uzi-nr-pers';

export const ORGS = { gp: 't-gp', physio: 't-physio', nurse: 't-nurse', rehab: 't-rehab' } as const;
export const ROLES = { gp: 't-gp-role', physio: 't-physio-role', nurse: 't-nurse-role', rehab: 't-rehab-role' } as const;
/** Organisation (system, value) and practitioner UZI, as DEMO_USERS (src/auth/demo-clients.ts) carry them. */
const IDENTIFIERS = {
  gp: [AGB, '01099001', '999990001'],
  physio: [AGB, '04099001', '999990002'],
  nurse: [URA, '90000003', '999990004'],
  rehab: [URA, '90000004', '999990005'],
} as const;

export function careTeam(id: string, patient: string, members: ReadonlyArray<keyof typeof ROLES>, extra: Json = {}): Json {
  return {
    resourceType: 'CareTeam',
    id,
    status: 'active',
    subject: { reference: `Patient/${patient}` },
    participant: members.map((m) => ({ member: { reference: `PractitionerRole/${ROLES[m]}` } })),
    ...extra,
  };
}

export function observation(id: string, patient: string, extra: Json = {}): Json {
  return { resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: `Patient/${patient}` }, ...extra };
}

export async function careScenario(app: TestApp): Promise<void> {
  for (const [name, [system, value, uzi]] of Object.entries(IDENTIFIERS) as Array<[keyof typeof ORGS, readonly [string, string, string]]>) {
    await put(app, { resourceType: 'Organization', id: ORGS[name], identifier: [{ system, value }], name: `Org ${name}` });
    await put(app, { resourceType: 'Practitioner', id: `t-${name}-pract`, identifier: [{ system: UZI, value: uzi }] });
    await put(app, {
      resourceType: 'PractitionerRole',
      id: ROLES[name],
      practitioner: { reference: `Practitioner/t-${name}-pract` },
      organization: { reference: `Organization/${ORGS[name]}` },
    });
  }
  await put(app, { resourceType: 'Patient', id: 'p-kok', name: [{ family: 'Kok' }], managingOrganization: { reference: `Organization/${ORGS.gp}` } });
  await put(app, { resourceType: 'Patient', id: 'p-vis', name: [{ family: 'Visser' }], managingOrganization: { reference: `Organization/${ORGS.gp}` } });
  await put(app, careTeam('ct-kok', 'p-kok', ['gp']));
  await put(app, careTeam('ct-vis', 'p-vis', ['gp', 'physio', 'nurse']));
  await put(app, observation('obs-kok', 'p-kok', { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] } }));
  await put(app, observation('obs-vis', 'p-vis', { derivedFrom: [{ reference: 'Observation/obs-kok' }] }));
  await put(app, observation('obs-kok-2', 'p-kok', { derivedFrom: [{ reference: 'Observation/obs-vis' }] }));
}
