/**
 * The care relationship follows the referral's life (Shared Care Planning; docs/care-workflows.md, section 1): the
 * owner of a referral Task that is based on a CarePlan (Task.basedOn) joins that plan's CareTeam
 * (CarePlan.careTeam) when it accepts the referral, with participant.period.start the time of
 * acceptance, and leaves it (participant.period.end) when the Task is completed, failed or
 * cancelled, unless it still owns another accepted or in-progress Task based on the same plan. A
 * participation without a period (one the team had before) is never ended by a Task.
 * Both are real CareTeam versions written in the Task's transaction, as the Task's writer, so the
 * care relation (auth/care-relations.ts) and the history of the team say the same thing.
 * A Task without a CarePlan (or a plan without a team) keeps only the relation the Task gives.
 */
import type { CarePlan, CareTeam, CareTeamParticipant, Task } from '@medplum/fhirtypes';
import { parseLocalReference } from '../../fhir/references.js';
import type { Repository } from '../../repository/repository.js';
import type { TaskStatus } from './task-states.js';
import { parseStoredJson } from '../../fhir/json-parse.js';

/** States in which the owner works on the referral as a member of the care team. */
const ACTIVE: ReadonlySet<TaskStatus> = new Set(['accepted', 'in-progress']);

function key(reference: string | undefined, baseUrl: string | undefined): string | undefined {
  const local = reference === undefined ? undefined : parseLocalReference(reference, baseUrl);
  return local && `${local.resourceType}/${local.id}`;
}

async function readJson<T>(repo: Repository, type: string, id: string): Promise<T | undefined> {
  const current = await repo.readCurrent(type, id);
  return current && !current.deleted && current.json !== undefined ? parseStoredJson<T>(current.json) : undefined;
}

function isActiveMember(participant: CareTeamParticipant, member: string, now: number, baseUrl: string | undefined): boolean {
  const end = participant.period?.end;
  return key(participant.member?.reference, baseUrl) === member && (end === undefined || Date.parse(end) > now);
}

/** The CareTeam of the CarePlan the Task is based on, if both exist here. */
async function careTeamOf(repo: Repository, task: Task, baseUrl: string | undefined): Promise<{ planId: string; team: CareTeam & { id: string } } | undefined> {
  for (const basedOn of task.basedOn ?? []) {
    const plan = key(basedOn.reference, baseUrl);
    if (!plan?.startsWith('CarePlan/')) {
      continue;
    }
    const planId = plan.slice('CarePlan/'.length);
    const carePlan = await readJson<CarePlan>(repo, 'CarePlan', planId);
    const teamKey = key(carePlan?.careTeam?.[0]?.reference, baseUrl);
    if (teamKey?.startsWith('CareTeam/')) {
      const id = teamKey.slice('CareTeam/'.length);
      const team = await readJson<CareTeam>(repo, 'CareTeam', id);
      return team && { planId, team: { ...team, id } };
    }
  }
  return undefined;
}

/** Whether the owner has another accepted or in-progress Task based on the plan (index-backed). */
async function ownsOtherActiveTask(repo: Repository, planId: string, taskId: string, owner: string): Promise<boolean> {
  const [ownerType, ownerId] = owner.split('/');
  const rows = await repo.queryable.query(
    `SELECT 1 FROM search_reference b
       JOIN search_reference o ON o.sid = b.sid AND o.param = 'owner' AND o.target_type = $3 AND o.target_id = $4
       JOIN search_token s ON s.sid = b.sid AND s.param = 'status' AND s.code = ANY($5::text[])
       JOIN resource r ON r.sid = b.sid AND NOT r.deleted
      WHERE b.resource_type = 'Task' AND b.param = 'based-on' AND b.target_type = 'CarePlan' AND b.target_id = $1
        AND r.id <> $2
      LIMIT 1`,
    [planId, taskId, ownerType, ownerId, [...ACTIVE]]
  );
  return rows.length > 0;
}

/**
 * Joins or leaves the care team as the Task's move from `from` to `task.status` asks; writes
 * nothing when the membership already is what it should be.
 */
export async function followCareTeam(
  repo: Repository,
  taskId: string,
  from: TaskStatus | undefined,
  task: Task,
  previous: Task | undefined,
  baseUrl: string | undefined
): Promise<void> {
  const to = task.status;
  const joins = ACTIVE.has(to) && (from === undefined || !ACTIVE.has(from));
  const leaves = from !== undefined && ACTIVE.has(from) && !ACTIVE.has(to);
  const owner = key(task.owner?.reference ?? previous?.owner?.reference, baseUrl);
  if ((!joins && !leaves) || owner === undefined) {
    return;
  }
  const found = await careTeamOf(repo, task, baseUrl);
  if (!found) {
    return;
  }
  const { planId, team } = found;
  const now = Date.now();
  const at = new Date(now).toISOString();
  const participants = team.participant ?? [];
  // A membership the team had before the referral (no period) is the team's own, not the Task's to end.
  const joinedByReferral = (p: CareTeamParticipant): boolean => isActiveMember(p, owner, now, baseUrl) && p.period?.start !== undefined;
  let next: CareTeamParticipant[] | undefined;
  if (joins && !participants.some((p) => isActiveMember(p, owner, now, baseUrl))) {
    next = [...participants, { member: { reference: owner }, period: { start: at } }];
  } else if (leaves && participants.some(joinedByReferral) && !(await ownsOtherActiveTask(repo, planId, taskId, owner))) {
    next = participants.map((p) => (joinedByReferral(p) ? { ...p, period: { ...p.period, end: at } } : p));
  }
  if (next) {
    await repo.update({ ...team, participant: next }, baseUrl === undefined ? {} : { baseUrl });
  }
}
