// $versions: https://hl7.org/fhir/R4/capabilitystatement-operation-versions.html
/**
 * GET [base]/$versions: the FHIR versions this endpoint speaks and the one it uses when a client
 * names none (http.html#version-parameter). Schakel speaks R4 only: version 4.0, default 4.0, as
 * the operation's definition writes versions (major.minor, no patch level).
 */
import type { OperationDefinition, Parameters } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { OperationHandler } from './registry.js';

/** FHIR version 4.0.1 (R4) as $versions names it. */
export const FHIR_VERSION = '4.0';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'CapabilityStatement-versions',
  url: 'http://hl7.org/fhir/OperationDefinition/CapabilityStatement-versions',
  name: 'Discover what versions a server supports',
  status: 'active',
  kind: 'operation',
  code: 'versions',
  system: true,
  type: false,
  instance: false,
  affectsState: false,
  parameter: [
    { name: 'version', use: 'out', min: 1, max: '*', type: 'code', documentation: 'A version supported by the server' },
    { name: 'default', use: 'out', min: 1, max: '1', type: 'code', documentation: 'The default version for the server' },
  ],
};

// No input parameters: the definition declares none, so any is refused before this runs.
async function versions(_ctx: unknown, _request: FhirRequest): Promise<FhirResponse> {
  const parameters: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'version', valueCode: FHIR_VERSION },
      { name: 'default', valueCode: FHIR_VERSION },
    ],
  };
  return Promise.resolve({ status: 200, resource: parameters });
}

export const versionsOperation: OperationHandler = {
  name: 'versions',
  definition,
  levels: ['system'],
  handle: versions,
};
