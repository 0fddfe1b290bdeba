/**
 * Claim codes of open referrals: a referral addressed to a discipline (ServiceRequest.performerType)
 * and to nobody in particular (no performer, no Task.owner) gets a code on its Task, which the
 * referral letter prints and the patient takes to a practice of their choice; that practice claims
 * the Task with Task/$claim (operations/task-claim.ts) and becomes its owner.
 *
 * The code is a Task.identifier in Schakel's NamingSystem: 8 characters from an alphabet without
 * the look-alikes 0/O and 1/I, so it survives being read aloud or typed from paper (32^8, about
 * 10^12 codes; with the BSN it must come with and the rate limit of $claim, not guessable). Only
 * the requester side sees it (auth/claim-code-visibility.ts).
 */
import { randomInt } from 'node:crypto';
import type { Identifier, ServiceRequest, Task } from '@medplum/fhirtypes';

export const CLAIM_CODE_SYSTEM = 'http://schakel.nl/fhir/NamingSystem/referral-claim-code';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const LENGTH = 8;

export function newClaimCode(): string {
  let code = '';
  for (let i = 0; i < LENGTH; i++) {
    code += ALPHABET[randomInt(ALPHABET.length)] ?? '';
  }
  return code;
}

/** The code as typed (any case, with spaces or dashes: "abcd-efgh") in its stored form, or undefined. */
export function normalizeClaimCode(input: string): string | undefined {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  return code.length === LENGTH && [...code].every((c) => ALPHABET.includes(c)) ? code : undefined;
}

export function isClaimCode(identifier: Identifier): boolean {
  return identifier.system === CLAIM_CODE_SYSTEM;
}

/** Whether a new referral Task is open to any practice of the discipline, and has no code yet. */
export function needsClaimCode(task: Task, referral: ServiceRequest): boolean {
  return (
    task.status === 'requested' &&
    task.owner === undefined &&
    (referral.performer ?? []).length === 0 &&
    (referral.performerType?.coding ?? []).length > 0 &&
    !(task.identifier ?? []).some(isClaimCode)
  );
}

export function withClaimCode(task: Task & { id: string }): Task & { id: string } {
  return { ...task, identifier: [...(task.identifier ?? []), { use: 'secondary', system: CLAIM_CODE_SYSTEM, value: newClaimCode() }] };
}
