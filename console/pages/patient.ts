/**
 * Patiënt: one patient's care team, care plans and referrals. The patient comes from the route,
 * the launch context (SMART `patient`), or the user's search; "kies bij aanmelden" asks the
 * authorization server for a patient (`launch/patient`), only here where a page needs one.
 */
import type { CarePlan, CareTeam, Patient, ServiceRequest, Task } from '@medplum/fhirtypes';
import { html, nothing, type TemplateResult } from 'lit-html';
import { conceptText, dateText, disciplineName, disciplineOf, referenceText, TASK_STATUS } from '../care-vocabulary.js';
import { fhir, resources, search } from '../fhir-client.js';
import { href, navigate } from '../router.js';
import { authorize } from '../smart/launch.js';
import { currentSession } from '../smart/session.js';
import { formValue } from '../views/forms.js';
import type { Page } from '../views/page.js';

const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';

export function patientName(patient: Patient): string {
  const name = patient.name?.[0];
  return name?.text ?? ([...(name?.given ?? []), name?.family].filter(Boolean).join(' ') || (patient.id ?? '—'));
}

async function chooser(query: string): Promise<TemplateResult> {
  const found =
    query === ''
      ? []
      : resources<Patient>(await search('Patient', /^\d{9}$/.test(query) ? { identifier: `${BSN}|${query}` } : { name: query, _count: '20' }), 'Patient');
  const submit = (event: Event): void => {
    event.preventDefault();
    navigate('patient', undefined, { zoek: formValue('patient-zoeken', 'zoek') });
  };
  return html`<h1>Patiënt kiezen</h1>
    <form id="patient-zoeken" @submit=${submit} class="inline">
      <label for="zoek">BSN of naam</label>
      <input id="zoek" name="zoek" .value=${query} autocomplete="off">
      <button type="submit">Zoeken</button>
    </form>
    <p><button type="button" class="secondary" @click=${() => void authorize({ needPatient: true, returnTo: '#/patient' })}>Kies patiënt bij aanmelden</button></p>
    ${query === '' ? nothing : found.length === 0 ? html`<p>Geen patiënten gevonden waarmee u een zorgrelatie hebt.</p>` : html`<ul>${found.map((p) => html`<li><a href=${href('patient', p.id)}>${patientName(p)}</a> (${p.birthDate ?? ''})</li>`)}</ul>`}`;
}

export const patientPage: Page = async ({ route, remember }) => {
  const id = route.id ?? currentSession()?.patient?.replace(/^Patient\//, '');
  if (id === undefined) {
    return chooser(route.query.get('zoek') ?? '');
  }
  const subject = `Patient/${id}`;
  const [patient, teams, plans, referrals] = await Promise.all([
    fhir<Patient>(subject),
    search('CareTeam', { subject, status: 'active' }),
    search('CarePlan', { subject, _sort: '-date' }),
    search('ServiceRequest', { subject, _revinclude: 'Task:focus', _sort: '-authored' }),
  ]);
  const carePlans = resources<CarePlan>(plans, 'CarePlan');
  remember({ patient: id, ...(carePlans[0]?.id !== undefined ? { carePlan: carePlans[0].id } : {}) });
  const tasks = resources<Task>(referrals, 'Task');
  return html`<h1>${patientName(patient)}</h1>
    <p class="muted">Geboren ${dateText(patient.birthDate)} · <a href=${href('uitkomsten', id)}>Uitkomsten</a></p>
    <section aria-labelledby="zorgteam-kop">
      <h2 id="zorgteam-kop">Zorgteam</h2>
      ${resources<CareTeam>(teams, 'CareTeam').map(
        (team) => html`<h3>${team.name ?? 'Zorgteam'}</h3>
          <ul>${(team.participant ?? []).map((p) => html`<li>${referenceText(p.member)} — ${disciplineName(disciplineOf(p.role?.[0]))}</li>`)}</ul>`
      )}
    </section>
    <section aria-labelledby="plannen-kop">
      <h2 id="plannen-kop">Zorgplannen</h2>
      <ul>
        ${carePlans.map(
          (plan) => html`<li>
            <strong>${plan.title ?? conceptText(plan.category?.[0])}</strong> (${plan.status}, ${dateText(plan.period?.start)} – ${dateText(plan.period?.end)})
            · <a href=${href('logboek', plan.id)}>Logboek</a> · <a href=${href('zorgbrug', plan.id)}>Voortgang</a>
          </li>`
        )}
      </ul>
    </section>
    <section aria-labelledby="verwijzingen-kop">
      <h2 id="verwijzingen-kop">Verwijzingen</h2>
      <table>
        <thead><tr><th scope="col">Datum</th><th scope="col">Naar</th><th scope="col">Verwijzer</th><th scope="col">Status</th></tr></thead>
        <tbody>
          ${resources<ServiceRequest>(referrals, 'ServiceRequest').map((request) => {
            const task = tasks.find((t) => t.focus?.reference === `ServiceRequest/${request.id ?? ''}`);
            const status = task?.status ?? request.status;
            return html`<tr><td>${dateText(request.authoredOn)}</td><td>${disciplineName(disciplineOf(request.performerType))}</td><td>${referenceText(request.requester)}</td><td>${TASK_STATUS[status] ?? status}</td></tr>`;
          })}
        </tbody>
      </table>
    </section>`;
};
