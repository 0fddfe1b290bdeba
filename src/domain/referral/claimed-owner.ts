/**
 * A successful Task/$claim (operations/task-claim.ts) makes the claiming practice the owner of an
 * open referral Task. The claimant is neither requester nor owner yet, so the Task's field rules
 * (referral-task-fields.ts) would refuse that owner change; the code and BSN are what entitle it.
 * The operation announces the one change it is about to write (Task id and new owner) and the
 * field rules let exactly that change through; the announcement is withdrawn when the write ends.
 */
const announced = new Set<string>();

const key = (taskId: string, owner: string): string => `${taskId}|${owner}`;

/** Runs the claim's write with its owner change announced. */
export async function withClaimedOwner<T>(taskId: string, owner: string, write: () => Promise<T>): Promise<T> {
  announced.add(key(taskId, owner));
  try {
    return await write();
  } finally {
    announced.delete(key(taskId, owner));
  }
}

/** Whether setting this owner on this Task is a claim in progress. */
export function isClaimedOwner(taskId: string, owner: string | undefined): boolean {
  return owner !== undefined && announced.has(key(taskId, owner));
}
