/**
 * $progress's answer as a Parameters resource (the output of an operation that returns no single
 * resource, https://hl7.org/fhir/R4/parameters.html):
 *
 *   carePlan      Reference       the plan
 *   asOf          date            the day the figures are for
 *   window        part: start, end (date), daysTotal, daysLeft (integer)
 *   activity *    part: index (integer), code, discipline (CodeableConcept), performer, request
 *                 (Reference), allowed, onIndication, used, remaining (integer),
 *                 visit * (part: visit (Reference), date (dateTime), flag * (Coding))
 *   unplannedVisit *  part as visit: based on the plan but matching none of its activities
 *   flagged       integer         visits with a warning flag (over-limit, outside-window, unplanned)
 *
 * Flags are codes of http://schakel.nl/fhir/CodeSystem/care-plan-progress with Dutch displays.
 */
import type { CodeableConcept, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { PROGRESS_FLAGS } from './profiles.js';
import type { PlanProgress, VisitProgress } from './progress.js';
import { isWarning, flagDisplay } from './visit-findings.js';

function visitPart(name: string, entry: VisitProgress): ParametersParameter {
  return {
    name,
    part: [
      { name: 'visit', valueReference: { reference: entry.visit.reference } },
      ...(entry.visit.date !== undefined ? [{ name: 'date', valueDateTime: entry.visit.date }] : []),
      ...entry.flags.map((flag) => ({ name: 'flag', valueCoding: { system: PROGRESS_FLAGS, code: flag, display: flagDisplay(flag) } })),
    ],
  };
}

const integer = (name: string, value: number | undefined): ParametersParameter[] => (value === undefined ? [] : [{ name, valueInteger: value }]);

export function progressParameters(planReference: string, progress: PlanProgress, disciplines: ReadonlyMap<string, CodeableConcept>): Parameters {
  const { window } = progress;
  const activities: ParametersParameter[] = progress.activities.map(({ limit, used, visits }) => {
    const discipline = limit.performer === undefined ? undefined : disciplines.get(limit.performer);
    return {
      name: 'activity',
      part: [
        { name: 'index', valueInteger: limit.index },
        ...(limit.code ? [{ name: 'code', valueCodeableConcept: limit.code }] : []),
        ...(discipline ? [{ name: 'discipline', valueCodeableConcept: discipline }] : []),
        ...(limit.performer ? [{ name: 'performer', valueReference: { reference: limit.performer } }] : []),
        ...(limit.request ? [{ name: 'request', valueReference: { reference: limit.request } }] : []),
        ...integer('allowed', limit.allowed),
        { name: 'onIndication', valueInteger: limit.onIndication },
        { name: 'used', valueInteger: used },
        ...integer('remaining', limit.allowed === undefined ? undefined : Math.max(0, limit.allowed + limit.onIndication - used)),
        ...visits.map((v) => visitPart('visit', v)),
      ],
    };
  });
  const all = [...progress.activities.flatMap((a) => a.visits), ...progress.unplanned];
  const windowParts: ParametersParameter[] = [
    ...(window.start !== undefined ? [{ name: 'start', valueDate: window.start }] : []),
    ...(window.end !== undefined ? [{ name: 'end', valueDate: window.end }] : []),
    ...integer('daysTotal', window.daysTotal),
    ...integer('daysLeft', window.daysLeft),
  ];
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'carePlan', valueReference: { reference: planReference } },
      { name: 'asOf', valueDate: progress.asOf },
      ...(windowParts.length > 0 ? [{ name: 'window', part: windowParts }] : []),
      ...activities,
      ...progress.unplanned.map((v) => visitPart('unplannedVisit', v)),
      { name: 'flagged', valueInteger: all.filter((v) => v.flags.some(isWarning)).length },
    ],
  };
}
