/**
 * Terugkoppelingsbrief: the feedback of a completed referral as a letter to the referrer, laid out
 * for paper by the print stylesheet (styles.css, @media print hides the navigation).
 */
import type { Communication, Patient, ServiceRequest, Task } from '@medplum/fhirtypes';
import { html } from 'lit-html';
import { conceptText, dateText, disciplineName, disciplineOf, referenceText, TASK_STATUS } from '../care-vocabulary.js';
import { fhir, resources, search } from '../fhir-client.js';
import type { Page } from '../views/page.js';
import { patientName } from './patient.js';

export const letterPage: Page = async ({ route }) => {
  const id = route.id;
  if (id === undefined) {
    return html`<h1>Brief</h1><p>Geen verwijzing gekozen.</p>`;
  }
  const bundle = await search('ServiceRequest', { _id: id, _revinclude: ['Task:focus', 'Communication:based-on'] });
  const referral = resources<ServiceRequest>(bundle, 'ServiceRequest')[0];
  if (referral === undefined) {
    return html`<h1>Brief</h1><p role="alert">Verwijzing niet gevonden.</p>`;
  }
  const task = resources<Task>(bundle, 'Task')[0];
  const feedback = resources<Communication>(bundle, 'Communication').sort((a, b) => (a.sent ?? '').localeCompare(b.sent ?? ''));
  const patient = referral.subject.reference?.startsWith('Patient/') ? await fhir<Patient>(referral.subject.reference) : undefined;
  return html`<article class="letter">
    <p class="no-print"><button type="button" @click=${() => window.print()}>Afdrukken</button></p>
    <header>
      <p>Aan: ${referenceText(referral.requester)}</p>
      <p>Van: ${referenceText(feedback[0]?.sender ?? task?.owner)}</p>
      <p>Datum: ${dateText(feedback.at(-1)?.sent)}</p>
    </header>
    <h1>Terugkoppeling verwijzing ${disciplineName(disciplineOf(referral.performerType)).toLowerCase()}</h1>
    <p>Betreft: ${patient ? patientName(patient) : referenceText(referral.subject)}${patient?.birthDate ? `, geboren ${dateText(patient.birthDate)}` : ''}</p>
    <p>Uw verwijzing van ${dateText(referral.authoredOn)}: ${conceptText(referral.reasonCode?.[0])}. Status: ${TASK_STATUS[task?.status ?? ''] ?? referral.status}.</p>
    ${feedback.map((c) => html`<section><h2>${dateText(c.sent)}</h2>${(c.payload ?? []).map((p) => html`<p>${p.contentString ?? ''}</p>`)}</section>`)}
    <p>Met vriendelijke groet,<br>${referenceText(feedback[0]?.sender ?? task?.owner)}</p>
  </article>`;
};
