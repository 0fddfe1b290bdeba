/**
 * Shared rules of the conditional interactions (https://hl7.org/fhir/R4/http.html#ccreate,
 * #cond-update, #cdelete): criteria parsing, serialisation under locks, and the 0 / 1 / many outcome.
 */
import { badRequest, preconditionFailed } from '../fhir/outcomes.js';
import { assertNoNul, type QueryParams } from '../fhir/request.js';
import type { Repository } from '../repository/repository.js';
import { conditionalLocks } from './conditional-lock.js';

/** Parameters that shape a response, not a match; they do not count as criteria. */
const RESULT_PARAMETERS = new Set(['_format', '_pretty', '_summary', '_elements', '_count', '_sort']);

/** `identifier=a|b&active=true`, with an optional leading `?` or `Type?`, as ordered pairs. */
export function parseCriteria(text: string, resourceType: string): QueryParams {
  let query = text.trim();
  if (query.startsWith(`${resourceType}?`)) {
    query = query.slice(resourceType.length + 1);
  } else if (query.startsWith('?')) {
    query = query.slice(1);
  }
  if (query === '') {
    throw badRequest('Conditional criteria are empty');
  }
  const criteria = [...new URLSearchParams(query)];
  assertNoNul(criteria, 'The conditional criteria');
  return criteria;
}

export function criteriaOnly(query: QueryParams): QueryParams {
  return query.filter(([name]) => !RESULT_PARAMETERS.has(name));
}

/**
 * Matches of the criteria, found after taking the locks of conditional-lock.ts, so that concurrent
 * conditional writes that can match the same resource see each other's result instead of both
 * creating. The advisory locks last until the transaction ends, so the creating writer holds them
 * until its commit; the search runs as a statement after the lock is granted and therefore, under
 * READ COMMITTED, sees what the previous holder committed. `resource` is the body the interaction
 * may write (conditional create and update). Must run inside a transaction.
 */
export async function lockAndMatch(repo: Repository, resourceType: string, criteria: QueryParams, resource?: unknown): Promise<string[]> {
  if (criteria.length === 0) {
    throw badRequest('Conditional interaction without search criteria');
  }
  const locks = conditionalLocks(resourceType, criteria, resource);
  await repo.lock(locks.typeKey, locks.typeShared ? 'shared' : 'exclusive');
  for (const key of locks.valueKeys) {
    await repo.lock(key);
  }
  // Two ids are enough to tell one match from many.
  return repo.findIds(resourceType, criteria);
}

/** 412 when the criteria match more than one resource. */
export function assertNotMany(matches: readonly string[], resourceType: string, action: string): void {
  if (matches.length > 1) {
    throw preconditionFailed(`The criteria match more than one ${resourceType} resource; ${action} needs at most one`);
  }
}
