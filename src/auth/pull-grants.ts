/**
 * The read access a notification Task of notified pull gives (domain/notified-pull/notification-task.ts),
 * kept as read_grant rows (006_referral_life.sql, bounded in time by 018_pull_grant.sql) in the
 * transaction of every write of the Task:
 * - while the Task is open (https://hl7.org/fhir/R4/task.html#statemachine), its owner's
 *   organisation (the Organization itself, or the organisation of the PractitionerRole it names)
 *   may read each resource in Task.input, and the Task itself, from restriction.period.start
 *   until restriction.period.end; users of that organisation read them whatever their care
 *   relations with the patient, and nothing else of the record (the Task gives no care relation:
 *   care-relations.ts leaves its owner out);
 * - when the Task is completed, cancelled, failed, rejected or entered in error, or deleted, the
 *   grants go; when its period ends, the narrowing stops admitting them (access-scope.ts granted()).
 * Each write replaces what the previous version granted, so a changed input list or period takes
 * effect at once.
 */
import type { Resource, Task } from '@medplum/fhirtypes';
import { asNotificationTask, pullInputs, pullPeriod } from '../domain/notified-pull/notification-task.js';
import { parseLocalReference } from '../fhir/references.js';
import type { ResourceChange, WriteListener } from '../repository/types.js';
import type { Queryable } from '../storage/database.js';
import { OPEN_TASK_STATES } from './care-relations.js';
import { ownerIdentity } from './read-grants.js';
import { parseStoredJson } from '../fhir/json-parse.js';

function previousTask(change: ResourceChange): Task | undefined {
  if (change.previous?.json === undefined || change.previous.deleted) {
    return undefined;
  }
  return asNotificationTask(parseStoredJson<Resource>(change.previous.json));
}

async function grant(tx: Queryable, change: ResourceChange, task: Task): Promise<void> {
  const period = pullPeriod(task);
  const owner = task.owner?.reference === undefined ? undefined : parseLocalReference(task.owner.reference, change.baseUrl);
  if (!OPEN_TASK_STATES.has(task.status) || period === undefined || owner === undefined) {
    return;
  }
  const { grantee } = await ownerIdentity(tx, `${owner.resourceType}/${owner.id}`);
  const keys = [`Task/${change.version.id}`, ...pullInputs(task).map((r) => parseLocalReference(r, change.baseUrl))
    .flatMap((local) => (local === undefined ? [] : [`${local.resourceType}/${local.id}`]))];
  await tx.query(
    `INSERT INTO read_grant (actor, resource_type, id, source_type, source_id, since, until)
     SELECT $1, split_part(k, '/', 1), split_part(k, '/', 2), 'Task', $2, $4::timestamptz, $5::timestamptz FROM unnest($3::text[]) AS k
     ON CONFLICT DO NOTHING`,
    [grantee, change.version.id, [...new Set(keys)], period.since?.toISOString() ?? null, period.until.toISOString()]
  );
}

export function createPullGrantWriter(): WriteListener {
  const listener: WriteListener = {
    async onWrite(tx: Queryable, change: ResourceChange): Promise<void> {
      if (change.version.resourceType !== 'Task') {
        return;
      }
      const notification = change.kind === 'delete' ? undefined : asNotificationTask(change.resource);
      if (notification === undefined && previousTask(change) === undefined) {
        return;
      }
      await tx.query(`DELETE FROM read_grant WHERE source_type = 'Task' AND source_id = $1`, [change.version.id]);
      if (notification !== undefined) {
        await grant(tx, change, notification);
      }
    },
    async onWrites(tx: Queryable, changes: readonly ResourceChange[]): Promise<void> {
      for (const change of changes) {
        await listener.onWrite(tx, change);
      }
    },
  };
  return listener;
}
