/**
 * Uitkomsten: a patient's PDI and NRS scores over time (the Observations the server derives from
 * completed questionnaires, docs/outcome-questionnaires.md) as a chart, with the measurement
 * moments (T0, end, 3 and 12 months: Tasks of the NDP schedule) and which are due or overdue; and
 * for the team the indicator values of Measure/$evaluate-measure.
 */
import type { MeasureReport, Observation, Task } from '@medplum/fhirtypes';
import { html, nothing, type TemplateResult } from 'lit-html';
import { conceptText, dateText } from '../care-vocabulary.js';
import { fhir, resources, search } from '../fhir-client.js';
import { navigate } from '../router.js';
import { drawChart } from '../views/chart.js';
import { errorText, formValue } from '../views/forms.js';
import type { Page } from '../views/page.js';

const PAIN_OUTCOMES = 'http://schakel.nl/fhir/CodeSystem/pain-outcomes';
const PDI = `${PAIN_OUTCOMES}|pdi-total`;
const NRS = 'http://loinc.org|72514-3';
const MEASURES: ReadonlyArray<[string, string]> = [
  ['pain-pdi-change', 'Gemiddelde verandering PDI (eind min T0)'],
  ['pain-pdi-improvement', 'Aandeel met ≥ 10 punten verbetering'],
  ['pain-ndp-completeness', 'Aandeel met volledige T0- en eindmeting'],
  ['pain-ndp-follow-up', 'Aandeel follow-upmetingen op tijd'],
];

const isCode = (o: Observation, system: string, code: string): boolean => (o.code.coding ?? []).some((c) => c.system === system && c.code === code);

type MomentState = 'klaar' | 'te laat' | 'open' | 'gepland' | 'vervallen';

export function momentState(task: Task, today = new Date().toISOString().slice(0, 10)): MomentState {
  if (task.status === 'completed') {
    return 'klaar';
  }
  if (task.status !== 'requested' && task.status !== 'in-progress') {
    return 'vervallen';
  }
  const window = task.restriction?.period;
  if (window?.end !== undefined && window.end.slice(0, 10) < today) {
    return 'te laat';
  }
  return window?.start !== undefined && window.start.slice(0, 10) > today ? 'gepland' : 'open';
}

function scoreOf(o: Observation): number | null {
  return o.valueQuantity?.value ?? null;
}

function series(observations: Observation[]): { times: number[]; pdi: Array<number | null>; nrs: Array<number | null> } {
  const times: number[] = [];
  const pdi: Array<number | null> = [];
  const nrs: Array<number | null> = [];
  for (const o of observations) {
    const at = o.effectiveDateTime;
    if (at === undefined) {
      continue;
    }
    times.push(new Date(at).getTime() / 1000);
    pdi.push(isCode(o, PAIN_OUTCOMES, 'pdi-total') ? scoreOf(o) : null);
    nrs.push(isCode(o, 'http://loinc.org', '72514-3') ? scoreOf(o) : null);
  }
  return { times, pdi, nrs };
}

