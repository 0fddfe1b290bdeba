/**
 * Planning a transaction inside its database transaction, before any entry runs
 * (https://hl7.org/fhir/R4/http.html#trules):
 * - every POST gets its server id first, so references to it resolve wherever they are;
 * - conditional creates, updates, patches and deletes are matched (under the same locks their
 *   handlers take again, interactions/conditional-lock.ts), so their identities are known too;
 * - "A resource can only appear in a transaction once (by identity)": overlaps fail with 400;
 * - conditional references are resolved to their single match;
 * - every link to an entry's fullUrl is replaced by that entry's `Type/id`.
 * The handlers then run with these requests exactly as they would for HTTP.
 */
import type { Resource } from '@medplum/fhirtypes';
import { isR4ResourceType } from '../../fhir/definitions.js';
import { newId } from '../../fhir/ids.js';
import { badRequest, issue, isOperationOutcomeError, OperationOutcomeError, outcome } from '../../fhir/outcomes.js';
import type { FhirRequest, QueryParams } from '../../fhir/request.js';
import { conditionalReferences, fullUrlKey, resolveLinks, resolvePatchLinks, resolveQueryLinks, type LinkTargets } from './bundle-references.js';
import { anchorOutcome } from './bundle-response.js';
import { assertNotMany, criteriaOnly, lockAndMatch, parseCriteria } from '../conditional.js';
import type { FhirContext } from '../context.js';

export interface PlannedEntry {
  readonly index: number;
  readonly fullUrl: string | undefined;
  /** The request as it will be dispatched: links resolved, ids chosen. */
  request: FhirRequest;
  /** `Type/id` this entry writes (steps 1-3 of the processing rules), when known. */
  identity?: string;
  /** `Type?criteria` of a conditional write; two entries with the same criteria touch the same resource. */
  conditionalKey?: string;
}

const CONDITIONAL_WRITES = new Set(['conditional-update', 'conditional-patch', 'conditional-delete']);

function criteriaKey(resourceType: string, criteria: QueryParams): string {
  return `${resourceType}?${criteria
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join('&')}`;
}

/** Runs fn; an outcome it throws is re-rooted at the entry (or at `expression` when given). */
async function at<T>(index: number, expression: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!isOperationOutcomeError(error)) {
      throw error;
    }
    if (expression === undefined) {
      throw new OperationOutcomeError(anchorOutcome(error.outcome, index, undefined));
    }
    throw new OperationOutcomeError({ ...error.outcome, issue: (error.outcome.issue ?? []).map((i) => ({ ...i, expression: [expression] })) });
  }
}

function identitiesOf(plan: readonly PlannedEntry[], baseUrl: string): Map<string, string> {
  const identities = new Map<string, string>();
  for (const entry of plan) {
    const deletes = entry.request.interaction === 'delete' || entry.request.interaction === 'conditional-delete';
    if (entry.fullUrl !== undefined && entry.identity !== undefined && !deletes) {
      identities.set(fullUrlKey(entry.fullUrl, baseUrl), entry.identity);
    }
  }
  return identities;
}

/** POSTs get their ids; writes by id know theirs. */
function assignIds(entry: PlannedEntry): void {
  const r = entry.request;
  const type = r.resourceType as string;
  if (r.interaction === 'create') {
    const id = newId();
    entry.request = { ...r, assignedId: id };
    entry.identity = r.ifNoneExist === undefined ? `${type}/${id}` : undefined;
  } else if (r.interaction === 'update' || r.interaction === 'patch' || r.interaction === 'delete') {
    entry.identity = `${type}/${r.id as string}`;
  }
}

async function matchConditional(ctx: FhirContext, entry: PlannedEntry, targets: LinkTargets): Promise<void> {
  const r = entry.request;
  const type = r.resourceType as string;
  const conditionalCreate = r.interaction === 'create' && r.ifNoneExist !== undefined;
  if (!conditionalCreate && !CONDITIONAL_WRITES.has(r.interaction)) {
    return;
  }
  await at(entry.index, undefined, async () => {
    const raw = conditionalCreate ? parseCriteria(r.ifNoneExist, type) : criteriaOnly(r.query);
    const criteria = resolveQueryLinks(raw, targets);
    // The body joins the lock when the entry may write it (interactions/conditional-lock.ts).
    const writes = conditionalCreate || r.interaction === 'conditional-update' ? r.body : undefined;
    const matches = await lockAndMatch(ctx.repo, type, criteria, writes);
    assertNotMany(matches, type, r.interaction);
    entry.conditionalKey = criteriaKey(type, criteria);
    const match = matches[0];
    if (conditionalCreate) {
      entry.request = { ...r, ifNoneExist: new URLSearchParams(criteria as Array<[string, string]>).toString() };
      entry.identity = `${type}/${match ?? r.assignedId}`;
      return;
    }
    entry.request = { ...r, query: criteria };
    if (r.interaction === 'conditional-update') {
      // No match: the resource is created under its own id or one chosen now, so links to it resolve.
      const body = r.body as Resource;
      const id = match ?? body.id ?? newId();
      entry.request = { ...entry.request, body: match === undefined && body.id === undefined ? { ...body, id } : body };
      entry.identity = `${type}/${id}`;
    } else if (match !== undefined) {
      entry.identity = `${type}/${match}`;
    }
  });
}

