/**
 * Indicators on the synthetic cohort of fixtures/, checked against figures computed here from the
 * fixture JSON alone: which Task each response completes (same patient and Questionnaire, authored
 * inside the window, earliest window first), PDI totals (sum of seven items, none when one is
 * missing), and attribution (the treatment plan author's organisation, else the response author's,
 * else the patient's managing organisation; the cohort has no referrals).
 */
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';

type Json = any;

const FIXTURES = ['scenario-pain-cohort-1-schedules.json', 'scenario-pain-cohort-2-responses.json'];
const bundles: Json[] = FIXTURES.map((f) => JSON.parse(readFileSync(new URL(`../../fixtures/${f}`, import.meta.url), 'utf8')));
const resources: Json[] = bundles.flatMap((b) => b.entry.map((e: Json) => e.resource));
const ofType = (type: string): Json[] => resources.filter((r) => r.resourceType === type);
const QUESTIONNAIRE_ID: Record<string, string> = {
  'http://schakel.nl/fhir/Questionnaire/pdi|1.0.0': 'pdi-1.0.0',
  'http://schakel.nl/fhir/Questionnaire/nrs-pijn|1.0.0': 'nrs-pijn-1.0.0',
};

interface TaskState {
  id: string;
  patient: string;
  carePlan: string;
  moment: string;
  questionnaire: string;
  start: string;
  end: string;
  status: string;
  response?: Json;
}

/** The cohort after its responses were written: Task states, from the fixture JSON only. */
function simulate(responses: readonly Json[]): TaskState[] {
  const tasks: TaskState[] = ofType('Task').map((task) => ({
    id: task.id,
    patient: task.for.reference,
    carePlan: task.basedOn[0].reference.split('/')[1],
    moment: task.code.coding[0].code,
    questionnaire: task.focus.reference.split('/')[1],
    start: task.restriction.period.start,
    end: task.restriction.period.end,
    status: task.status,
  }));
  for (const response of responses) {
    if (response.status !== 'completed') {
      continue;
    }
    const day = response.authored.slice(0, 10);
    const open = tasks
      .filter((x) => x.status === 'requested' && x.patient === response.subject.reference && x.questionnaire === QUESTIONNAIRE_ID[response.questionnaire])
      .filter((x) => x.start <= day && day <= x.end)
      .sort((a, b) => a.start.localeCompare(b.start) || a.end.localeCompare(b.end) || a.id.localeCompare(b.id));
    if (open[0]) {
      open[0].status = 'completed';
      open[0].response = response;
    }
  }
  return tasks;
}

function pdiTotal(response: Json): number | undefined {
  const values = [1, 2, 3, 4, 5, 6, 7].map((i) => response?.item.find((x: Json) => x.linkId === `pdi-${i}`)?.answer[0].valueInteger);
  return values.every((v) => typeof v === 'number') ? values.reduce((a, b) => a + b, 0) : undefined;
}

const roles = new Map(ofType('PractitionerRole').map((r) => [`PractitionerRole/${r.id}`, r.organization.reference]));
const managing = new Map(ofType('Patient').map((p) => [`Patient/${p.id}`, p.managingOrganization.reference]));

const planAuthors = new Map(ofType('CarePlan').map((cp) => [cp.id, cp.author?.reference]));

/** The cohort has no referrals: the treatment plan's author, else the response's, else the managing organisation. */
function organisation(response: Json, patient: string, carePlan: string): string {
  return roles.get(planAuthors.get(carePlan)) ?? roles.get(response?.author?.reference) ?? managing.get(patient);
}

interface Unit {
  org: string;
  patient: string;
  denominator: boolean;
  numerator: boolean;
  change?: number;
}

interface Expected {
  change: Unit[];
  improvement: Unit[];
  completeness: Unit[];
  followUp3: Unit[];
  followUp12: Unit[];
}

const within = (day: string, from: string, to: string): boolean => from <= day && day <= to;

