/**
 * Keeps the two tables the access rules read (003_security.sql) in step with every write, in the
 * write's transaction: resource_patient (which patients a resource belongs to, patients-of.ts) and
 * care_relation (who has a care relationship with which patient):
 * - Patient.managingOrganization and Patient.generalPractitioner;
 * - every participant (member and onBehalfOf) of an active CareTeam, until its period ends;
 * - requester and performer of an active ServiceRequest, requester and owner of an open Task
 *   (not the owner of a notification Task of notified pull: pull-grants.ts gives it read grants).
 * A relation ends when its source changes status or is deleted; the resource_patient rows of a
 * deleted resource stay, so its history remains as narrow as the resource was.
 */
import type { Reference, Resource } from '@medplum/fhirtypes';
import { isNotificationTask } from '../domain/notified-pull/notification-task.js';
import { parseLocalReference } from '../fhir/references.js';
import type { ResourceChange, WriteListener } from '../repository/types.js';
import type { Queryable } from '../storage/database.js';
import { directPatients, otherTargets, recordedPatients } from './patients-of.js';

interface Relation {
  readonly patientId: string;
  readonly actor: string;
  readonly until: string | null;
}

/** Task states in which the Task is still being worked on (https://hl7.org/fhir/R4/task.html#statemachine). */
export const OPEN_TASK_STATES: ReadonlySet<string> = new Set(['draft', 'requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold']);

function localKey(reference: Reference | undefined, baseUrl: string | undefined): string | undefined {
  const local = reference?.reference === undefined ? undefined : parseLocalReference(reference.reference, baseUrl);
  return local && `${local.resourceType}/${local.id}`;
}

function patientOf(reference: Reference | undefined, baseUrl: string | undefined): string | undefined {
  const key = localKey(reference, baseUrl);
  return key?.startsWith('Patient/') ? key.slice('Patient/'.length) : undefined;
}

/** The care relations a resource establishes; none for types that establish none. */
export function relationsOf(resource: Resource, baseUrl?: string, now = Date.now()): Relation[] {
  const out: Relation[] = [];
  const add = (patientId: string | undefined, actor: Reference | undefined, until: string | null = null): void => {
    const key = localKey(actor, baseUrl);
    if (patientId !== undefined && key !== undefined && !key.startsWith('Patient/')) {
      out.push({ patientId, actor: key, until });
    }
  };
  switch (resource.resourceType) {
    case 'Patient': {
      const patient = resource;
      add(patient.id, patient.managingOrganization);
      for (const gp of patient.generalPractitioner ?? []) {
        add(patient.id, gp);
      }
      break;
    }
    case 'CareTeam': {
      const team = resource;
      const patientId = patientOf(team.subject, baseUrl);
      if (team.status !== 'active' || patientId === undefined) {
        break;
      }
      for (const participant of team.participant ?? []) {
        const end = participant.period?.end;
        if (end !== undefined && Date.parse(end) <= now) {
          continue;
        }
        const until = end === undefined ? null : new Date(Date.parse(end)).toISOString();
        add(patientId, participant.member, until);
        add(patientId, participant.onBehalfOf, until);
      }
      break;
    }
    case 'ServiceRequest': {
      const request = resource;
      if (request.status === 'active') {
        const patientId = patientOf(request.subject, baseUrl);
        add(patientId, request.requester);
        for (const performer of request.performer ?? []) {
          add(patientId, performer);
        }
      }
      break;
    }
    case 'Task': {
      const task = resource;
      if (OPEN_TASK_STATES.has(task.status)) {
        const patientId = patientOf(task.for, baseUrl);
        add(patientId, task.requester);
        // The owner of a notification Task (notified pull) may fetch its inputs and nothing else
        // of the record: read grants (pull-grants.ts), not a care relation.
        if (!isNotificationTask(task)) {
          add(patientId, task.owner);
        }
      }
      break;
    }
    default:
      break;
  }
  return out;
}

const RELATION_SOURCES = new Set(['Patient', 'CareTeam', 'ServiceRequest', 'Task']);

interface Computed {
  readonly change: ResourceChange;
  readonly patients: string[];
  readonly relations: Relation[];
}

