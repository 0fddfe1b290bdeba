/**
 * The OperationDefinitions of the two $logbook operations (CarePlan and Patient): the same inputs
 * and output, each on its own resource type.
 */
import type { OperationDefinition, OperationDefinitionParameter } from '@medplum/fhirtypes';

const PARAMETERS: OperationDefinitionParameter[] = [
  {
    name: 'date',
    use: 'in',
    min: 0,
    max: '*',
    type: 'string',
    searchType: 'date',
    documentation: 'When the entry happened (Observation.effective, Communication.sent, Procedure.performed, Encounter.period), with search prefixes: date=ge2026-09-01',
  },
  {
    name: 'category',
    use: 'in',
    min: 0,
    max: '*',
    type: 'string',
    searchType: 'token',
    documentation: 'Category of the entry (Encounter: class and type), e.g. category=vital-signs',
  },
  {
    name: 'author-discipline',
    use: 'in',
    min: 0,
    max: '*',
    type: 'string',
    searchType: 'token',
    documentation: 'Discipline of the PractitionerRole that wrote the entry (PractitionerRole.code or .specialty), e.g. author-discipline=urn:oid:2.16.840.1.113883.2.4.15.111|04.000',
  },
  { name: '_count', use: 'in', min: 0, max: '1', type: 'integer', documentation: 'Entries per page; next links page on' },
  { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'A searchset Bundle of the entries, newest first' },
];

export function logbookDefinition(resourceType: 'CarePlan' | 'Patient', description: string): OperationDefinition {
  return {
    resourceType: 'OperationDefinition',
    id: `${resourceType}-logbook`,
    url: `http://schakel.nl/fhir/OperationDefinition/${resourceType}-logbook`,
    name: `${resourceType}Logbook`,
    title: `Joint logbook of a ${resourceType === 'CarePlan' ? 'care plan' : 'patient'}`,
    status: 'active',
    kind: 'operation',
    description,
    code: 'logbook',
    resource: [resourceType],
    system: false,
    type: false,
    instance: true,
    affectsState: false,
    parameter: PARAMETERS,
  };
}
