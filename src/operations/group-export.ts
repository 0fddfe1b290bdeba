// Group/[id]/$export: https://hl7.org/fhir/uv/bulkdata/export.html#endpoint---group-of-patients
/**
 * The Patient compartments of the Group's active Patient members, of those the requester may see
 * (shared kick-off: export-kickoff.ts). A Group the requester may not read answers 404.
 */
import type { OperationDefinition } from '@medplum/fhirtypes';
import { EXPORT_PARAMETERS, kickOffExport, type ExportKickoffDeps } from './export-kickoff.js';
import type { OperationHandler } from './registry.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'group-export',
  url: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export',
  name: 'GroupLevelExport',
  status: 'active',
  kind: 'operation',
  code: 'export',
  resource: ['Group'],
  system: false,
  type: false,
  instance: true,
  affectsState: false,
  parameter: EXPORT_PARAMETERS,
};

export function groupExportOperation(deps: ExportKickoffDeps): OperationHandler {
  return {
    name: 'export',
    definition,
    resourceTypes: ['Group'],
    levels: ['instance'],
    handle: (ctx, request, input) => kickOffExport(ctx, request, 'group', deps, input),
  };
}
