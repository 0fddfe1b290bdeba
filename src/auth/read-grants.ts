/**
 * Read grants that outlive a referral's care relationship (read_grant, 006_referral_life.sql),
 * written in the transaction of the Task write that ends it. When a referral Task leaves the open
 * states (completed, failed, rejected, cancelled; https://hl7.org/fhir/R4/task.html#statemachine)
 * its owner loses the care relation the Task gave (care-relations.ts) and, with a CarePlan, its
 * place in the care team (domain/referral/care-team-membership.ts). What it keeps reading:
 * - the referral (Task.focus) and the Task itself;
 * - what it wrote itself: every resource of the patient that the owner, its organisation or its
 *   practitioner created, as its Provenance with activity CREATE records (audit/provenance.ts
 *   names the practitioner as agent.who and the organisation as agent.onBehalfOf on every write);
 *   resources it only updated (the care team it joined, the referral it completed) are not its
 *   contributions and stay with the record, and the Task's outputs
 *   (its feedback, which may be written in the same transaction Bundle as the completion).
 * The grant is to the owner's organisation when the owner is one of its PractitionerRoles, so a
 * colleague at the same practice reads the feedback too; the rest of the record stays hidden.
 */
import type { Reference, Task } from '@medplum/fhirtypes';
import { isNotificationTask } from '../domain/notified-pull/notification-task.js';
import { parseLocalReference } from '../fhir/references.js';
import type { ResourceChange, WriteListener } from '../repository/types.js';
import type { Queryable } from '../storage/database.js';
import { OPEN_TASK_STATES } from './care-relations.js';

function localKey(reference: Reference | undefined, baseUrl: string | undefined): string | undefined {
  const local = reference?.reference === undefined ? undefined : parseLocalReference(reference.reference, baseUrl);
  return local && `${local.resourceType}/${local.id}`;
}

/** The owner's organisation and practitioner when it is a PractitionerRole (one indexed read). */
export async function ownerIdentity(tx: Queryable, owner: string): Promise<{ grantee: string; authors: string[] }> {
  if (!owner.startsWith('PractitionerRole/')) {
    return { grantee: owner, authors: [owner] };
  }
  const rows = await tx.query<{ content: string | null }>(
    `SELECT content FROM resource WHERE resource_type = 'PractitionerRole' AND id = $1 AND NOT deleted`,
    [owner.slice('PractitionerRole/'.length)]
  );
  const role = rows[0]?.content ? (JSON.parse(rows[0].content) as { organization?: Reference; practitioner?: Reference }) : {};
  const organization = localKey(role.organization, undefined);
  const practitioner = localKey(role.practitioner, undefined);
  const authors = [owner, organization, practitioner].filter((a): a is string => a !== undefined);
  return { grantee: organization ?? owner, authors };
}

/** The Task's owner whose open Task this write closes, or undefined when it closes none. */
function closedOwner(change: ResourceChange): { task: Task; owner: string } | undefined {
  const task = change.resource;
  // A notification Task of notified pull gave its owner no care relation, so its end leaves
  // nothing to keep (pull-grants.ts ends what it gave).
  if (task?.resourceType !== 'Task' || OPEN_TASK_STATES.has(task.status) || task.status === 'entered-in-error' || isNotificationTask(task)) {
    return undefined;
  }
  const previous = change.previous?.json === undefined || change.previous.deleted ? undefined : (JSON.parse(change.previous.json) as Task);
  if (previous === undefined || !OPEN_TASK_STATES.has(previous.status)) {
    return undefined;
  }
  const owner = localKey(previous.owner ?? task.owner, change.baseUrl);
  return owner === undefined ? undefined : { task, owner };
}

const GRANT_AUTHORED = `
  INSERT INTO read_grant (actor, resource_type, id, source_type, source_id)
  SELECT DISTINCT $1::text, split_part(t.value ->> 'reference', '/', 1), split_part(t.value ->> 'reference', '/', 2), 'Task', $2::text
    FROM resource_patient rp
    JOIN resource pr ON pr.resource_type = 'Provenance' AND pr.id = rp.id AND NOT pr.deleted
    CROSS JOIN LATERAL jsonb_array_elements(pr.content::jsonb -> 'target') AS t(value)
   WHERE rp.resource_type = 'Provenance' AND rp.patient_id = ANY($3::text[])
     AND pr.content::jsonb -> 'activity' -> 'coding' @> '[{"code": "CREATE"}]'::jsonb
     AND EXISTS (SELECT 1 FROM jsonb_array_elements(pr.content::jsonb -> 'agent') AS a(value)
                  WHERE a.value -> 'who' ->> 'reference' = ANY($4::text[]) OR a.value -> 'onBehalfOf' ->> 'reference' = ANY($4::text[]))
  ON CONFLICT DO NOTHING`;

async function grantFor(tx: Queryable, change: ResourceChange, task: Task, owner: string): Promise<void> {
  const { grantee, authors } = await ownerIdentity(tx, owner);
  const direct = [
    `Task/${change.version.id}`,
    localKey(task.focus, change.baseUrl),
    ...(task.output ?? []).map((o) => localKey(o.valueReference, change.baseUrl)),
  ].filter((key): key is string => key !== undefined);
  await tx.query(
    `INSERT INTO read_grant (actor, resource_type, id, source_type, source_id)
     SELECT $1, split_part(k, '/', 1), split_part(k, '/', 2), 'Task', $2 FROM unnest($3::text[]) AS k
     ON CONFLICT DO NOTHING`,
    [grantee, change.version.id, direct]
  );
  const patient = localKey(task.for, change.baseUrl);
  if (patient?.startsWith('Patient/')) {
    await tx.query(GRANT_AUTHORED, [grantee, change.version.id, [patient.slice('Patient/'.length)], authors]);
  }
}

export function createReadGrantWriter(): WriteListener {
  const listener: WriteListener = {
    async onWrite(tx: Queryable, change: ResourceChange): Promise<void> {
      const closed = change.kind === 'delete' ? undefined : closedOwner(change);
      if (closed) {
        await grantFor(tx, change, closed.task, closed.owner);
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
