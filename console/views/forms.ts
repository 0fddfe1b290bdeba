/** Small helpers for the pages' forms and error messages. */
import { FhirError } from '../fhir-client.js';

export function formValue(formId: string, name: string): string {
  const form = document.getElementById(formId);
  if (!(form instanceof HTMLFormElement)) {
    return '';
  }
  const value = new FormData(form).get(name);
  return typeof value === 'string' ? value.trim() : '';
}

export function errorText(error: unknown): string {
  if (error instanceof FhirError) {
    return error.status === 401 ? 'Uw sessie is verlopen: meld u opnieuw aan.' : `De server weigerde dit (${error.status}): ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
