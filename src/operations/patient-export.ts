// Patient/$export: https://hl7.org/fhir/uv/bulkdata/export.html#endpoint---all-patients
/** The Patient compartments of every patient the requester may see (shared kick-off: export-kickoff.ts). */
import type { OperationDefinition } from '@medplum/fhirtypes';
import { EXPORT_PARAMETERS, kickOffExport, type ExportKickoffDeps } from './export-kickoff.js';
import type { OperationHandler } from './registry.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'patient-export',
  url: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
  name: 'PatientLevelExport',
  status: 'active',
  kind: 'operation',
  code: 'export',
  resource: ['Patient'],
  system: false,
  type: true,
  instance: false,
  affectsState: false,
  parameter: EXPORT_PARAMETERS,
};

export function patientExportOperation(deps: ExportKickoffDeps): OperationHandler {
  return {
    name: 'export',
    definition,
    resourceTypes: ['Patient'],
    levels: ['type'],
    handle: (ctx, request, input) => kickOffExport(ctx, request, 'patient', deps, input),
  };
}
