/**
 * POST [base] with a Bundle (https://hl7.org/fhir/R4/http.html#transaction): the checks on the
 * Bundle as a whole, before any entry runs, and the choice between batch and transaction.
 */
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { badRequest, issue, OperationOutcomeError, outcome } from '../../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../../fhir/request.js';
import { batch } from '../batch.js';
import { fullUrlKey } from './bundle-references.js';
import type { FhirContext } from '../context.js';
import { transaction } from '../transaction.js';

/** How batch and transaction run their entries: dispatch, handed in so the modules do not import each other in a cycle. */
export type Dispatch = (ctx: FhirContext, request: FhirRequest) => Promise<FhirResponse>;

export interface BundleEnvelope {
  readonly type: 'batch' | 'transaction';
  readonly entries: readonly BundleEntry[];
}

/**
 * The Bundle's type and entries. 400 for anything but a batch or transaction Bundle, for entries
 * that are not objects, and for duplicate fullUrls (bdl-7); 413 for more entries than
 * `config.maxBundleEntries`. 413 rather than 400 because the request is not wrong, only larger
 * than this server processes at once (RFC 9110 §15.5.14), which tells the client to split it,
 * the same answer a body over the size limit gets.
 */
export function readEnvelope(ctx: FhirContext, request: FhirRequest): BundleEnvelope {
  const body = request.body;
  ctx.validator.assertResource(body, 'Bundle');
  const bundle = body as Bundle;
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    throw badRequest(`POST [base] accepts a Bundle of type batch or transaction, not ${String(bundle.type)}`, 'Bundle.type');
  }
  const entries = (bundle.entry ?? []) as unknown;
  if (!Array.isArray(entries)) {
    throw badRequest('Bundle.entry must be an array', 'Bundle.entry');
  }
  if (entries.length > ctx.config.maxBundleEntries) {
    throw new OperationOutcomeError(
      outcome('payload-too-large', [
        issue({
          code: 'too-costly',
          text: `A ${bundle.type} may hold at most ${ctx.config.maxBundleEntries} entries; this one has ${entries.length}`,
          expression: 'Bundle.entry',
        }),
      ])
    );
  }
  const seen = new Map<string, number>();
  entries.forEach((entry: unknown, index) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw badRequest('A Bundle entry must be an object', `Bundle.entry[${index}]`);
    }
    const fullUrl = (entry as BundleEntry).fullUrl as unknown;
    if (fullUrl === undefined) {
      return;
    }
    if (typeof fullUrl !== 'string') {
      throw badRequest('fullUrl must be a string', `Bundle.entry[${index}].fullUrl`);
    }
    const key = fullUrlKey(fullUrl, request.baseUrl);
    const first = seen.get(key);
    if (first !== undefined) {
      throw new OperationOutcomeError(
        outcome('bad-request', [
          issue({
            code: 'invariant',
            text: `fullUrl ${fullUrl} is used by entries ${first} and ${index}; it must be unique (bdl-7)`,
            expression: `Bundle.entry[${index}].fullUrl`,
          }),
        ])
      );
    }
    seen.set(key, index);
  });
  return { type: bundle.type, entries: entries as BundleEntry[] };
}

/** The `batch-transaction` interaction: POST [base] with a batch or transaction Bundle. */
export async function batchOrTransaction(ctx: FhirContext, request: FhirRequest, run: Dispatch): Promise<FhirResponse> {
  const envelope = readEnvelope(ctx, request);
  return envelope.type === 'transaction' ? transaction(ctx, request, envelope, run) : batch(ctx, request, envelope, run);
}