async function indicators(periodStart: string, periodEnd: string): Promise<TemplateResult> {
  const rows = await Promise.all(
    MEASURES.map(async ([id, label]) => {
      try {
        const report = await fhir<MeasureReport>(`Measure/${id}/$evaluate-measure?periodStart=${periodStart}&periodEnd=${periodEnd}`);
        const group = report.group?.[0];
        const score = group?.measureScore?.value;
        const counts = (group?.population ?? []).map((p) => `${conceptText(p.code)}: ${p.count ?? 0}`).join(', ');
        return html`<tr><th scope="row">${label}</th><td class="number">${score === undefined ? '—' : Math.round(score * 100) / 100}</td><td>${counts}</td></tr>`;
      } catch (error) {
        return html`<tr><th scope="row">${label}</th><td colspan="2">${errorText(error)}</td></tr>`;
      }
    })
  );
  return html`<table><caption>Indicatoren ${dateText(periodStart)} – ${dateText(periodEnd)}</caption>
    <thead><tr><th scope="col">Indicator</th><th scope="col">Waarde</th><th scope="col">Aantallen</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export const outcomesPage: Page = async ({ route, remember }) => {
  const id = route.id;
  const year = new Date().getFullYear();
  const periodStart = route.query.get('van') ?? `${year - 2}-01-01`;
  const periodEnd = route.query.get('tot') ?? `${year}-12-31`;
  const period = (event: Event): void => {
    event.preventDefault();
    navigate('uitkomsten', id, { van: formValue('periode', 'van'), tot: formValue('periode', 'tot') });
  };
  const team = html`<section aria-labelledby="team-kop">
    <h2 id="team-kop">Team</h2>
    <form id="periode" class="inline" @submit=${period}>
      <label for="van">Van</label><input id="van" name="van" type="date" .value=${periodStart}>
      <label for="tot">Tot en met</label><input id="tot" name="tot" type="date" .value=${periodEnd}>
      <button type="submit">Berekenen</button>
    </form>
    ${await indicators(periodStart, periodEnd)}
  </section>`;
  if (id === undefined) {
    return html`<h1>Uitkomsten</h1>${team}`;
  }
  remember({ patient: id });
  const subject = `Patient/${id}`;
  const [scores, schedule] = await Promise.all([
    search('Observation', { subject, code: `${PDI},${NRS}`, _sort: 'date', _count: '200' }),
    search('Task', { subject, _sort: 'restriction-period', _count: '200' }),
  ]);
  const observations = resources<Observation>(scores, 'Observation').filter((o) => o.status !== 'entered-in-error');
  const moments = resources<Task>(schedule, 'Task').filter((t) => t.focus?.reference?.startsWith('Questionnaire/') === true);
  const data = series(observations);
  drawChart(
    'uitkomsten-grafiek',
    { times: data.times, series: [{ label: 'PDI (0–70)', stroke: '#1a4f8b', values: data.pdi }, { label: 'NRS pijn (0–10)', stroke: '#b3261e', values: data.nrs }] },
    'score'
  );
  return html`<h1>Uitkomsten</h1>
    <section aria-labelledby="scores-kop">
      <h2 id="scores-kop">PDI en NRS</h2>
      ${observations.length === 0
        ? html`<p>Nog geen scores.</p>`
        : html`<div id="uitkomsten-grafiek" class="chart" role="img" aria-label="Grafiek van PDI en NRS in de tijd; de scores staan in de tabel eronder"></div>
            <table>
              <thead><tr><th scope="col">Datum</th><th scope="col">Meting</th><th scope="col">Score</th></tr></thead>
              <tbody>${observations.map((o) => html`<tr><td>${dateText(o.effectiveDateTime)}</td><td>${conceptText(o.code)}</td><td class="number">${o.valueQuantity?.value ?? 'onvolledig'}</td></tr>`)}</tbody>
            </table>`}
    </section>
    <section aria-labelledby="momenten-kop">
      <h2 id="momenten-kop">Meetmomenten</h2>
      ${moments.length === 0
        ? html`<p>Geen meetschema.</p>`
        : html`<table>
            <thead><tr><th scope="col">Moment</th><th scope="col">Vragenlijst</th><th scope="col">Venster</th><th scope="col">Status</th></tr></thead>
            <tbody>${moments.map((t) => {
              const state = momentState(t);
              return html`<tr class=${state === 'te laat' ? 'overdue' : ''}><td>${conceptText(t.code)}</td><td>${t.focus?.display ?? t.focus?.reference ?? ''}</td>
                <td>${dateText(t.restriction?.period?.start)} – ${dateText(t.restriction?.period?.end)}</td><td>${state === 'te laat' ? html`<strong class="warning">te laat</strong>` : state}</td></tr>`;
            })}</tbody>
          </table>`}
    </section>
    ${team}
    ${nothing}`;
};
