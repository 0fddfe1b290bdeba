/**
 * The single wrapper of every interaction: HTTP and Bundle entries both come through here.
 * It picks the handler for the interaction code and applies Prefer to write results; auth and
 * audit hook in here too, so no interaction can bypass them.
 */
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { OperationOutcomeError, outcome, issue } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse, InteractionCode } from '../fhir/request.js';
import { batchOrTransaction } from './bundle-envelope.js';
import { buildCapabilityStatement } from './capabilities.js';
import type { FhirContext } from './context.js';
import { create } from './create.js';
import { conditionalDelete, deleteInteraction } from './delete.js';
import { history } from './history.js';
import { operation } from './operation.js';
import { conditionalPatch, patch } from './patch.js';
import { read } from './read.js';
import { applyPrefer } from './respond.js';
import { searchCompartment, searchSystem, searchType } from './search.js';
import { conditionalUpdate, update } from './update.js';
import { vread } from './vread.js';

export type InteractionHandler = (ctx: FhirContext, request: FhirRequest) => Promise<FhirResponse>;

const capabilityCache = new WeakMap<FhirContext['search'], Map<string, CapabilityStatement>>();

async function capabilities(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  let byBase = capabilityCache.get(ctx.search);
  if (!byBase) {
    byBase = new Map();
    capabilityCache.set(ctx.search, byBase);
  }
  let statement = byBase.get(request.baseUrl);
  if (!statement) {
    statement = buildCapabilityStatement({
      implemented: new Set(Object.keys(HANDLERS) as InteractionCode[]),
      search: ctx.search,
      operations: ctx.operations,
      supportedProfiles: (type) => ctx.validator.profiles.supportedProfiles(type),
      baseUrl: request.baseUrl,
    });
    byBase.set(request.baseUrl, statement);
  }
  return { status: 200, resource: statement };
}

const HANDLERS: Partial<Record<InteractionCode, InteractionHandler>> = {
  capabilities,
  read,
  vread,
  create,
  update,
  'conditional-update': conditionalUpdate,
  patch,
  'conditional-patch': conditionalPatch,
  delete: deleteInteraction,
  'conditional-delete': conditionalDelete,
  'history-instance': history,
  'history-type': history,
  'history-system': history,
  'search-type': searchType,
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

export async function dispatch(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const handler = HANDLERS[request.interaction];
  if (!handler) {
    throw new OperationOutcomeError(
      outcome('not-implemented', [issue({ code: 'not-supported', text: `${request.interaction} is not supported` })])
    );
  }
  const response = await handler(ctx, request);
  if (PREFER_RETURN.has(request.interaction)) {
    return applyPrefer(response, request.prefer, SUCCESS_TEXT[request.interaction] ?? 'OK');
  }
  return response;
}
