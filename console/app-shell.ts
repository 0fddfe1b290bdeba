/**
 * The frame around every page: skip link target, navigation (keyboard reachable, the current page
 * marked with aria-current), the page drawn into <main>, errors announced in an alert.
 */
import { html, nothing, render, type TemplateResult } from 'lit-html';
import { errorText } from './views/forms.js';
import { currentRoute, href } from './router.js';
import { careBridgePage } from './pages/care-bridge.js';
import { letterPage } from './pages/letter.js';
import { logbookPage } from './pages/logbook.js';
import { outcomesPage } from './pages/outcomes.js';
import { patientPage } from './pages/patient.js';
import { referralsPage } from './pages/referrals.js';
import { currentSession } from './smart/session.js';
import type { Page, PageContext } from './views/page.js';

const PAGES: Readonly<Record<string, Page>> = {
  verwijzingen: referralsPage,
  patient: patientPage,
  logboek: logbookPage,
  zorgbrug: careBridgePage,
  uitkomsten: outcomesPage,
  brief: letterPage,
};

const focus: { patient?: string; carePlan?: string } = {};
let drawing = 0;

function root(): HTMLElement {
  const element = document.getElementById('app');
  if (element === null) {
    throw new Error('no #app element');
  }
  return element;
}

function navigation(page: string): TemplateResult {
  const link = (name: string, label: string, target: string | undefined) =>
    html`<li><a href=${href(name, target)} aria-current=${page === name ? 'page' : 'false'}>${label}</a></li>`;
  const patient = focus.patient ?? currentSession()?.patient?.replace(/^Patient\//, '');
  return html`<nav aria-label="Hoofdmenu"><ul>
    ${link('verwijzingen', 'Verwijzingen', undefined)}
    ${link('patient', 'Patiënt', patient)}
    ${focus.carePlan ? link('logboek', 'Logboek', focus.carePlan) : nothing}
    ${focus.carePlan ? link('zorgbrug', 'Zorgbrug', focus.carePlan) : nothing}
    ${link('uitkomsten', 'Uitkomsten', patient)}
  </ul></nav>`;
}

function frame(page: string, content: TemplateResult): TemplateResult {
  const session = currentSession();
  return html`<header class="top"><span class="brand">Schakel</span><span class="user">${session?.userName ?? session?.fhirUser ?? ''}</span></header>
    ${navigation(page)}
    <main id="inhoud" tabindex="-1" data-page=${page}>${content}</main>`;
}

async function draw(): Promise<void> {
  const ticket = ++drawing;
  const route = currentRoute();
  const page = PAGES[route.page];
  const context: PageContext = {
    route,
    reload: () => void draw(),
    remember: (next) => Object.assign(focus, next),
  };
  delete root().dataset['ready'];
  render(frame(route.page, html`<p class="status" role="status">Laden…</p>`), root());
  let content: TemplateResult;
  try {
    content = page === undefined ? html`<h1>Niet gevonden</h1><p>Deze pagina bestaat niet.</p>` : await page(context);
  } catch (error) {
    content = html`<h1>Er ging iets mis</h1><p role="alert" class="error">${errorText(error)}</p>`;
  }
  if (ticket === drawing) {
    render(frame(route.page, content), root());
    root().dataset['ready'] = route.page;
  }
}

export function start(): void {
  // The static "Laden…" of index.html: lit-html renders beside content it did not make.
  root().replaceChildren();
  // The skip link must not change the hash: that is the router's (router.ts).
  document.querySelector('a.skip')?.addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('inhoud')?.focus();
  });
  window.addEventListener('hashchange', () => void draw());
  void draw();
}

export function showFatal(error: unknown): void {
  root().replaceChildren();
  render(html`<main id="inhoud"><h1>Aanmelden mislukt</h1><p role="alert" class="error">${errorText(error)}</p><p><a href="./">Opnieuw proberen</a></p></main>`, root());
}
