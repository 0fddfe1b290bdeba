/**
 * Zorgbrug: sessions and visits used against the limits (9 physiotherapy, 4+1 home visits) and
 * the weeks left of the 12, from CarePlan/[id]/$progress (src/operations/careplan-progress.ts,
 * answer shape in src/domain/care-bridge/progress-parameters.ts), as progress bars with the
 * warnings the server flagged.
 */
import type { Coding, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { html, nothing, type TemplateResult } from 'lit-html';
import { conceptText, dateText, disciplineName, disciplineOf } from '../care-vocabulary.js';
import { fhir } from '../fhir-client.js';
import type { Page } from '../views/page.js';

const part = (p: ParametersParameter | undefined, name: string): ParametersParameter | undefined => p?.part?.find((x) => x.name === name);
const parts = (p: ParametersParameter | undefined, name: string): ParametersParameter[] => p?.part?.filter((x) => x.name === name) ?? [];
const int = (p: ParametersParameter | undefined, name: string): number | undefined => part(p, name)?.valueInteger;

const FLAG_TEXT: Readonly<Record<string, string>> = {
  'over-limit': 'boven de limiet',
  'on-indication': 'extra bezoek op indicatie',
  'outside-window': 'buiten de 12 weken',
  unplanned: 'niet gepland',
};

function flagsOf(visit: ParametersParameter): Coding[] {
  return parts(visit, 'flag').map((f) => f.valueCoding).filter((c): c is Coding => c !== undefined);
}

function activityView(activity: ParametersParameter): TemplateResult {
  const used = int(activity, 'used') ?? 0;
  const allowed = int(activity, 'allowed');
  const onIndication = int(activity, 'onIndication') ?? 0;
  const remaining = int(activity, 'remaining');
  const label = `${conceptText(part(activity, 'code')?.valueCodeableConcept)} (${disciplineName(disciplineOf(part(activity, 'discipline')?.valueCodeableConcept))})`;
  const flagged = parts(activity, 'visit').flatMap(flagsOf);
  const atLimit = allowed !== undefined && used >= allowed;
  const id = `activiteit-${int(activity, 'index') ?? 0}`;
  return html`<div class="progress-row">
    <label for=${id}>${label}</label>
    <progress id=${id} max=${allowed === undefined ? used : allowed + onIndication} .value=${used}></progress>
    <span class="figure">${used} van ${allowed ?? '?'}${onIndication > 0 ? ` (+${onIndication} op indicatie)` : ''} gebruikt${remaining === undefined ? '' : `, nog ${remaining}`}</span>
    ${atLimit ? html`<p class="warning" role="status">Limiet bereikt: een volgend bezoek valt buiten de afspraak.</p>` : nothing}
    ${flagged.length > 0 ? html`<ul class="warning">${flagged.map((f) => html`<li>Bezoek ${FLAG_TEXT[f.code ?? ''] ?? f.display ?? f.code}</li>`)}</ul>` : nothing}
  </div>`;
}

export const careBridgePage: Page = async ({ route, remember }) => {
  const plan = route.id;
  if (plan === undefined) {
    return html`<h1>Zorgbrug</h1><p>Kies eerst een patiënt en een zorgplan.</p>`;
  }
  remember({ carePlan: plan });
  const progress = await fhir<Parameters>(`CarePlan/${encodeURIComponent(plan)}/$progress`);
  const top = progress.parameter ?? [];
  const window = top.find((p) => p.name === 'window');
  const daysLeft = int(window, 'daysLeft');
  const daysTotal = int(window, 'daysTotal');
  const flaggedCount = top.find((p) => p.name === 'flagged')?.valueInteger ?? 0;
  const unplanned = top.filter((p) => p.name === 'unplannedVisit');
  return html`<h1>Zorgbrug: voortgang</h1>
    ${window === undefined
      ? nothing
      : html`<div class="progress-row">
          <label for="weken">Periode ${dateText(part(window, 'start')?.valueDate)} – ${dateText(part(window, 'end')?.valueDate)}</label>
          <progress id="weken" max=${daysTotal ?? 0} .value=${(daysTotal ?? 0) - (daysLeft ?? 0)}></progress>
          <span class="figure">nog ${Math.floor((daysLeft ?? 0) / 7)} weken en ${(daysLeft ?? 0) % 7} dagen van ${Math.round((daysTotal ?? 0) / 7)} weken</span>
          ${daysLeft !== undefined && daysLeft <= 14 ? html`<p class="warning" role="status">Minder dan twee weken over.</p>` : nothing}
        </div>`}
    ${top.filter((p) => p.name === 'activity').map(activityView)}
    ${unplanned.length > 0 ? html`<p class="warning">${unplanned.length} bezoek(en) buiten het plan.</p>` : nothing}
    <p>${flaggedCount === 0 ? 'Geen waarschuwingen.' : html`<strong class="warning">${flaggedCount} bezoek(en) met een waarschuwing.</strong>`}</p>`;
};
