/**
 * What the Observations a server derives from a QuestionnaireResponse (scores, score-observations.ts;
 * SDC extraction, extracted-observations.ts) share: their status follows the response, and a
 * rewrite that changes nothing adds no version.
 */
import type { Observation, QuestionnaireResponse } from '@medplum/fhirtypes';

/**
 * R4 Observation status: `final` when first stored, `amended` when a final value changes later;
 * unchanged content keeps its status, so rewriting a response without changes adds no version.
 * `entered-in-error` when the response is, `cancelled` when it is no longer completed.
 */
export function observationStatus(response: QuestionnaireResponse, existing: Observation | undefined, changed: boolean): Observation['status'] {
  if (response.status === 'entered-in-error') {
    return 'entered-in-error';
  }
  if (response.status !== 'completed' && response.status !== 'amended') {
    return 'cancelled';
  }
  if (!existing) {
    return 'final';
  }
  const wasFinal = existing.status === 'final' || existing.status === 'amended';
  return changed ? (wasFinal ? 'amended' : 'final') : wasFinal ? existing.status : 'final';
}

/** What a rewrite would change: everything but the server's metadata, the status and the issue instant. */
export function observationContent(observation: Observation): Omit<Observation, 'status'> {
  const { meta: _meta, issued: _issued, status: _status, ...rest } = observation;
  return rest;
}
