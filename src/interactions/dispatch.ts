/**
 * The single wrapper of every interaction: HTTP and Bundle entries both come through here.
 * It authorizes (scopes: 403), narrows the repository and search to what the principal may see,
 * runs the handler (writes inside one database transaction), re-checks what is returned, applies
 * Prefer to write results, and records the interaction in the audit trail, also when it fails, so
 * no interaction can bypass auth or audit.
 */
import type { Bundle, CapabilityStatement } from '@medplum/fhirtypes';
import { accessScope, type AccessScope } from '../auth/access-scope.js';
import { authorizeInteraction } from '../auth/authorize.js';
import { withoutForeignClaimCodes } from '../auth/claim-code-visibility.js';
import { auditRecord, type AuditRecord } from '../audit/audit-record.js';
import { assertAuditSearch, AuditUnavailableError } from '../audit/audit-trail.js';
import { auditFailure, commitAuditRecord } from '../audit/audit-commit.js';
import { auditLogHandler } from '../audit/audit-log.js';
import { isOperationOutcomeError, OperationOutcomeError, outcome, issue, RefusedAccessError, serverError, statusOf } from '../fhir/outcomes.js';
import { WRITE_INTERACTIONS, type FhirRequest, type FhirResponse, type InteractionCode } from '../fhir/request.js';
import { batchOrTransaction } from './bundle/bundle-envelope.js';
import { buildCapabilityStatement } from './capabilities.js';
import { deleteWithBuiltIns, historyWithBuiltIns, readWithBuiltIns, searchWithBuiltIns, vreadWithBuiltIns } from './built-in-definitions.js';
import { metadataResponse } from './metadata-response.js';
import type { FhirContext } from './context.js';
import { create } from './create.js';
import { conditionalDelete, deleteInteraction } from './delete.js';
import { history } from './history.js';
import { operation } from './operation.js';
import { conditionalPatch, patch } from './patch.js';
import { read } from './read.js';
import { actionOf, captureFailure, captureIdentifiedPatients, captureRequest, captureResponse, returned } from '../audit/audit-capture.js';
import { recheckResponse } from '../auth/response-recheck.js';
import { narrowed } from '../auth/narrowing.js';
import { noteCommittedWrite, onReadReplica } from './replica-reads.js';
import { applyPrefer } from './respond.js';
import { isConnectionFault } from '../storage/connection-faults.js';
import { searchCompartment, searchSystem, searchType } from './search.js';
import { conditionalUpdate, update } from './update.js';
import { vread } from './vread.js';

export type InteractionHandler = (ctx: FhirContext, request: FhirRequest) => Promise<FhirResponse>;

const capabilityCache = new WeakMap<FhirContext['search'], Map<string, CapabilityStatement>>();

/** The CapabilityStatement for one base URL, built once per search service and base (the OpenAPI document derives from it). */
export function capabilityStatement(ctx: FhirContext, baseUrl: string): CapabilityStatement {
  let byBase = capabilityCache.get(ctx.search);
  if (!byBase) {
    byBase = new Map();
    capabilityCache.set(ctx.search, byBase);
  }
  let statement = byBase.get(baseUrl);
  if (!statement) {
    statement = buildCapabilityStatement({
      implemented: new Set(Object.keys(HANDLERS) as InteractionCode[]),
      search: ctx.search,
      operations: ctx.operations,
      supportedProfiles: (type) => ctx.validator.profiles.supportedProfiles(type),
      baseUrl,
      referencesEnforced: ctx.config.enforceReferentialIntegrityOnWrite,
    });
    byBase.set(baseUrl, statement);
  }
  return statement;
}

async function capabilities(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  return metadataResponse(capabilityStatement(ctx, request.baseUrl), request);
}

const HANDLERS: Partial<Record<InteractionCode, InteractionHandler>> = {
  capabilities,
  // R4's SearchParameters, StructureDefinitions, ValueSets and CodeSystems are served from memory
  // beside the stored ones (built-in-definitions.ts).
  read: readWithBuiltIns(read),
  vread: vreadWithBuiltIns(vread),
  create,
  update,
  'conditional-update': conditionalUpdate,
  patch,
  'conditional-patch': conditionalPatch,
  delete: deleteWithBuiltIns(deleteInteraction),
  'conditional-delete': conditionalDelete,
  'history-instance': historyWithBuiltIns(history),
  'history-type': history,
  'history-system': history,
  'search-type': searchWithBuiltIns(searchType),
  'search-system': searchSystem,
  'search-compartment': searchCompartment,
  // Entries go through dispatch again, like HTTP requests; passed in to avoid an import cycle.
  'batch-transaction': (ctx, request) => batchOrTransaction(ctx, request, dispatch),
  operation,
};

/** Writes whose response body follows Prefer: return=… */
const PREFER_RETURN: ReadonlySet<InteractionCode> = new Set([
  'create',
  'update',
  'conditional-update',
  'patch',
  'conditional-patch',
]);

const SUCCESS_TEXT: Partial<Record<InteractionCode, string>> = {
  create: 'Created',
  update: 'Updated',
  'conditional-update': 'Updated',
  patch: 'Patched',
  'conditional-patch': 'Patched',
};

export function implementedInteractions(): ReadonlySet<InteractionCode> {
  return new Set(Object.keys(HANDLERS) as InteractionCode[]);
}

function affectsState(ctx: FhirContext, request: FhirRequest): boolean {
  const level = request.id !== undefined ? 'instance' : request.resourceType !== undefined ? 'type' : 'system';
  return ctx.operations.find(request.operation as string, level, request.resourceType)?.definition.affectsState === true;
}