function expected(tasks: readonly TaskState[], from: string, to: string): Expected {
  const finished = ofType('CarePlan').filter((cp) => cp.status === 'completed' && within(cp.period.end, from, to));
  const treatment = (cp: Json, moments: string[]) => {
    const own = tasks.filter((x) => x.carePlan === cp.id && moments.includes(x.moment) && x.status !== 'cancelled');
    const answered = own.filter((x) => x.status === 'completed').sort((a, b) => moments.indexOf(b.moment) - moments.indexOf(a.moment) || a.response.id.localeCompare(b.response.id));
    return { own, decider: answered[0]?.response };
  };
  const scoreUnits = finished.flatMap((cp) => {
    const { own, decider } = treatment(cp, ['t0', 'end']);
    if (own.length === 0) {
      return [];
    }
    const first = own.find((x) => x.moment === 't0' && x.questionnaire === 'pdi-1.0.0' && x.status === 'completed');
    const last = own.find((x) => x.moment === 'end' && x.questionnaire === 'pdi-1.0.0' && x.status === 'completed');
    const v0 = pdiTotal(first?.response);
    const v1 = pdiTotal(last?.response);
    const paired = v0 !== undefined && v1 !== undefined;
    return [{ cp, own, paired, v0, v1, org: organisation(paired ? last?.response : decider, cp.subject.reference, cp.id) }];
  });
  const followUp = (moment: string): Unit[] => {
    const byPlan = new Map<string, TaskState[]>();
    for (const x of tasks.filter((x) => x.moment === moment && x.status !== 'cancelled' && within(x.end, from, to))) {
      byPlan.set(x.carePlan, [...(byPlan.get(x.carePlan) ?? []), x]);
    }
    return [...byPlan.values()].map((own) => {
      const responded = own.every((x) => x.status === 'completed');
      const first = own.filter((x) => x.response).sort((a, b) => a.response.id.localeCompare(b.response.id))[0];
      return { org: organisation(first?.response, own[0]!.patient, own[0]!.carePlan), patient: own[0]!.patient, denominator: true, numerator: responded };
    });
  };
  return {
    change: scoreUnits.map((u) => ({ org: u.org, patient: u.cp.subject.reference, denominator: u.paired, numerator: false, ...(u.paired ? { change: (u.v1 as number) - (u.v0 as number) } : {}) })),
    improvement: scoreUnits.map((u) => ({ org: u.org, patient: u.cp.subject.reference, denominator: u.paired, numerator: u.paired && (u.v0 as number) - (u.v1 as number) >= 10 })),
    completeness: scoreUnits.map((u) => {
      const done = (m: string) => u.own.some((x: TaskState) => x.moment === m) && u.own.filter((x: TaskState) => x.moment === m).every((x: TaskState) => x.status === 'completed');
      const { decider } = treatment(u.cp, ['t0', 'end']);
      return { org: organisation(decider, u.cp.subject.reference, u.cp.id), patient: u.cp.subject.reference, denominator: true, numerator: done('t0') && done('end') };
    }),
    followUp3: followUp('follow-up-3m'),
    followUp12: followUp('follow-up-12m'),
  };
}

const round = (value: number, decimals: number): number => Math.round(value * 10 ** decimals) / 10 ** decimals;
const count = (group: Json, code: string): number | undefined => group.population.find((p: Json) => p.code.coding[0].code === code)?.count;

