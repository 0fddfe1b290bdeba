/**
 * The referral's status follows its Task (referral-task-hook.ts: completed -> completed, rejected or
 * cancelled -> revoked). That write is the Task rule's, made in the same transaction on behalf of
 * whoever moved the Task, often the receiving party, which may not change the referral itself
 * (referral-ownership.ts). The Task rule announces the exact status it writes; the ownership rule
 * lets that one write through once. Keyed by the transaction handle, so nothing outlives it.
 */
import type { ServiceRequest } from '@medplum/fhirtypes';
import type { Repository } from '../../repository/repository.js';

const announced = new WeakMap<object, Set<string>>();

const key = (id: string, status: ServiceRequest['status']): string => `${id}|${status}`;

/** Called by the Task rule right before it writes the referral's new status. */
export function announceStatusFromTask(repo: Repository, referralId: string, status: ServiceRequest['status']): void {
  let set = announced.get(repo.queryable);
  if (!set) {
    set = new Set();
    announced.set(repo.queryable, set);
  }
  set.add(key(referralId, status));
}

/** Whether this status write was announced by the Task rule; consumes the announcement. */
export function takeStatusFromTask(repo: Repository, referralId: string, status: ServiceRequest['status']): boolean {
  return announced.get(repo.queryable)?.delete(key(referralId, status)) ?? false;
}