function changesData(ctx: FhirContext, request: FhirRequest): boolean {
  return request.interaction === 'operation' && request.method === 'POST' && affectsState(ctx, request);
}

function inTransaction(ctx: FhirContext, request: FhirRequest): boolean {
  return (
    WRITE_INTERACTIONS.has(request.interaction) ||
    changesData(ctx, request) ||
    (request.interaction === 'batch-transaction' && (request.body as Bundle | undefined)?.type === 'transaction')
  );
}

async function run(ctx: FhirContext, access: AccessScope, handler: InteractionHandler, request: FhirRequest, record: AuditRecord): Promise<FhirResponse> {
  const nested = ctx.auditBuffer;
  if (inTransaction(ctx, request)) {
    const scoped = narrowed(ctx, access);
    const committed = await scoped.repo.transaction(async (repo) => {
      // PostgreSQL may retry the transaction from the start (deadlock): begin the record again.
      record.entities.length = 0;
      const buffer: AuditRecord[] = nested ?? [];
      const mark = buffer.length;
      const answer = await handler({ ...scoped, repo, auditBuffer: buffer }, request);
      const written = returned(answer);
      const response = withoutForeignClaimCodes(access, answer, written);
      captureResponse(record, request, response, written);
      await captureIdentifiedPatients(repo.queryable, record, written);
      record.status = response.status;
      if (nested) {
        nested.push(record);
      } else {
        // Same transaction as the write: no write without its audit record (docs/security.md).
        await ctx.auditTrail.write(repo.queryable, [...buffer.slice(mark), record]);
      }
      return response;
    });
    await noteCommittedWrite(ctx);
    return committed;
  }
  // Reads may run on a read replica; the audit record below is still written on the primary.
  const scoped = await onReadReplica(ctx, narrowed(ctx, access), request);
  const answer = await handler(scoped, request);
  const checked = await recheckResponse(scoped.repo.queryable, access, answer, returned(answer));
  const resources = checked.resources;
  const response = withoutForeignClaimCodes(access, checked.response, resources);
  captureResponse(record, request, response, resources);
  await captureIdentifiedPatients(scoped.repo.queryable, record, resources);
  record.status = response.status;
  if (nested) {
    nested.push(record);
  } else {
    // Awaited: a read whose audit record cannot be written answers 503 without data
    // (docs/security.md). Nothing was written, so the record joins other requests' in one INSERT.
    await commitAuditRecord(ctx.auditCommit, record);
  }
  return response;
}

/** The records a refusal concerns, for their patients' access logs (fhir/outcomes.ts RefusedAccessError). */
function noteRefusedTargets(record: AuditRecord, targets: readonly string[]): void {
  for (const target of targets) {
    record.entities.push(target);
    if (target.startsWith('Patient/')) {
      record.patients.add(target.slice('Patient/'.length));
    }
  }
}

export async function dispatch(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const handler = auditLogHandler(request) ?? HANDLERS[request.interaction];
  if (!handler) {
    throw new OperationOutcomeError(
      outcome('not-implemented', [issue({ code: 'not-supported', text: `${request.interaction} is not supported` })])
    );
  }
  if (request.interaction === 'capabilities') {
    // Public (SMART: the CapabilityStatement is discoverable without a token); holds no data.
    return handler(ctx, request);
  }
  const principal = ctx.principal;
  if (principal === undefined) {
    throw serverError('An interaction reached dispatch without a principal');
  }
  const record = auditRecord({
    event: request.interaction === 'operation' ? 'operation' : request.interaction,
    action: actionOf(request),
    principal,
    address: ctx.address,
    ...(ctx.requestId !== undefined ? { requestId: ctx.requestId } : {}),
    ...(request.resourceType !== undefined ? { resourceType: request.resourceType } : {}),
    ...(request.operation !== undefined ? { operation: request.operation } : {}),
  });
  captureRequest(record, request);
  let response: FhirResponse;
  try {
    authorizeInteraction(principal, request, changesData(ctx, request));
    if (request.interaction === 'search-type' && request.resourceType === 'AuditEvent') {
      assertAuditSearch(request.query);
    }
    const access = ctx.access?.principal === principal ? ctx.access : await accessScope(ctx.repo.queryable, principal);
    response = await run(ctx, access, handler, request, record);
  } catch (error) {
    const fault = isConnectionFault(error);
    record.status = isOperationOutcomeError(error) ? statusOf(error.outcome) : fault ? 503 : 500;
    record.failure = isOperationOutcomeError(error) ? (error.outcome.issue?.[0]?.code ?? 'exception') : fault ? 'transient' : 'exception';
    if (error instanceof RefusedAccessError) {
      noteRefusedTargets(record, error.targets);
    }
    if (error instanceof AuditUnavailableError) {
      // The record of this very request could not be stored; a second try in the same breath
      // would meet the same store.
      throw error;
    }
    if (ctx.auditBuffer) {
      ctx.auditBuffer.push(record);
    } else {
      // After the rollback, with the group commit: refusals and failures are recorded too.
      try {
        await captureFailure(ctx.repo.queryable, record, request);
        await ctx.auditCommit.submit(record);
      } catch (auditError) {
        // With the database away the record cannot be written either; the caller must still
        // learn the original fault (whether its COMMIT may have landed), not the audit's.
        if (!fault || !isConnectionFault(auditError)) {
          throw auditFailure(auditError);
        }
      }
    }
    throw error;
  }
  if (PREFER_RETURN.has(request.interaction)) {
    return applyPrefer(response, request.prefer, SUCCESS_TEXT[request.interaction] ?? 'OK');
  }
  return response;
}