/** Checks a report group (and its strata) against expected units. */
function checkGroup(t: Test, group: Json, units: readonly Unit[], kind: 'mean' | 'proportion', label: string): void {
  const sets = new Map<string, Unit[]>([['(total)', [...units]]]);
  for (const unit of units) {
    sets.set(unit.org, [...(sets.get(unit.org) ?? []), unit]);
  }
  for (const [org, list] of sets) {
    const at = org === '(total)' ? group : group.stratifier[0].stratum.find((s: Json) => s.value.text === org);
    t.ok(at, `${label}: a stratum for ${org}`);
    if (!at) {
      continue;
    }
    const denominator = list.filter((u) => u.denominator).length;
    t.equal(count(at, 'initial-population'), list.length, `${label} ${org}: initial population`);
    if (kind === 'mean') {
      t.equal(count(at, 'measure-population'), denominator, `${label} ${org}: measure population`);
      const sum = list.reduce((s, u) => s + (u.change ?? 0), 0);
      t.equal(at.measureScore?.value, denominator > 0 ? round(sum / denominator, 2) : undefined, `${label} ${org}: mean change`);
    } else {
      const numerator = list.filter((u) => u.numerator).length;
      t.equal(count(at, 'denominator'), denominator, `${label} ${org}: denominator`);
      t.equal(count(at, 'numerator'), numerator, `${label} ${org}: numerator`);
      t.equal(at.measureScore?.value, denominator > 0 ? round(numerator / denominator, 4) : undefined, `${label} ${org}: proportion`);
    }
  }
  t.equal(group.stratifier[0].stratum.length, sets.size - 1, `${label}: one stratum per organisation`);
}

async function evaluate(app: TestApp, measure: string, query: string): Promise<Json> {
  const response = await app.request({ method: 'GET', url: `/fhir/Measure/${measure}/$evaluate-measure?${query}` });
  if (response.statusCode !== 200) {
    throw new Error(response.body);
  }
  return response.json();
}

async function checkAll(t: Test, app: TestApp, tasks: TaskState[], from: string, to: string, extra = ''): Promise<Expected> {
  const want = expected(tasks, from, to);
  const query = `periodStart=${from}&periodEnd=${to}${extra}`;
  const change = await evaluate(app, 'pain-pdi-change', query);
  t.equal(change.resourceType, 'MeasureReport');
  t.same(change.period, { start: from, end: to });
  t.equal(change.measure, 'http://schakel.nl/fhir/Measure/pain-pdi-change|1.0.0');
  checkGroup(t, change.group[0], want.change, 'mean', 'PDI change');
  checkGroup(t, (await evaluate(app, 'pain-pdi-improvement', query)).group[0], want.improvement, 'proportion', 'PDI improvement');
  checkGroup(t, (await evaluate(app, 'pain-ndp-completeness', query)).group[0], want.completeness, 'proportion', 'NDP completeness');
  const followUp = await evaluate(app, 'pain-ndp-follow-up', query);
  checkGroup(t, followUp.group[0], want.followUp3, 'proportion', 'follow-up 3 months');
  checkGroup(t, followUp.group[1], want.followUp12, 'proportion', 'follow-up 12 months');
  return want;
}

