/**
 * Principal x interaction -> allowed or 403 (SMART scopes bound the kind of operation,
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-fhir-resources):
 * c create, r read/vread/instance history, u update/patch, d delete, s search/type and system
 * history. Checked in dispatch before the handler runs, for HTTP and Bundle entries alike. Rules
 * that hold whatever the scopes say come first: the audit log is append-only (NEN 7513 §"Beveiliging
 * van de logging"), and a user never hard-deletes clinical data (mark it entered-in-error instead).
 */
import { issue, methodNotAllowed, OperationOutcomeError, outcome } from '../fhir/outcomes.js';
import type { FhirRequest, InteractionCode } from '../fhir/request.js';
import type { Principal } from './principal.js';
import type { Permission } from './scopes.js';
import { isClinicalType } from './clinical-types.js';

const PERMISSION: Partial<Record<InteractionCode, Permission>> = {
  read: 'r',
  vread: 'r',
  'history-instance': 'r',
  'history-type': 's',
  'search-type': 's',
  create: 'c',
  update: 'u',
  'conditional-update': 'u',
  patch: 'u',
  'conditional-patch': 'u',
  delete: 'd',
  'conditional-delete': 'd',
};

const CHANGES: ReadonlySet<InteractionCode> = new Set(['update', 'conditional-update', 'patch', 'conditional-patch', 'delete', 'conditional-delete']);
const DELETES: ReadonlySet<InteractionCode> = new Set(['delete', 'conditional-delete']);

/** Types that are append-only over the API, for everyone. */
export const APPEND_ONLY_TYPES: ReadonlySet<string> = new Set(['AuditEvent']);

export function forbiddenScope(text: string): OperationOutcomeError {
  return new OperationOutcomeError(outcome('forbidden', [issue({ code: 'forbidden', text })]));
}

function any(principal: Principal, type: string, permissions: readonly Permission[]): boolean {
  return permissions.some((p) => principal.scopes.allows(type, p));
}

function requireScope(principal: Principal, type: string, permissions: readonly Permission[]): void {
  if (!any(principal, type, permissions)) {
    throw forbiddenScope(`The token has no ${principal.kind}/${type}.${permissions.join('|')} scope`);
  }
}

/** Types a system-level request names (`_type`), or undefined for every type. */
function systemTypes(request: FhirRequest): string[] | undefined {
  const values = request.query.filter(([k]) => k === '_type').flatMap(([, v]) => v.split(','));
  return values.length === 0 ? undefined : values.map((v) => v.trim()).filter((v) => v !== '');
}

/**
 * Throws 403 (or 405 for the append-only log) when the principal may not run this interaction.
 * `changesData`: the request is an operation whose definition affects state (`$apply`), invoked
 * with POST; other operations ($validate, $expand, $logbook...) need only a read or search scope.
 */
export function authorizeInteraction(principal: Principal, request: FhirRequest, changesData = false): void {
  const type = request.resourceType;
  const code = request.interaction;
  if (type !== undefined && APPEND_ONLY_TYPES.has(type) && CHANGES.has(code)) {
    throw methodNotAllowed(`${type} is append-only: it cannot be updated, patched or deleted`);
  }
  if (principal.kind === 'user' && type !== undefined && DELETES.has(code) && isClinicalType(type)) {
    throw new OperationOutcomeError(
      outcome('forbidden', [issue({ code: 'forbidden', text: `${type} is clinical data: mark it entered-in-error instead of deleting it` })])
    );
  }
  switch (code) {
    case 'capabilities':
    case 'batch-transaction':
      return;
    case 'search-system':
    case 'history-system': {
      const types = systemTypes(request);
      if (types === undefined) {
        if (principal.scopes.scopes.every((s) => !s.permissions.has('s'))) {
          throw forbiddenScope('The token has no search scope');
        }
        return;
      }
      types.forEach((t) => requireScope(principal, t, ['s']));
      return;
    }
    case 'search-compartment':
      requireScope(principal, request.compartmentType as string, ['s']);
      return;
    case 'operation': {
      if (type === undefined) {
        if (principal.scopes.scopes.length === 0) {
          throw forbiddenScope('The token has no scope');
        }
        return;
      }
      // Operations that change data need a write scope, others a read or search scope on the type.
      requireScope(principal, type, changesData ? ['c', 'u'] : ['r', 's']);
      return;
    }
    default: {
      const permission = PERMISSION[code];
      if (permission === undefined || type === undefined) {
        throw forbiddenScope(`${code} is not available to tokens`);
      }
      requireScope(principal, type, [permission]);
    }
  }
}
