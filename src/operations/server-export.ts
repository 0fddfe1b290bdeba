// $export (system level): https://hl7.org/fhir/uv/bulkdata/export.html#endpoint---system-level-export
/** Every resource the requester may search, of every patient or none (shared kick-off: export-kickoff.ts). */
import type { OperationDefinition } from '@medplum/fhirtypes';
import { EXPORT_PARAMETERS, kickOffExport, type ExportKickoffDeps } from './export-kickoff.js';
import type { OperationHandler } from './registry.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'export',
  url: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
  name: 'BulkDataExport',
  status: 'active',
  kind: 'operation',
  code: 'export',
  system: true,
  type: false,
  instance: false,
  affectsState: false,
  parameter: EXPORT_PARAMETERS,
};

export function systemExportOperation(deps: ExportKickoffDeps): OperationHandler {
  return { name: 'export', definition, levels: ['system'], handle: (ctx, request, input) => kickOffExport(ctx, request, 'system', deps, input) };
}