/** Patients and relations of each written resource; targets written earlier in the same batch count. */
async function compute(tx: Queryable, changes: readonly ResourceChange[]): Promise<Computed[]> {
  const written = changes.filter((c) => c.resource !== undefined);
  const direct = new Map(written.map((c) => [c, directPatients(c.resource as Resource, c.baseUrl)]));
  const lookups = written
    .filter((c) => direct.get(c)?.length === 0)
    .flatMap((c) => otherTargets(c.resource as Resource, c.baseUrl));
  const stored = await recordedPatients(tx, lookups);
  const inBatch = new Map<string, string[]>();
  return written.map((change) => {
    const resource = change.resource as Resource;
    let patients = direct.get(change) ?? [];
    if (patients.length === 0) {
      const found = otherTargets(resource, change.baseUrl).flatMap((t) => {
        const key = `${t.resourceType}/${t.id}`;
        return inBatch.get(key) ?? stored.get(key) ?? [];
      });
      patients = [...new Set(found)];
    }
    inBatch.set(`${change.version.resourceType}/${change.version.id}`, patients);
    const relations = RELATION_SOURCES.has(resource.resourceType) ? relationsOf(resource, change.baseUrl) : [];
    return { change, patients, relations };
  });
}

const WRITE_ROWS = `
  WITH p AS (
    INSERT INTO resource_patient (resource_type, id, patient_id)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING
  )
  INSERT INTO care_relation (patient_id, actor, source_type, source_id, until)
  SELECT * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])`;

async function writeRows(tx: Queryable, computed: readonly Computed[]): Promise<void> {
  const patientRows = computed.flatMap(({ change, patients }) => patients.map((p) => [change.version.resourceType, change.version.id, p] as const));
  const relationRows = computed.flatMap(({ change, relations }) =>
    relations.map((r) => [r.patientId, r.actor, change.version.resourceType, change.version.id, r.until] as const)
  );
  if (patientRows.length === 0 && relationRows.length === 0) {
    return;
  }
  const column = <T>(rows: ReadonlyArray<readonly T[]>, i: number): T[] => rows.map((row) => row[i] as T);
  await tx.query(WRITE_ROWS, [
    column(patientRows, 0),
    column(patientRows, 1),
    column(patientRows, 2),
    column(relationRows, 0),
    column(relationRows, 1),
    column(relationRows, 2),
    column(relationRows, 3),
    column(relationRows, 4),
  ]);
}

/** Removes what the previous versions of these resources established (nothing for brand-new ones). */
async function clearPrevious(tx: Queryable, changes: readonly ResourceChange[], keepPatients: boolean): Promise<void> {
  const replaced = changes.filter((c) => c.previous !== undefined);
  if (replaced.length === 0) {
    return;
  }
  const types = replaced.map((c) => c.version.resourceType);
  const ids = replaced.map((c) => c.version.id);
  await tx.query(
    `WITH r AS (
       DELETE FROM care_relation c USING unnest($1::text[], $2::text[]) AS t(resource_type, id)
        WHERE c.source_type = t.resource_type AND c.source_id = t.id
     )
     DELETE FROM resource_patient p USING unnest($1::text[], $2::text[]) AS t(resource_type, id)
      WHERE $3 AND p.resource_type = t.resource_type AND p.id = t.id`,
    [types, ids, !keepPatients]
  );
}

export function createCareRelationIndexer(): WriteListener {
  const listener: WriteListener = {
    async onWrite(tx: Queryable, change: ResourceChange): Promise<void> {
      await listener.onWrites?.(tx, [change]);
    },
    async onWrites(tx: Queryable, changes: readonly ResourceChange[]): Promise<void> {
      const deletes = changes.filter((c) => c.kind === 'delete');
      // A deleted resource keeps its patients (its history stays narrow) but establishes nothing.
      await clearPrevious(tx, deletes, true);
      const writes = changes.filter((c) => c.kind !== 'delete');
      await clearPrevious(tx, writes, false);
      await writeRows(tx, await compute(tx, writes));
    },
  };
  return listener;
}