function assertEachResourceOnce(plan: readonly PlannedEntry[]): void {
  const owners = new Map<string, number>();
  for (const entry of plan) {
    for (const key of [entry.identity, entry.conditionalKey]) {
      if (key === undefined) {
        continue;
      }
      const other = owners.get(key);
      if (other !== undefined && other !== entry.index) {
        throw new OperationOutcomeError(
          outcome('bad-request', [
            issue({
              code: 'business-rule',
              text: `Entries ${other} and ${entry.index} both touch ${key}; a resource can appear in a transaction only once`,
              expression: `Bundle.entry[${entry.index}]`,
            }),
          ])
        );
      }
      owners.set(key, entry.index);
    }
  }
}

/**
 * Conditional references, each to its single match: an entry of this transaction with the same
 * criteria, or a stored resource. R4 says only that "the transaction fails" otherwise; this server
 * answers 412 for several matches (as conditional update does, http.html#cond-update) and 400 for
 * none (the Bundle names a resource that does not exist: a client error in the content, not a
 * missing URL, hence not 404).
 */
async function resolveConditionalReferences(ctx: FhirContext, plan: readonly PlannedEntry[], targets: LinkTargets): Promise<Map<string, string>> {
  const byCriteria = new Map(plan.filter((e) => e.conditionalKey && e.identity).map((e) => [e.conditionalKey as string, e.identity as string]));
  const resolved = new Map<string, string>();
  for (const entry of plan) {
    for (const [reference, path] of conditionalReferences(entry.request.body, `Bundle.entry[${entry.index}].resource`)) {
      if (resolved.has(reference)) {
        continue;
      }
      const q = reference.indexOf('?');
      const type = reference.slice(0, q);
      const target = await at(entry.index, path, async () => {
        if (!isR4ResourceType(type)) {
          throw badRequest(`Unknown resource type "${type}" in a conditional reference`);
        }
        const criteria = resolveQueryLinks(criteriaOnly(parseCriteria(reference.slice(q + 1), type)), targets);
        const inBundle = byCriteria.get(criteriaKey(type, criteria));
        if (inBundle !== undefined) {
          return inBundle;
        }
        const matches = await ctx.repo.findIds(type, criteria);
        if (matches.length !== 1) {
          const many = matches.length > 1;
          throw new OperationOutcomeError(
            outcome(many ? 'precondition-failed' : 'bad-request', [
              issue({
                code: many ? 'multiple-matches' : 'not-found',
                text: `The conditional reference ${reference} matches ${many ? 'more than one' : 'no'} ${type}; it must match exactly one`,
              }),
            ])
          );
        }
        return `${type}/${matches[0] as string}`;
      });
      resolved.set(reference, target);
    }
  }
  return resolved;
}

function resolveEntryLinks(entry: PlannedEntry, targets: LinkTargets): void {
  const r = entry.request;
  const root = `Bundle.entry[${entry.index}].resource`;
  const body = r.body as Resource | unknown[] | undefined;
  if (Array.isArray(body)) {
    entry.request = { ...r, body: resolvePatchLinks(body, root, entry.fullUrl, targets) };
  } else if (body !== undefined && typeof body.resourceType === 'string') {
    entry.request = { ...r, body: resolveLinks(body, root, entry.fullUrl, targets) };
  }
  if (r.method === 'GET' || r.method === 'HEAD') {
    entry.request = { ...entry.request, query: resolveQueryLinks(r.query, targets) };
  }
}

/** The plan of a transaction; `ctx.repo` must be the transaction's repository. */
export async function planTransaction(
  ctx: FhirContext,
  entries: ReadonlyArray<{ index: number; fullUrl: string | undefined; request: FhirRequest }>
): Promise<PlannedEntry[]> {
  const plan: PlannedEntry[] = entries.map((e) => ({ ...e }));
  const baseUrl = entries[0]?.request.baseUrl ?? '';
  plan.forEach(assignIds);
  const identities = identitiesOf(plan, baseUrl);
  const targets: LinkTargets = { identities, conditional: undefined, baseUrl, scope: 'transaction' };
  for (const entry of plan) {
    await matchConditional(ctx, entry, targets);
    if (entry.identity !== undefined && entry.fullUrl !== undefined) {
      identitiesOf([entry], baseUrl).forEach((v, k) => identities.set(k, v));
    }
  }
  assertEachResourceOnce(plan);
  const conditional = await resolveConditionalReferences(ctx, plan, targets);
  const final: LinkTargets = { ...targets, conditional };
  plan.forEach((entry) => resolveEntryLinks(entry, final));
  return plan;
}
