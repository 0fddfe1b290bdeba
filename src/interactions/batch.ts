// batch: https://hl7.org/fhir/R4/http.html#transaction (Bundle.type = batch)
/**
 * Each entry is processed on its own, as if it were a separate HTTP request: through dispatch and,
 * for a write, in its own database transaction. A failing entry gets its status and
 * OperationOutcome in the response while the others commit. Entries of a batch "SHALL NOT" depend
 * on each other, so a `urn:uuid:` link to another entry or a conditional reference (a transaction
 * feature, http.html#trules) fails the entry that holds it. A transaction posted as an entry
 * (POST [base]) runs atomically on its own; a batch inside a batch is refused.
 */
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { isOperationOutcomeError, notSupported } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { BundleEnvelope, Dispatch } from './bundle/bundle-envelope.js';
import { entryRequest } from './bundle/bundle-entry-request.js';
import { resolveLinks, type LinkTargets } from './bundle/bundle-references.js';
import { anchorOutcome, entryResourceType, failedEntry, responseBundle, responseEntry } from './bundle/bundle-response.js';
import type { FhirContext } from './context.js';

/** The request as it will run: links checked, nested batches refused. Errors are anchored already. */
function prepare(request: FhirRequest, index: number): FhirRequest {
  const at = `Bundle.entry[${index}].resource`;
  if (request.interaction === 'batch-transaction' && (request.body as Bundle | undefined)?.type !== 'transaction') {
    throw notSupported('A batch entry may hold a transaction, not another batch', at);
  }
  const body = request.body as { resourceType?: unknown } | undefined;
  if (body === undefined || Array.isArray(body) || typeof body.resourceType !== 'string') {
    return request;
  }
  const targets: LinkTargets = { identities: new Map(), conditional: undefined, baseUrl: request.baseUrl, scope: 'batch' };
  return { ...request, body: resolveLinks(request.body as never, at, undefined, targets) };
}

async function batchEntry(
  ctx: FhirContext,
  outer: FhirRequest,
  entry: BundleEntry,
  index: number,
  run: Dispatch
): Promise<BundleEntry> {
  let request: FhirRequest;
  try {
    request = prepare(entryRequest(ctx, outer, entry, index), index);
  } catch (error) {
    if (isOperationOutcomeError(error)) {
      return failedEntry(error.outcome);
    }
    throw error;
  }
  let response: FhirResponse;
  try {
    response = await run(ctx, request);
  } catch (error) {
    if (isOperationOutcomeError(error)) {
      return failedEntry(anchorOutcome(error.outcome, index, entryResourceType(request)));
    }
    // Not an outcome: a bug or a lost database. The whole request fails (and is logged) rather
    // than hiding it in one entry; entries before this one stay committed, as in any batch.
    throw error;
  }
  return responseEntry(request, response);
}

export async function batch(ctx: FhirContext, request: FhirRequest, envelope: BundleEnvelope, run: Dispatch): Promise<FhirResponse> {
  const entries: BundleEntry[] = [];
  for (const [index, entry] of envelope.entries.entries()) {
    entries.push(await batchEntry(ctx, request, entry, index, run));
  }
  return { status: 200, resource: responseBundle('batch-response', entries) };
}
