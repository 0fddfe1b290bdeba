/**
 * Verwijzingen: the organisation's incoming referrals (it is the performer or owner) and outgoing
 * ones (it is the requester), each with its Task's state, discipline, age and feedback; the
 * receiving side accepts, rejects with a reason, or completes with feedback (referral-actions.ts).
 * "Feedback overdue" is what the server's reminder pass marked on the Task
 * (src/domain/reminders/business-status.ts), so the console and the reminders agree.
 */
import type { Communication, ServiceRequest, Task } from '@medplum/fhirtypes';
import { html, nothing, type TemplateResult } from 'lit-html';
import { ageInDays, conceptText, dateText, disciplineName, disciplineOf, referenceText, TASK_STATUS } from '../care-vocabulary.js';
import { resources, search, type Bundle } from '../fhir-client.js';
import { me, type Me } from '../me.js';
import { acceptReferral, completeReferral, rejectReferral } from '../referral-actions.js';
import { href } from '../router.js';
import { errorText, formValue } from '../views/forms.js';
import type { Page, PageContext } from '../views/page.js';

const REMINDER_SYSTEM = 'http://schakel.nl/fhir/CodeSystem/task-business-status';

interface Referral {
  readonly request: ServiceRequest;
  readonly task: Task | undefined;
  readonly feedback: Communication[];
}

function referralsOf(bundle: Bundle): Referral[] {
  const tasks = resources<Task>(bundle, 'Task');
  const feedback = resources<Communication>(bundle, 'Communication');
  return resources<ServiceRequest>(bundle, 'ServiceRequest')
    .filter((r) => (bundle.entry ?? []).some((e) => e.resource === r && e.search?.mode !== 'include'))
    .map((request) => {
      const ref = `ServiceRequest/${request.id ?? ''}`;
      return {
        request,
        task: tasks.find((t) => t.focus?.reference === ref),
        feedback: feedback.filter((c) => (c.basedOn ?? []).some((b) => b.reference === ref)),
      };
    });
}

// Revoked: rejected or cancelled (the Task says which, and why), so the referrer sees that too.
const LIST = { status: 'active,completed,revoked', _revinclude: ['Task:focus', 'Communication:based-on'], _sort: '-authored', _count: '100' };

async function load(who: Me): Promise<{ incoming: Referral[]; outgoing: Referral[] }> {
  if (who.organizationRoles.length === 0) {
    return { incoming: [], outgoing: [] };
  }
  const roles = who.organizationRoles.join(',');
  const [incoming, outgoing] = await Promise.all([search('ServiceRequest', { ...LIST, performer: roles }), search('ServiceRequest', { ...LIST, requester: roles })]);
  return { incoming: referralsOf(incoming), outgoing: referralsOf(outgoing) };
}

const isOverdue = (task: Task | undefined): boolean => (task?.businessStatus?.coding ?? []).some((c) => c.system === REMINDER_SYSTEM && c.code === 'feedback-overdue');

/** The caller's role that acts on the referral: the performer named, else the user's first role. */
function actingRole(who: Me, referral: Referral): string | undefined {
  const mine = who.roles.map((r) => `PractitionerRole/${r.id ?? ''}`);
  const owner = referral.task?.owner?.reference;
  if (owner !== undefined) {
    // Only the owner moves a Task forward (src/domain/referral/referral-actor.ts).
    return mine.includes(owner) ? owner : undefined;
  }
  const performers = (referral.request.performer ?? []).map((p) => p.reference).filter((p): p is string => p !== undefined);
  return performers.length === 0 ? mine[0] : performers.find((p) => mine.includes(p));
}

