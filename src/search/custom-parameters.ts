/**
 * Schakel's own search parameters (https://hl7.org/fhir/R4/searchparameter.html), for elements R4
 * defines no parameter on, added to the
 * parameter table next to R4's, so they are indexed on write, searchable, sortable and listed in
 * the CapabilityStatement like any other. They exist for the joint logbook (docs/care-workflows.md), which
 * searches Observations, Communications, Procedures and Encounters in one query: a system search
 * over several types needs each parameter on every type, with one meaning.
 *
 * - `author` (reference): who wrote the entry: Observation.performer, Communication.sender,
 *   Procedure.performer.actor, Encounter.participant.individual. The logbook's author-discipline
 *   means `author:PractitionerRole.discipline` (domain/logbook/logbook-search.ts).
 * - `discipline` (token) on PractitionerRole: the discipline of a professional in a role,
 *   PractitionerRole.code and .specialty (RoleCodeNL / UZI codes such as 04.000 Fysiotherapeut sit
 *   in either, depending on the sending system).
 * - `date` on Communication: when it was sent, which R4 only offers as `sent`.
 * - `category` on Encounter: its class (HH = home visit) and type; R4 Encounter has no category.
 *
 * And for the outcome measurements (docs/outcome-questionnaires.md):
 * - Task `restriction-period`: R4's Task `period` covers Task.executionPeriod (when the work was
 *   done), not Task.restriction.period (when it is due). Measurement Tasks carry their due window
 *   there, so overdue measurements are `Task?status=requested&restriction-period=eb{today}`.
 * - Task `output`: what a Task produced (Task.output.valueReference); a completed measurement Task
 *   points at its QuestionnaireResponse, and the indicators join on it.
 *
 * app.ts also stores them as SearchParameter resources, so that the CapabilityStatement's
 * `definition` resolves.
 */
import type { SearchParameter } from '@medplum/fhirtypes';

const BASE = 'http://schakel.nl/fhir/SearchParameter/';

function parameter(fields: Omit<SearchParameter, 'resourceType' | 'status' | 'url' | 'name'> & { id: string }): SearchParameter {
  return { resourceType: 'SearchParameter', url: `${BASE}${fields.id}`, name: fields.id, version: '1.0.0', status: 'active', publisher: 'Schakel', xpathUsage: 'normal', ...fields };
}

export const CUSTOM_SEARCH_PARAMETERS: readonly SearchParameter[] = [
  parameter({
    id: 'logbook-author',
    code: 'author',
    base: ['Observation', 'Communication', 'Procedure', 'Encounter'],
    type: 'reference',
    description: 'Who wrote the logbook entry: Observation.performer, Communication.sender, Procedure.performer.actor, Encounter.participant.individual',
    expression: 'Observation.performer | Communication.sender | Procedure.performer.actor | Encounter.participant.individual',
    target: ['Practitioner', 'PractitionerRole', 'Organization', 'CareTeam', 'Patient', 'RelatedPerson', 'Device'],
  }),
  parameter({
    id: 'practitionerrole-discipline',
    code: 'discipline',
    base: ['PractitionerRole'],
    type: 'token',
    description: 'The discipline of the professional in this role: PractitionerRole.code and PractitionerRole.specialty',
    expression: 'PractitionerRole.code | PractitionerRole.specialty',
  }),
  parameter({
    id: 'communication-date',
    code: 'date',
    base: ['Communication'],
    type: 'date',
    description: 'When the communication was sent (Communication.sent), so that logbook entries of all types sort by one date',
    expression: 'Communication.sent',
  }),
  parameter({
    id: 'encounter-category',
    code: 'category',
    base: ['Encounter'],
    type: 'token',
    description: 'The kind of encounter for the logbook: Encounter.class (e.g. HH, home visit) and Encounter.type',
    expression: 'Encounter.class | Encounter.type',
  }),
  parameter({
    id: 'Task-restriction-period',
    code: 'restriction-period',
    base: ['Task'],
    type: 'date',
    description: 'When the task is due: Task.restriction.period (R4 `period` searches Task.executionPeriod instead)',
    expression: 'Task.restriction.period',
  }),
  // No target types: an output may be any resource, as for R4's Task `focus`.
  parameter({
    id: 'Task-output',
    code: 'output',
    base: ['Task'],
    type: 'reference',
    description: 'Resources the task produced (Task.output.valueReference)',
    expression: 'Task.output.value.ofType(Reference)',
  }),
];
