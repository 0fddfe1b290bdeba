/**
 * The second fence of narrowing (auth/narrowing.ts is the first): every resource a read is about
 * to return is re-checked against the access rule before it leaves dispatch.
 */
import type { Resource } from '@medplum/fhirtypes';
import { notFound } from '../fhir/outcomes.js';
import type { FhirResponse } from '../fhir/request.js';
import type { Queryable } from '../storage/database.js';
import { recheck, type AccessScope } from './access-scope.js';

/**
 * Drops returned resources the access rule refuses (a single one answers 404). Reaching this is a
 * defect of the SQL narrowing; the fence keeps it from becoming a leak.
 */
export async function recheckResponse(
  db: Queryable,
  access: AccessScope,
  response: FhirResponse,
  resources: readonly Resource[]
): Promise<{ response: FhirResponse; resources: readonly Resource[] }> {
  if (resources.length === 0) {
    return { response, resources };
  }
  const failed = await recheck(db, access, resources);
  if (failed.size === 0) {
    return { response, resources };
  }
  const body = response.resource;
  if (body?.resourceType !== 'Bundle') {
    const first = resources[0] as Resource;
    throw notFound(`${first.resourceType}/${first.id ?? ''} is not known`);
  }
  const bundle = body;
  const kept = { ...bundle, entry: (bundle.entry ?? []).filter((e) => e.resource === undefined || !failed.has(e.resource)) };
  return { response: { ...response, resource: kept }, resources: resources.filter((r) => !failed.has(r)) };
}