function actions(referral: Referral, who: Me, context: PageContext, failure: (message: string) => void): TemplateResult | typeof nothing {
  const task = referral.task;
  const role = actingRole(who, referral);
  if (task === undefined || role === undefined) {
    return nothing;
  }
  const id = task.id ?? '';
  const run = (work: () => Promise<unknown>) => (event: Event) => {
    event.preventDefault();
    work().then(context.reload, (error: unknown) => failure(errorText(error)));
  };
  if (task.status === 'requested' || task.status === 'received') {
    return html`<div class="actions">
      <button type="button" @click=${run(() => acceptReferral(task, role))}>Accepteren</button>
      <details>
        <summary>Afwijzen</summary>
        <form @submit=${run((form = `reject-${id}`) => rejectReferral(task, role, formValue(form, 'reden')))} id="reject-${id}">
          <label for="reden-${id}">Reden van afwijzing</label>
          <input id="reden-${id}" name="reden" required>
          <button type="submit">Afwijzing versturen</button>
        </form>
      </details>
    </div>`;
  }
  if (task.status === 'accepted' || task.status === 'in-progress') {
    return html`<details class="actions">
      <summary>Afronden met terugkoppeling</summary>
      <form @submit=${run(() => completeReferral(task, referral.request, role, formValue(`complete-${id}`, 'terugkoppeling')))} id="complete-${id}">
        <label for="terugkoppeling-${id}">Terugkoppeling aan de verwijzer</label>
        <textarea id="terugkoppeling-${id}" name="terugkoppeling" rows="4" required></textarea>
        <button type="submit">Afronden en versturen</button>
      </form>
    </details>`;
  }
  return nothing;
}

function row(referral: Referral, direction: 'in' | 'uit', cells: { action: TemplateResult | typeof nothing }): TemplateResult {
  const { request, task, feedback } = referral;
  const overdue = isOverdue(task);
  const patient = request.subject.reference?.replace(/^Patient\//, '');
  const status = task?.status ?? request.status;
  return html`<tr class=${overdue ? 'overdue' : ''} data-referral=${request.id ?? ''}>
    <td>${patient ? html`<a href=${href('patient', patient)}>${referenceText(request.subject)}</a>` : referenceText(request.subject)}</td>
    <td>${disciplineName(disciplineOf(request.performerType))}<br><span class="muted">${request.code ? conceptText(request.code) : conceptText(request.reasonCode?.[0])}</span></td>
    <td>${direction === 'in' ? referenceText(request.requester) : referenceText(task?.owner ?? request.performer?.[0])}</td>
    <td><span class="status status-${status}">${TASK_STATUS[status] ?? status}</span>${task?.statusReason ? html`<br><span class="muted">${conceptText(task.statusReason)}</span>` : nothing}</td>
    <td class="number">${ageInDays(request.authoredOn) ?? '—'}</td>
    <td>
      ${overdue ? html`<strong class="warning">Terugkoppeling te laat</strong>` : nothing}
      ${feedback.length > 0 ? html`<a href=${href('brief', request.id)}>Terugkoppeling ${dateText(feedback[0]?.sent)}</a>` : overdue ? nothing : html`<span class="muted">Nog geen</span>`}
    </td>
    <td>${cells.action}</td>
  </tr>`;
}

function table(caption: string, referrals: Referral[], body: (r: Referral) => TemplateResult): TemplateResult {
  return html`<table>
    <caption>${caption} (${referrals.length})</caption>
    <thead><tr><th scope="col">Patiënt</th><th scope="col">Discipline</th><th scope="col">${caption.startsWith('Inkomend') ? 'Verwijzer' : 'Behandelaar'}</th><th scope="col">Status</th><th scope="col">Dagen</th><th scope="col">Terugkoppeling</th><th scope="col">Acties</th></tr></thead>
    <tbody>${referrals.length === 0 ? html`<tr><td colspan="7" class="muted">Geen verwijzingen</td></tr>` : referrals.map(body)}</tbody>
  </table>`;
}

export const referralsPage: Page = async (context) => {
  const who = await me();
  if (who.roles.length === 0) {
    return html`<h1>Verwijzingen</h1><p role="alert">Uw rol als zorgverlener is niet bekend bij Schakel (fhirUser), dus er is geen inbox te tonen.</p>`;
  }
  const { incoming, outgoing } = await load(who);
  const failures: string[] = [];
  const failure = (message: string): void => {
    failures.push(message);
    const slot = document.getElementById('referral-error');
    if (slot) {
      slot.textContent = message;
    }
  };
  return html`<h1>Verwijzingen</h1>
    <p id="referral-error" class="error" role="alert"></p>
    ${table('Inkomende verwijzingen', incoming, (r) => row(r, 'in', { action: actions(r, who, context, failure) }))}
    ${table('Uitgaande verwijzingen', outgoing, (r) => row(r, 'uit', { action: nothing }))}`;
};
