/**
 * The access rules of writes (docs/security.md), a WriteHook so that they hold for every write in the
 * request's transaction: HTTP, Bundle entries, and writes that domain rules make on the caller's
 * behalf.
 * - What the caller changes or deletes must be visible to them (404 otherwise, as if missing);
 *   read grants (read-grants.ts) do not count: they are for reading only.
 * - The patients a resource belongs to cannot change on update (Group and List, which are lists
 *   of patients, excepted): moving data to another patient's record would escape narrowing.
 * - Every reference must point at something the caller may see (422 not-found, exactly as for a
 *   reference to nothing; the referential-integrity check answers for missing ones), references
 *   by identifier included (repository/identifier-references.ts resolved them for this check).
 * - The one exception: the owner of an open notification Task of notified pull, who reads it by
 *   grant, may update it within the elements it owns (notification-receiver.ts).
 * Who may move a referral Task is a rule of the referral itself (domain/referral/referral-actor.ts);
 * auth supplies the actor (referral-actor.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import { collectReferences, parseLocalReference } from '../fhir/references.js';
import { issue, notFound, unprocessable } from '../fhir/outcomes.js';
import type { Repository } from '../repository/repository.js';
import type { ResourceChange, WriteHook } from '../repository/types.js';
import type { AccessScope } from './access-scope.js';
import { assertReceiverUpdate } from '../domain/notified-pull/receiver-update.js';
import { receivedNotification, receiverAdditions } from './notification-receiver.js';
import { directPatients, identifiedPatients } from './patients-of.js';

const PATIENT_LISTS: ReadonlySet<string> = new Set(['Group', 'List', 'Patient']);

function bindAll(params: unknown[]): (value: unknown) => string {
  return (value) => {
    params.push(value);
    return `$${params.length}`;
  };
}

async function visible(repo: Repository, scope: AccessScope, resourceType: string, id: string, filter = scope.writeFilter): Promise<boolean> {
  const params: unknown[] = [resourceType, id];
  const rows = await repo.queryable.query(
    `SELECT 1 FROM resource r WHERE r.resource_type = $1 AND r.id = $2 AND (${filter({ alias: 'r', bind: bindAll(params) }) ?? 'true'})`,
    params
  );
  return rows.length > 0;
}

/** 422 for references to existing resources the caller may not see. */
async function assertReferencesVisible(
  repo: Repository,
  scope: AccessScope,
  resource: Resource,
  json: string | undefined,
  baseUrl: string | undefined
): Promise<void> {
  const targets = new Map<string, { resourceType: string; id: string; path: string }>();
  for (const { reference, path } of collectReferences(resource, resource.resourceType)) {
    const local = parseLocalReference(reference, baseUrl);
    if (local && !(local.resourceType === resource.resourceType && local.id === resource.id)) {
      targets.set(`${local.resourceType}/${local.id}`, { resourceType: local.resourceType, id: local.id, path });
    }
  }
  if (targets.size === 0) {
    return;
  }
  const list = [...targets.values()];
  const params: unknown[] = [list.map((t) => t.resourceType), list.map((t) => t.id)];
  const narrowing = scope.writeFilter({ alias: 'r', bind: bindAll(params) });
  if (narrowing === undefined) {
    // The caller sees everything (an integration engine with system/*): nothing can be hidden.
    return;
  }
  const hidden = await repo.queryable.query<{ resource_type: string; id: string }>(
    `SELECT r.resource_type, r.id FROM resource r
       JOIN unnest($1::text[], $2::text[]) AS t(resource_type, id) ON r.resource_type = t.resource_type AND r.id = t.id
      WHERE NOT r.deleted AND NOT (${narrowing})`,
    params
  );
  if (hidden.length > 0) {
    // A reference by identifier resolved to a hidden resource: the answer must not name its id.
    const sent = new Set(collectReferences(JSON.parse(json ?? '{}'), resource.resourceType).map(({ reference }) => {
      const local = parseLocalReference(reference, baseUrl);
      return local && `${local.resourceType}/${local.id}`;
    }));
    throw unprocessable(
      hidden.map((row) =>
        issue({
          code: 'not-found',
          text: sent.has(`${row.resource_type}/${row.id}`) ? `Referenced resource ${row.resource_type}/${row.id} does not exist` : 'Referenced resource does not exist',
          expression: targets.get(`${row.resource_type}/${row.id}`)?.path ?? resource.resourceType,
        })
      )
    );
  }
}

async function assertSamePatients(repo: Repository, previous: Resource, next: Resource, baseUrl: string | undefined): Promise<void> {
  if (PATIENT_LISTS.has(next.resourceType)) {
    return;
  }
  // `next` has its references by identifier resolved; the stored previous version has them as
  // sent, so its resolved patients come from what its write recorded.
  const stored = (await identifiedPatients(repo.queryable, [previous])).get(previous) ?? [];
  const before = new Set([...directPatients(previous, baseUrl), ...stored]);
  const after = new Set(directPatients(next, baseUrl));
  if (before.size === 0) {
    return;
  }
  if (before.size !== after.size || [...before].some((id) => !after.has(id))) {
    throw unprocessable([
      issue({ code: 'business-rule', text: `The patient a ${next.resourceType} belongs to cannot change on update`, expression: next.resourceType }),
    ]);
  }
}

export function writeGuard(): WriteHook {
  return {
    async beforeWrite(repo: Repository, change: ResourceChange): Promise<void> {
      const scope = repo.scope.actor as AccessScope | undefined;
      if (scope === undefined) {
        return;
      }
      const { version, previous, resource, baseUrl } = change;
      const replaces = previous !== undefined && !previous.deleted;
      const before = replaces && previous.json !== undefined ? (JSON.parse(previous.json) as Resource) : undefined;
      // The receiver of a notification Task reports back on it (notification-receiver.ts).
      const received = resource?.resourceType === 'Task' ? receivedNotification(scope, before, baseUrl) : undefined;
      if (received !== undefined && resource?.resourceType === 'Task' && (await visible(repo, scope, version.resourceType, version.id, scope.filter))) {
        assertReceiverUpdate(received, resource);
        await assertReferencesVisible(repo, scope, receiverAdditions(resource), version.json, baseUrl);
        return;
      }
      if (replaces && scope.byPatient && !(await visible(repo, scope, version.resourceType, version.id))) {
        throw notFound(`${version.resourceType}/${version.id} is not known`);
      }
      if (resource === undefined) {
        return;
      }
      if (before) {
        await assertSamePatients(repo, before, resource, baseUrl);
      }
      await assertReferencesVisible(repo, scope, resource, version.json, baseUrl);
    },
  };
}
