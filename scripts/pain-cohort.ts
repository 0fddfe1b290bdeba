/**
 * A synthetic chronic-pain cohort: patients of two rehabilitation centres and a GP practice, one
 * pain-rehabilitation treatment (CarePlan) each, the NDP measurement schedule that $apply would
 * make for it (Tasks and a RequestGroup, computed with the same moment rules from
 * profiles/plandefinition-ndp.json), and the PDI and NRS responses the patients gave: some moments
 * missed, some PDI items left out, some follow-ups answered after their window closed. Everything
 * is drawn from a seeded generator, so the same arguments give the same resources.
 *
 * Used by scripts/generate-pain-cohort.ts (the demo fixtures) and bench/measures.ts (a large cohort).
 */
import { readFileSync } from 'node:fs';
import type { PlanDefinition, Resource } from '@medplum/fhirtypes';
import { momentWindow } from '../src/domain/schedules/apply-measurement-set.js';
import { addDays } from '../src/domain/schedules/calendar.js';
import { measurementMoments, type MeasurementMoment } from '../src/domain/schedules/measurement-set.js';

const PLAN = JSON.parse(readFileSync(new URL('../profiles/plandefinition-ndp.json', import.meta.url), 'utf8')) as PlanDefinition;
const PDI = 'http://schakel.nl/fhir/Questionnaire/pdi|1.0.0';
const NRS = 'http://schakel.nl/fhir/Questionnaire/nrs-pijn|1.0.0';
const QUESTIONNAIRE_IDS: Record<string, string> = { [PDI]: 'pdi-1.0.0', [NRS]: 'nrs-pijn-1.0.0' };
const PAIN = 'http://schakel.nl/fhir/CodeSystem/pain-outcomes';
const SYNTHETIC = { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST', display: 'test health data' }] };

/** Mulberry32: a small seeded generator, so fixtures are reproducible. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The n-th BSN from 9999 3000 on that passes the eleven-test (weights 9..2 and -1). */
export function* bsns(): Generator<string> {
  for (let prefix = 99993000; prefix <= 99999999; prefix++) {
    const digits = String(prefix).split('').map(Number);
    const sum = digits.reduce((s, d, i) => s + d * (9 - i), 0);
    const check = sum % 11;
    if (check < 10) {
      yield `${prefix}${check}`;
    }
  }
}

interface Organisation {
  readonly id: string;
  readonly name: string;
  readonly agb: string;
  readonly type: string;
}

const ORGANISATIONS: readonly Organisation[] = [
  { id: 'pain-rc-noord', name: 'Revalidatiecentrum De Noorderhaven', agb: '06099301', type: 'Revalidatiecentrum' },
  { id: 'pain-rc-zuid', name: 'Revalidatiecentrum Zuiderpark', agb: '06099302', type: 'Revalidatiecentrum' },
  { id: 'pain-huisarts-oost', name: 'Huisartsenpraktijk Oostwijk', agb: '01099303', type: 'Huisartspraktijk (zelfstandig of groepspraktijk)' },
];

/** Professionals who enter measurements: two per rehabilitation centre. */
const ROLES = [
  { id: 'pain-role-arts-noord', practitioner: 'pain-arts-noord', org: 'pain-rc-noord', family: 'Vermeulen', given: 'Iris', role: { code: '01.042', display: 'Revalidatiearts' }, agb: '06999301' },
  { id: 'pain-role-psy-noord', practitioner: 'pain-psy-noord', org: 'pain-rc-noord', family: 'Bos', given: 'Daan', role: { code: '25.000', display: 'GZ-psycholoog' }, agb: '94999302' },
  { id: 'pain-role-arts-zuid', practitioner: 'pain-arts-zuid', org: 'pain-rc-zuid', family: 'Mulder', given: 'Noor', role: { code: '01.042', display: 'Revalidatiearts' }, agb: '06999303' },
  { id: 'pain-role-fysio-zuid', practitioner: 'pain-fysio-zuid', org: 'pain-rc-zuid', family: 'Smit', given: 'Bram', role: { code: '04.000', display: 'Fysiotherapeut' }, agb: '04999304' },
] as const;

const GIVEN = ['Anna', 'Bas', 'Carla', 'Dirk', 'Eva', 'Frank', 'Greet', 'Hans', 'Ilse', 'Joost', 'Karin', 'Luuk', 'Marieke', 'Niels', 'Olga', 'Pieter', 'Roos', 'Sander', 'Tineke', 'Wouter'];
const FAMILY = ['de Jong', 'Jansen', 'de Vries', 'van den Berg', 'van Dijk', 'Bakker', 'Visser', 'Meijer', 'de Boer', 'Dekker', 'Brouwer', 'de Wit', 'Dijkstra', 'Hendriks', 'Kok'];

function entry(resource: Resource & { id: string }): Record<string, unknown> {
  return { fullUrl: `${resource.resourceType}/${resource.id}`, resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function staticResources(): Array<Resource & { id: string }> {
  const organisations = ORGANISATIONS.map((o) => ({
    resourceType: 'Organization' as const,
    id: o.id,
    meta: SYNTHETIC,
    identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/agb-z', value: o.agb }],
    active: true,
    type: [{ text: o.type }],
    name: o.name,
  }));
  const practitioners = ROLES.map((r) => ({
    resourceType: 'Practitioner' as const,
    id: r.practitioner,
    meta: SYNTHETIC,
    identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/agb-z', value: r.agb }],
    active: true,
    name: [{ family: r.family, given: [r.given] }],
  }));
  const roles = ROLES.map((r) => ({
    resourceType: 'PractitionerRole' as const,
    id: r.id,
    meta: SYNTHETIC,
    active: true,
    practitioner: { reference: `Practitioner/${r.practitioner}` },
    organization: { reference: `Organization/${r.org}` },
    // UZI role codes (RoleCodeNL), as the workflow fixtures and the logbook's author-discipline use.
    code: [{ coding: [{ system: 'urn:oid:2.16.840.1.113883.2.4.15.111', ...r.role }] }],
  }));
  return [...organisations, ...practitioners, ...roles];
}

/** Seven PDI items (0-10) that add up to `total`; `missing` of them left out. */
function pdiItems(next: () => number, total: number, missing: number): Array<number | null> {
  const items = Array.from({ length: 7 }, () => Math.floor(total / 7));
  let rest = total - items.reduce((a, b) => a + b, 0);
  while (rest > 0) {
    const i = Math.floor(next() * 7);
    if ((items[i] as number) < 10) {
      items[i] = (items[i] as number) + 1;
      rest--;
    }
  }
  const result: Array<number | null> = [...items];
  for (let k = 0; k < missing; k++) {
    result[[4, 3, 1][k % 3] as number] = null; // sexual behaviour is the item most often left out
  }
  return result;
}

export interface Cohort {
  /** Organisations, professionals, patients, treatments, Tasks and RequestGroups. */
  readonly schedules: Array<Resource & { id: string }>;
  /** QuestionnaireResponses, in the order they were given. */
  readonly responses: Array<Resource & { id: string }>;
}

export function generateCohort(patients: number, seed = 20250601): Cohort {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const chance = (p: number): boolean => next() < p;
  const moments: MeasurementMoment[] = measurementMoments(PLAN);
  const width = Math.max(3, String(patients).length);
  const schedules: Array<Resource & { id: string }> = staticResources();
  const responses: Array<Resource & { id: string; authored: string }> = [];
  const bsn = bsns();
  for (let n = 1; n <= patients; n++) {
    const key = pad(n, width);
    const patientId = `pain-patient-${key}`;
    const centre = n % 2 === 0 ? 'pain-rc-zuid' : 'pain-rc-noord';
    const managing = chance(0.25) ? 'pain-huisarts-oost' : centre;
    const staff = ROLES.filter((r) => r.org === centre);
    schedules.push({
      resourceType: 'Patient',
      id: patientId,
      meta: SYNTHETIC,
      identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: bsn.next().value as string }],
      name: [{ family: pick(FAMILY), given: [pick(GIVEN)] }],
      gender: chance(0.6) ? 'female' : 'male',
      birthDate: `${1950 + Math.floor(next() * 50)}-${pad(1 + Math.floor(next() * 12), 2)}-${pad(1 + Math.floor(next() * 28), 2)}`,
      managingOrganization: { reference: `Organization/${managing}` },
    });
    const start = addDays('2024-01-08', 7 * Math.floor(next() * 46));
    const end = addDays(start, 7 * (8 + 2 * Math.floor(next() * 5)) - 4);
    const fate = next();
    const status = fate < 0.05 ? 'revoked' : fate < 0.1 ? 'active' : 'completed';
    const carePlanId = `pain-careplan-${key}`;
    schedules.push({
      resourceType: 'CarePlan',
      id: carePlanId,
      meta: SYNTHETIC,
      status,
      intent: 'plan',
      category: [{ text: 'Pijnrevalidatie' }],
      title: 'Interdisciplinaire pijnrevalidatie',
      subject: { reference: `Patient/${patientId}` },
      period: { start, end },
      author: { reference: `PractitionerRole/${staff[0]?.id ?? ''}` },
    });
    const groupIdentifier = { system: 'urn:ietf:rfc:3986', value: `urn:uuid:7a1b0c00-0000-4000-8000-${pad(n, 12)}` };
    const baseline = 25 + Math.floor(next() * 30);
    const gain = Math.floor(next() * 28) - 6;
    const actions = [];
    for (const moment of moments) {
      const code = moment.code.code as string;
      const window = momentWindow(moment, start, end);
      const stopped = status === 'revoked' && code !== 't0' && code !== 'halfway';
      const sub = [];
      for (const instrument of moment.instruments) {
        const kind = instrument.canonical === PDI ? 'pdi' : 'nrs';
        const taskId = `pain-task-${key}-${code}-${kind}`;
        schedules.push({
          resourceType: 'Task',
          id: taskId,
          meta: SYNTHETIC,
          instantiatesCanonical: 'http://schakel.nl/fhir/PlanDefinition/ndp|1.0.0',
          basedOn: [{ reference: `CarePlan/${carePlanId}` }],
          groupIdentifier,
          status: stopped ? 'cancelled' : 'requested',
          intent: 'order',
          priority: 'routine',
          code: { coding: [moment.code], text: moment.title },
          description: `${instrument.title ?? kind} invullen: ${moment.title}`,
          focus: { reference: `Questionnaire/${QUESTIONNAIRE_IDS[instrument.canonical] ?? ''}`, display: instrument.title ?? kind },
          for: { reference: `Patient/${patientId}` },
          authoredOn: `${start}T09:00:00+01:00`,
          owner: { reference: `Patient/${patientId}` },
          restriction: { period: window },
          input: [{ type: { coding: [{ system: PAIN, code: 'questionnaire', display: 'Vragenlijst' }] }, valueCanonical: instrument.canonical }],
        });
        sub.push({ title: instrument.title ?? kind, resource: { reference: `Task/${taskId}` } });
      }
      actions.push({ title: moment.title, code: [{ coding: [moment.code] }], timingPeriod: window, action: sub });

      // Response rates fall from intake to the 12-month follow-up; stopped treatments stop answering.
      const rate = { t0: 0.95, halfway: 0.7, end: 0.85, 'follow-up-3m': 0.6, 'follow-up-12m': 0.45 }[code] ?? 0.5;
      const finished = code === 't0' || code === 'halfway' || status === 'completed';
      if (stopped || !finished || !chance(rate)) {
        continue;
      }
      const followUp = code.startsWith('follow-up');
      const late = followUp && chance(0.1);
      const day = late ? addDays(window.end, 10 + Math.floor(next() * 30)) : addDays(window.start, Math.floor(next() * 20) + 5);
      const author = followUp || chance(0.25) ? { reference: `Patient/${patientId}` } : { reference: `PractitionerRole/${pick(staff).id}` };
      const progress = { t0: 0, halfway: 0.5, end: 1, 'follow-up-3m': 1, 'follow-up-12m': 0.9 }[code] ?? 1;
      const total = Math.max(0, Math.min(70, Math.round(baseline - gain * progress + (next() * 6 - 3))));
      for (const instrument of moment.instruments) {
        const kind = instrument.canonical === PDI ? 'pdi' : 'nrs';
        if (kind === 'nrs' && chance(0.1)) {
          continue;
        }
        const items =
          kind === 'pdi'
            ? pdiItems(next, total, chance(0.12) ? (chance(0.2) ? 2 : 1) : 0)
                .map((value, i) => (value === null ? null : { linkId: `pdi-${i + 1}`, answer: [{ valueInteger: value }] }))
                .filter((i) => i !== null)
            : [{ linkId: 'nrs-pijn', answer: [{ valueInteger: Math.max(0, Math.min(10, Math.round(total / 7 + next() * 2 - 1))) }] }];
        responses.push({
          resourceType: 'QuestionnaireResponse',
          id: `pain-qr-${key}-${code}-${kind}`,
          meta: SYNTHETIC,
          questionnaire: instrument.canonical,
          status: 'completed',
          subject: { reference: `Patient/${patientId}` },
          authored: `${day}T${pad(9 + Math.floor(next() * 8), 2)}:${pad(Math.floor(next() * 60), 2)}:00+01:00`,
          author,
          item: items,
        });
      }
    }
    schedules.push({
      resourceType: 'RequestGroup',
      id: `pain-rg-${key}`,
      meta: SYNTHETIC,
      instantiatesCanonical: ['http://schakel.nl/fhir/PlanDefinition/ndp|1.0.0'],
      basedOn: [{ reference: `CarePlan/${carePlanId}` }],
      groupIdentifier,
      status: status === 'revoked' ? 'revoked' : status === 'completed' ? 'completed' : 'active',
      intent: 'plan',
      code: { text: PLAN.title ?? 'NDP' },
      subject: { reference: `Patient/${patientId}` },
      authoredOn: `${start}T09:00:00+01:00`,
      action: actions,
    });
  }
  // Responses arrive in the order they were given, as they would in practice.
  responses.sort((a, b) => a.authored.localeCompare(b.authored) || a.id.localeCompare(b.id));
  return { schedules, responses };
}

/** A transaction Bundle of PUTs, as the fixtures are. */
export function transactionBundle(id: string, resources: ReadonlyArray<Resource & { id: string }>): { resourceType: 'Bundle'; id: string; type: 'transaction'; entry: unknown[] } {
  return { resourceType: 'Bundle', id, type: 'transaction', entry: resources.map(entry) };
}
