// $logbook on a Patient: GET [base]/Patient/{id}/$logbook (docs/care-workflows.md)
/**
 * A patient's entries are everything about the patient, across plans and referrals. The search
 * itself is the joint logbook's (logbook-operation.ts).
 */
import { logbookOperation } from './logbook-operation.js';

export const patientLogbookOperation = logbookOperation(
  'Patient',
  'The joint logbook of a patient: every Observation, Communication, Procedure and Encounter about the patient, from all care teams, newest first, with date, category and author-discipline filters and paging.',
  async (ctx, id) => {
    await ctx.repo.read('Patient', id);
    return [['patient', `Patient/${id}`]];
  }
);