t.test(`indicators on the synthetic cohort on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  for (const bundle of bundles) {
    const loaded = await app.request({ method: 'POST', url: '/fhir', body: bundle });
    t.equal(loaded.statusCode, 200, `${bundle.id} loads`);
  }
  t.ok(ofType('Patient').length >= 50, 'at least 50 patients');
  const responses = ofType('QuestionnaireResponse');
  const tasks = simulate(responses);

  t.test('the whole period', async (t) => {
    const want = await checkAll(t, app, tasks, '2024-01-01', '2025-12-31');
    // The figures must say something: pairs, improvements, gaps and organisations of each kind.
    const paired = want.change.filter((u) => u.denominator).length;
    t.ok(paired >= 20 && paired < want.change.length, `${paired} of ${want.change.length} treatments have both PDI totals`);
    t.ok(want.improvement.some((u) => u.numerator) && want.improvement.some((u) => u.denominator && !u.numerator));
    t.ok(want.completeness.some((u) => !u.numerator));
    t.ok(want.followUp3.some((u) => !u.numerator) && want.followUp12.some((u) => u.numerator));
    // Every treatment plan is written by a rehabilitation physician: both centres, and nothing for
    // the GP practice that manages some of the patients (attribution-sql.ts, rule 1b).
    t.same([...new Set(want.change.map((u) => u.org))].sort(), ['Organization/pain-rc-noord', 'Organization/pain-rc-zuid'], 'the treating centres');
  });

  t.test('a shorter period', async (t) => {
    await checkAll(t, app, tasks, '2024-07-01', '2024-12-31');
  });

  t.test('one organisation (reporter)', async (t) => {
    const report = await evaluate(app, 'pain-ndp-completeness', 'periodStart=2024-01-01&periodEnd=2025-12-31&reporter=Organization/pain-rc-zuid');
    t.same(report.reporter, { reference: 'Organization/pain-rc-zuid' });
    const units = expected(tasks, '2024-01-01', '2025-12-31').completeness.filter((u) => u.org === 'Organization/pain-rc-zuid');
    checkGroup(t, report.group[0], units, 'proportion', 'completeness for Zuiderpark');
  });

  t.test('one patient (subject)', async (t) => {
    const want = expected(tasks, '2024-01-01', '2025-12-31');
    const patient = want.change.find((u) => u.denominator)!.patient;
    const report = await evaluate(app, 'pain-pdi-change', `periodStart=2024-01-01&periodEnd=2025-12-31&subject=${patient}`);
    t.equal(report.type, 'individual');
    t.same(report.subject, { reference: patient });
    checkGroup(t, report.group[0], want.change.filter((u) => u.patient === patient), 'mean', `change for ${patient}`);
  });

  t.test('the report follows amended responses', async (t) => {
    const want = expected(tasks, '2024-01-01', '2025-12-31');
    const unit = want.change.find((u) => u.denominator)!;
    const end = tasks.find((x) => x.patient === unit.patient && x.moment === 'end' && x.questionnaire === 'pdi-1.0.0')!;
    const amended = { ...end.response, status: 'amended', item: [1, 2, 3, 4, 5, 6, 7].map((i) => ({ linkId: `pdi-${i}`, answer: [{ valueInteger: 0 }] })) };
    t.equal((await app.request({ method: 'PUT', url: `/fhir/QuestionnaireResponse/${amended.id}`, body: amended })).statusCode, 200);
    end.response = amended;
    await checkAll(t, app, tasks, '2024-01-01', '2025-12-31');
  });

  t.test('bad requests', async (t) => {
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/Measure/pain-pdi-change/$evaluate-measure?periodStart=2024-01-01' }), 400, 'required', 'periodEnd'); // min 1 in the OperationDefinition
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/Measure/pain-pdi-change/$evaluate-measure?periodStart=2025-01-01&periodEnd=2024-01-01' }), 400, 'invalid', 'periodEnd');
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/Measure/pain-pdi-change/$evaluate-measure?periodStart=2024-01-01&periodEnd=2024-12-31&reporter=Patient/x' }), 400, 'invalid', 'reporter');
    assertIssue(t, await app.request({ method: 'GET', url: '/fhir/Measure/pain-pdi-change/$evaluate-measure?periodStart=2024-01-01&periodEnd=2024-12-31&reportType=subject-list' }), 400, 'not-supported', 'reportType');
    t.equal((await app.request({ method: 'GET', url: '/fhir/Measure/unknown/$evaluate-measure?periodStart=2024-01-01&periodEnd=2024-12-31' })).statusCode, 404);
    const byUrl = await app.request({ method: 'GET', url: '/fhir/Measure/$evaluate-measure?measure=http://schakel.nl/fhir/Measure/pain-ndp-completeness|1.0.0&periodStart=2024-01-01&periodEnd=2024-12-31' });
    t.equal(byUrl.statusCode, 200, 'type level, by canonical');
    const notAnIndicator = await app.request({ method: 'POST', url: '/fhir/Measure', body: { resourceType: 'Measure', status: 'active', scoring: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-scoring', code: 'proportion' }] }, group: [{ code: { text: 'x' } }] } });
    assertIssue(t, await app.request({ method: 'GET', url: `/fhir/Measure/${notAnIndicator.json().id}/$evaluate-measure?periodStart=2024-01-01&periodEnd=2024-12-31` }), 422, 'invalid', 'Measure.group[0]');
  });
});
