/**
 * Shared rules of the conditional interactions (https://hl7.org/fhir/R4/http.html#ccreate,
 * #cond-update, #cdelete): criteria parsing, serialisation under a lock, and the 0 / 1 / many outcome.
 */
import { badRequest, preconditionFailed } from '../fhir/outcomes.js';
import { assertNoNul, type QueryParams } from '../fhir/request.js';
import type { Repository } from '../repository/repository.js';

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
 * Matches of the criteria, found after taking a lock on them, so that concurrent conditional
 * writes with the same criteria see each other's result instead of both creating.
 * Must run inside a transaction.
 */
export async function lockAndMatch(repo: Repository, resourceType: string, criteria: QueryParams): Promise<string[]> {
  if (criteria.length === 0) {
    throw badRequest('Conditional interaction without search criteria');
  }
  const key = `${resourceType}?${[...criteria]
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join('&')}`;
  await repo.lock(key);
  // Two ids are enough to tell one match from many.
  return repo.findIds(resourceType, criteria);
}

/** 412 when the criteria match more than one resource. */
export function assertNotMany(matches: readonly string[], resourceType: string, action: string): void {
  if (matches.length > 1) {
    throw preconditionFailed(`The criteria match more than one ${resourceType} resource; ${action} needs at most one`);
  }
}
