/**
 * Logboek: the joint logbook of a care plan (CarePlan/[id]/$logbook, src/operations/careplan-logbook.ts),
 * newest first, each entry with its author and the author's discipline; filters by category and
 * discipline go to the operation's own parameters. Blood pressure (LOINC 85354-9) as values and
 * as a chart.
 */
import type { Bundle as FhirBundle, Communication, Encounter, Observation, PractitionerRole, Procedure, Reference } from '@medplum/fhirtypes';
import { html, nothing, type TemplateResult } from 'lit-html';
import { conceptText, DISCIPLINE_CODES, dateTimeText, disciplineName, disciplineOf, ROLE_SYSTEM } from '../care-vocabulary.js';
import { fhir, resources, search } from '../fhir-client.js';
import { navigate } from '../router.js';
import { drawChart } from '../views/chart.js';
import { formValue } from '../views/forms.js';
import type { Page } from '../views/page.js';

type Entry = Observation | Communication | Procedure | Encounter;

const CATEGORIES: Readonly<Record<string, string>> = { 'vital-signs': 'Vitale functies', 'exam': 'Onderzoek', 'survey': 'Vragenlijst', 'activity': 'Activiteit' };
const BLOOD_PRESSURE = '85354-9';

function author(entry: Entry): Reference | undefined {
  switch (entry.resourceType) {
    case 'Observation':
      return entry.performer?.[0];
    case 'Communication':
      return entry.sender;
    case 'Procedure':
      return entry.performer?.[0]?.actor;
    case 'Encounter':
      return entry.participant?.[0]?.individual;
  }
}

function when(entry: Entry): string | undefined {
  switch (entry.resourceType) {
    case 'Observation':
      return entry.effectiveDateTime ?? entry.effectivePeriod?.start;
    case 'Communication':
      return entry.sent;
    case 'Procedure':
      return entry.performedDateTime ?? entry.performedPeriod?.start;
    case 'Encounter':
      return entry.period?.start;
  }
}

const component = (o: Observation, code: string): number | undefined => o.component?.find((c) => c.code.coding?.some((x) => x.code === code))?.valueQuantity?.value;

export function bloodPressure(o: Observation): { systolic: number | undefined; diastolic: number | undefined } {
  return { systolic: component(o, '8480-6'), diastolic: component(o, '8462-4') };
}

const isBloodPressure = (e: Entry): boolean => e.resourceType === 'Observation' && (e.code.coding ?? []).some((c) => c.code === BLOOD_PRESSURE);

function what(entry: Entry): TemplateResult | string {
  switch (entry.resourceType) {
    case 'Observation': {
      if (isBloodPressure(entry)) {
        const bp = bloodPressure(entry);
        return `${conceptText(entry.code)}: ${bp.systolic ?? '?'}/${bp.diastolic ?? '?'} mmHg`;
      }
      const q = entry.valueQuantity;
      return `${conceptText(entry.code)}: ${q ? `${q.value ?? ''} ${q.unit ?? ''}` : (entry.valueString ?? conceptText(entry.valueCodeableConcept))}`;
    }
    case 'Communication':
      return html`${conceptText(entry.category?.[0])}: ${entry.payload?.[0]?.contentString ?? ''}`;
    case 'Procedure':
      return `${conceptText(entry.code)}`;
    case 'Encounter':
      return conceptText(entry.type?.[0]);
  }
}

async function disciplines(entries: Entry[]): Promise<Map<string, string>> {
  const ids = [...new Set(entries.map((e) => author(e)?.reference).filter((r): r is string => r?.startsWith('PractitionerRole/') === true))].map((r) => r.slice(17));
  if (ids.length === 0) {
    return new Map();
  }
  const roles = resources<PractitionerRole>(await search('PractitionerRole', { _id: ids.join(','), _count: '100' }), 'PractitionerRole');
  return new Map(roles.map((r) => [`PractitionerRole/${r.id ?? ''}`, disciplineOf(r.code?.[0] ?? r.specialty?.[0]) ?? '']));
}

