/**
 * Search parameters Schakel adds to the R4 set, for elements that R4 defines no parameter on.
 * They join the one parameter table (parameters.ts), so they are indexed on write, searchable,
 * and listed in the CapabilityStatement like the R4 ones; app.ts also stores them as
 * SearchParameter resources so that the CapabilityStatement's `definition` resolves.
 *
 * - Task `restriction-period`: R4's Task `period` covers Task.executionPeriod (when the work was
 *   done), not Task.restriction.period (when it is due). Measurement Tasks carry their due window
 *   there (issue 6), so overdue measurements are `Task?status=requested&restriction-period=eb{today}`.
 * - Task `output`: what a Task produced (Task.output.valueReference); a completed measurement Task
 *   points at its QuestionnaireResponse, and the indicators join on it.
 */
import type { SearchParameter } from '@medplum/fhirtypes';

const BASE = 'http://schakel.nl/fhir/SearchParameter/';

function taskParameter(code: string, type: SearchParameter['type'], expression: string, description: string): SearchParameter {
  return {
    resourceType: 'SearchParameter',
    id: `Task-${code}`,
    url: `${BASE}Task-${code}`,
    version: '1.0.0',
    name: `Task${code.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase())}`,
    status: 'active',
    publisher: 'Schakel',
    description,
    code,
    base: ['Task'],
    type,
    expression,
    xpathUsage: 'normal',
  };
}

export const LOCAL_SEARCH_PARAMETERS: readonly SearchParameter[] = [
  taskParameter(
    'restriction-period',
    'date',
    'Task.restriction.period',
    'When the task is due: Task.restriction.period (R4 `period` searches Task.executionPeriod instead)'
  ),
  // No target types: an output may be any resource, as for R4's Task `focus`.
  taskParameter('output', 'reference', 'Task.output.value.ofType(Reference)', 'Resources the task produced (Task.output.valueReference)'),
];
