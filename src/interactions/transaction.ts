// transaction: https://hl7.org/fhir/R4/http.html#transaction (Bundle.type = transaction)
/**
 * All or nothing, in one database transaction (http.html#trules): the entries are planned (ids,
 * conditional matches, links; bundle/transaction-plan.ts), then run through dispatch with the
 * transaction's repository in the order DELETE, POST, PUT/PATCH, GET/HEAD, and referential
 * integrity is checked once at the end, so entries may point at each other in any order. The
 * first failure rolls everything back and answers with that entry's status and an
 * OperationOutcome rooted in the Bundle (`Bundle.entry[3].resource.subject`); otherwise the
 * response is a transaction-response Bundle in the order of the request.
 */
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { isOperationOutcomeError, notSupported, OperationOutcomeError } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse, InteractionCode } from '../fhir/request.js';
import type { BundleEnvelope, Dispatch } from './bundle/bundle-envelope.js';
import { entryRequest } from './bundle/bundle-entry-request.js';
import { anchorOutcome, entryResourceType, responseBundle, responseEntry } from './bundle/bundle-response.js';
import type { FhirContext } from './context.js';
import { planTransaction, type PlannedEntry } from './bundle/transaction-plan.js';

/** Processing order of http.html#trules; reads, searches and operations come last. */
const STEP: Partial<Record<InteractionCode, number>> = {
  delete: 1,
  'conditional-delete': 1,
  create: 2,
  update: 3,
  'conditional-update': 3,
  patch: 3,
  'conditional-patch': 3,
};
const LAST_STEP = 4;

/** A transaction is one unit of work: it cannot hold another batch or transaction (docs/bundles.md). */
function refuseNested(request: FhirRequest, index: number): void {
  if (request.interaction === 'batch-transaction') {
    throw notSupported('A transaction cannot hold another batch or transaction', `Bundle.entry[${index}].request.url`);
  }
  const body = request.body as Bundle | undefined;
  if (body?.resourceType === 'Bundle' && (body.type === 'transaction' || body.type === 'batch')) {
    throw notSupported(`A transaction cannot hold a ${body.type} Bundle as a resource`, `Bundle.entry[${index}].resource`);
  }
}

async function runEntry(ctx: FhirContext, entry: PlannedEntry, run: Dispatch): Promise<FhirResponse> {
  try {
    return await run(ctx, entry.request);
  } catch (error) {
    if (isOperationOutcomeError(error)) {
      throw new OperationOutcomeError(anchorOutcome(error.outcome, entry.index, entryResourceType(entry.request)), error);
    }
    throw error;
  }
}

export async function transaction(
  ctx: FhirContext,
  request: FhirRequest,
  envelope: BundleEnvelope,
  run: Dispatch
): Promise<FhirResponse> {
  const parsed = envelope.entries.map((entry: BundleEntry, index) => {
    const entryReq = entryRequest(ctx, request, entry, index);
    refuseNested(entryReq, index);
    return { index, fullUrl: entry.fullUrl, request: entryReq };
  });
  return ctx.repo.transaction(async (repo) => {
    repo.deferWrites();
    const txCtx: FhirContext = { ...ctx, repo };
    const plan = await planTransaction(txCtx, parsed);
    const order = [...plan].sort(
      (a, b) => (STEP[a.request.interaction] ?? LAST_STEP) - (STEP[b.request.interaction] ?? LAST_STEP) || a.index - b.index
    );
    const responses = new Map<number, FhirResponse>();
    let step = 0;
    for (const entry of order) {
      const entryStep = STEP[entry.request.interaction] ?? LAST_STEP;
      if (entryStep !== step) {
        // New resources of a step are written in bulk before the next step sees the database.
        await repo.flushWrites();
        step = entryStep;
      }
      responses.set(entry.index, await runEntry(txCtx, entry, run));
    }
    const anchors = new Map<string, string>();
    for (const entry of plan) {
      if (entry.identity !== undefined) {
        const deletes = entry.request.interaction === 'delete' || entry.request.interaction === 'conditional-delete';
        anchors.set(entry.identity, `Bundle.entry[${entry.index}].${deletes ? 'request' : 'resource'}`);
      }
    }
    await repo.checkDeferredIntegrity((type, id) => anchors.get(`${type}/${id}`));
    const entries = plan.map((entry) => responseEntry(entry.request, responses.get(entry.index) as FhirResponse));
    return { status: 200, resource: responseBundle('transaction-response', entries) };
  });
}