export const logbookPage: Page = async ({ route, remember }) => {
  const plan = route.id;
  if (plan === undefined) {
    return html`<h1>Logboek</h1><p>Kies eerst een patiënt en een zorgplan.</p>`;
  }
  const category = route.query.get('categorie') ?? '';
  const discipline = route.query.get('discipline') ?? '';
  const params = new URLSearchParams({ _count: '100' });
  if (category !== '') {
    params.set('category', category);
  }
  if (discipline !== '') {
    params.set('author-discipline', `${ROLE_SYSTEM}|${discipline}`);
  }
  const bundle = await fhir<FhirBundle>(`CarePlan/${encodeURIComponent(plan)}/$logbook?${params.toString()}`);
  const entries = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Entry => r !== undefined && ['Observation', 'Communication', 'Procedure', 'Encounter'].includes(r.resourceType));
  const roleDiscipline = await disciplines(entries);
  const patient = entries.find((e) => e.subject?.reference !== undefined)?.subject?.reference?.replace(/^Patient\//, '');
  remember({ carePlan: plan, ...(patient !== undefined ? { patient } : {}) });
  const pressures = entries.filter((e): e is Observation => e.resourceType === 'Observation' && isBloodPressure(e)).filter((o) => when(o) !== undefined).reverse();
  drawChart(
    'bloeddruk-grafiek',
    {
      times: pressures.map((o) => new Date(when(o) ?? 0).getTime() / 1000),
      series: [
        { label: 'Systolisch', stroke: '#b3261e', values: pressures.map((o) => bloodPressure(o).systolic ?? null) },
        { label: 'Diastolisch', stroke: '#1a4f8b', values: pressures.map((o) => bloodPressure(o).diastolic ?? null) },
      ],
    },
    'mmHg'
  );
  const filter = (event: Event): void => {
    event.preventDefault();
    navigate('logboek', plan, { categorie: formValue('logboek-filter', 'categorie'), discipline: formValue('logboek-filter', 'discipline') });
  };
  return html`<h1>Logboek</h1>
    <form id="logboek-filter" class="inline" @submit=${filter}>
      <label for="categorie">Categorie</label>
      <select id="categorie" name="categorie">
        <option value="">Alle</option>
        ${Object.entries(CATEGORIES).map(([code, label]) => html`<option value=${code} ?selected=${code === category}>${label}</option>`)}
      </select>
      <label for="discipline">Discipline</label>
      <select id="discipline" name="discipline">
        <option value="">Alle</option>
        ${DISCIPLINE_CODES.map((code) => html`<option value=${code} ?selected=${code === discipline}>${disciplineName(code)}</option>`)}
      </select>
      <button type="submit">Filteren</button>
    </form>
    <table class="logbook">
      <caption>${entries.length} regels, nieuwste eerst</caption>
      <thead><tr><th scope="col">Wanneer</th><th scope="col">Wat</th><th scope="col">Discipline</th><th scope="col">Door</th></tr></thead>
      <tbody>
        ${entries.map((entry) => {
          const by = author(entry);
          return html`<tr data-type=${entry.resourceType}>
            <td>${dateTimeText(when(entry))}</td><td>${what(entry)}</td>
            <td>${disciplineName(roleDiscipline.get(by?.reference ?? ''))}</td><td>${by?.display ?? by?.reference ?? '—'}</td>
          </tr>`;
        })}
      </tbody>
    </table>
    ${pressures.length === 0
      ? nothing
      : html`<section aria-labelledby="bloeddruk-kop">
          <h2 id="bloeddruk-kop">Bloeddruk</h2>
          <div id="bloeddruk-grafiek" class="chart" role="img" aria-label="Grafiek van de bloeddruk in de tijd; de waarden staan in de tabel eronder"></div>
          <table>
            <thead><tr><th scope="col">Wanneer</th><th scope="col">Systolisch (mmHg)</th><th scope="col">Diastolisch (mmHg)</th></tr></thead>
            <tbody>${pressures.map((o) => html`<tr><td>${dateTimeText(when(o))}</td><td class="number">${bloodPressure(o).systolic ?? '—'}</td><td class="number">${bloodPressure(o).diastolic ?? '—'}</td></tr>`)}</tbody>
          </table>
        </section>`}`;
};
