/** Dutch display texts for the codes the console shows (docs/care-workflows.md). */
import type { CodeableConcept, Reference } from '@medplum/fhirtypes';

export const ROLE_SYSTEM = 'urn:oid:2.16.840.1.113883.2.4.15.111';

const DISCIPLINES: Readonly<Record<string, string>> = {
  '01.015': 'Huisarts',
  '04.000': 'Fysiotherapeut',
  '30.000': 'Verpleegkundige',
  '94.000': 'Oefentherapeut',
  '01.042': 'Revalidatiearts',
};

export const DISCIPLINE_CODES = Object.keys(DISCIPLINES);

export function disciplineName(code: string | undefined): string {
  return code === undefined ? '—' : (DISCIPLINES[code] ?? code);
}

export function disciplineOf(concept: CodeableConcept | undefined): string | undefined {
  return concept?.coding?.find((c) => c.system === ROLE_SYSTEM)?.code ?? concept?.coding?.[0]?.code;
}

export function conceptText(concept: CodeableConcept | undefined): string {
  return concept?.text ?? concept?.coding?.[0]?.display ?? concept?.coding?.[0]?.code ?? '—';
}

export const TASK_STATUS: Readonly<Record<string, string>> = {
  requested: 'Verstuurd',
  received: 'Ontvangen',
  accepted: 'Geaccepteerd',
  rejected: 'Afgewezen',
  'in-progress': 'In behandeling',
  completed: 'Afgerond',
  failed: 'Mislukt',
  cancelled: 'Ingetrokken',
  'entered-in-error': 'Foutief ingevoerd',
};

export function referenceText(reference: Reference | undefined): string {
  return reference?.display ?? reference?.reference ?? '—';
}

const DAY_MS = 86_400_000;

export function ageInDays(from: string | undefined, now = new Date()): number | undefined {
  return from === undefined ? undefined : Math.max(0, Math.floor((now.getTime() - new Date(from).getTime()) / DAY_MS));
}

export function dateText(value: string | undefined): string {
  if (value === undefined) {
    return '—';
  }
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleDateString('nl-NL', { day: 'numeric', month: 'short', year: 'numeric' });
}

export function dateTimeText(value: string | undefined): string {
  if (value === undefined) {
    return '—';
  }
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString('nl-NL', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}
