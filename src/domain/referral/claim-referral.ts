/**
 * Claiming an open referral (operations/task-claim.ts): the Task that carries a claim code
 * (claim-code.ts), still `requested` and without an owner, for the patient with the given BSN; and
 * the count of a client's refused attempts, kept in referral_claim_failure (006_referral_life.sql)
 * so that the limit holds across restarts and instances.
 */
import type { Patient, ServiceRequest, Task } from '@medplum/fhirtypes';
import { parseLocalReference } from '../../fhir/references.js';
import type { Queryable } from '../../storage/database.js';
import { CLAIM_CODE_SYSTEM } from './claim-code.js';
import { BSN_SYSTEM } from './profiles.js';
import { parseStoredJson } from '../../fhir/json-parse.js';

/** Refused attempts a client may make in FAILURE_WINDOW_MS before it is refused outright. */
export const MAX_FAILURES = 5;
export const FAILURE_WINDOW_MS = 15 * 60_000;

export interface ClaimableReferral {
  readonly task: Task & { id: string };
  readonly referral: ServiceRequest;
}

async function current<T>(db: Queryable, type: string, id: string): Promise<T | undefined> {
  const rows = await db.query<{ content: string | null }>('SELECT content FROM resource WHERE resource_type = $1 AND id = $2 AND NOT deleted', [type, id]);
  const content = rows[0]?.content;
  return content ? parseStoredJson<T>(content) : undefined;
}

function localId(reference: string | undefined, type: string): string | undefined {
  const local = reference === undefined ? undefined : parseLocalReference(reference, undefined);
  return local?.resourceType === type ? local.id : undefined;
}

/**
 * The open referral this code and BSN name together, or undefined: an unknown code, a spent one
 * (the Task has an owner or moved on) and a BSN of another patient are one and the same answer.
 * Reads past the caller's narrowing: the claimer has no care relation yet; the code and the BSN
 * are what entitle it.
 */
export async function findClaimable(db: Queryable, code: string, bsn: string): Promise<ClaimableReferral | undefined> {
  const rows = await db.query<{ id: string; content: string }>(
    `SELECT r.id, r.content FROM search_token x JOIN resource r ON r.sid = x.sid
      WHERE x.resource_type = 'Task' AND x.param = 'identifier' AND x.system = $1 AND x.code = $2 AND NOT r.deleted
      LIMIT 2`,
    [CLAIM_CODE_SYSTEM, code]
  );
  if (rows.length !== 1) {
    return undefined;
  }
  const row = rows[0] as { id: string; content: string };
  const task = { ...parseStoredJson<Task>(row.content), id: row.id };
  if (task.status !== 'requested' || task.owner !== undefined) {
    return undefined;
  }
  const referralId = localId(task.focus?.reference, 'ServiceRequest');
  const patientId = localId(task.for?.reference, 'Patient');
  const referral = referralId === undefined ? undefined : await current<ServiceRequest>(db, 'ServiceRequest', referralId);
  const patient = patientId === undefined ? undefined : await current<Patient>(db, 'Patient', patientId);
  const bsns = [
    ...(patient?.identifier ?? []).filter((i) => i.system === BSN_SYSTEM).map((i) => i.value),
    ...(referral?.subject.identifier?.system === BSN_SYSTEM ? [referral.subject.identifier.value] : []),
  ];
  return referral !== undefined && bsns.includes(bsn) ? { task, referral } : undefined;
}

/** Whether the role (`system|code` or a bare code) is one of the referral's performerType codings. */
export function disciplineMatches(referral: ServiceRequest, role: string): boolean {
  const [system, code] = role.includes('|') ? role.split('|', 2) : [undefined, role];
  return (referral.performerType?.coding ?? []).some((c) => c.code === code && (system === undefined || c.system === undefined || c.system === system));
}

/** The client's refused attempts within the window (older rows of every client are dropped). */
export async function recentFailures(db: Queryable, clientId: string): Promise<number> {
  const since = new Date(Date.now() - FAILURE_WINDOW_MS).toISOString();
  await db.query('DELETE FROM referral_claim_failure WHERE failed_at < $1', [since]);
  const rows = await db.query<{ n: string | number }>('SELECT count(*) AS n FROM referral_claim_failure WHERE client_id = $1 AND failed_at >= $2', [clientId, since]);
  return Number(rows[0]?.n ?? 0);
}

export async function recordFailure(db: Queryable, clientId: string): Promise<void> {
  await db.query('INSERT INTO referral_claim_failure (client_id, failed_at) VALUES ($1, $2)', [clientId, new Date().toISOString()]);
}
