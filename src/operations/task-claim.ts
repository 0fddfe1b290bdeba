// Task/$claim: a practice takes on an open referral with the code the patient brings
/**
 * `POST [base]/Task/$claim` with a Parameters body: `code` (the referral's claim code, as printed
 * in the referral letter; case, spaces and dashes do not matter) and `patient` (the patient's BSN,
 * the value or `http://fhir.nl/fhir/NamingSystem/bsn|value`). A user whose role (the discipline of
 * the token, UZI role code) is the referral's performerType makes its organisation the Task's
 * owner, and with it gains the care relation an open Task's owner has (auth/care-relations.ts).
 * The answer is the Task (without the code, which only the requester side sees).
 *
 * Refusals, and why they look the way they do:
 * - an unknown or spent code and a BSN of another patient answer the same 404 not-found, so the
 *   answer does not tell which half was wrong; each counts as a failure of the client;
 * - after MAX_FAILURES failures in 15 minutes the client gets 429 throttled, whatever it sends;
 * - a right code and BSN from a practice of another discipline: 403 forbidden;
 * - a system client (no practice) or a practice unknown here: 403 forbidden.
 * The 404 and 429 are answered, not thrown, so that the failure row commits with the request's
 * audit record instead of rolling back with it; every attempt is audited by dispatch.
 */
import type { OperationDefinition, Task } from '@medplum/fhirtypes';
import type { AccessScope } from '../auth/access-scope.js';
import { CLAIM_CODE_SYSTEM, normalizeClaimCode } from '../domain/referral/claim-code.js';
import { withClaimedOwner } from '../domain/referral/claimed-owner.js';
import { disciplineMatches, findClaimable, MAX_FAILURES, recentFailures, recordFailure } from '../domain/referral/claim-referral.js';
import { BSN_SYSTEM } from '../domain/referral/profiles.js';
import { forbidden, issue, outcome, serverError } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { versionResponse } from '../interactions/respond.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationHandler } from './registry.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Task-claim',
  url: 'http://schakel.nl/fhir/OperationDefinition/Task-claim',
  name: 'Claim',
  title: 'Een open verwijzing aannemen met de claimcode van de patiënt',
  status: 'active',
  kind: 'operation',
  description: `Makes the caller's organisation the owner of the referral Task that carries this claim code (Task.identifier, system ${CLAIM_CODE_SYSTEM}) for the patient with this BSN, when the caller's discipline is the referral's performerType. A wrong code and a wrong BSN get the same 404; 5 refused attempts per client in 15 minutes, then 429.`,
  code: 'claim',
  resource: ['Task'],
  system: false,
  type: true,
  instance: false,
  affectsState: true,
  parameter: [
    { name: 'code', use: 'in', min: 1, max: '1', type: 'string', documentation: 'The claim code from the referral letter (8 characters)' },
    { name: 'patient', use: 'in', min: 1, max: '1', type: 'string', documentation: `The patient's BSN (value, or ${BSN_SYSTEM}|value)` },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Task', documentation: 'The Task, now owned by the caller\'s organisation' },
  ],
};

const NO_MATCH = outcome('not-found', [issue({ code: 'not-found', text: 'No open referral matches this claim code and patient' })]);
const THROTTLED = outcome('too-many-requests', [issue({ code: 'throttled', text: 'Too many refused claims; try again later' })]);

async function claim(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse> {
  const access = ctx.access;
  const principal = access?.principal;
  if (access === undefined || principal === undefined) {
    throw serverError('$claim reached without an access scope');
  }
  if (principal.kind !== 'user' || principal.user === undefined || principal.organizationRef === undefined) {
    throw forbidden('Only a practice known on this server can claim a referral');
  }
  // Both are required (min 1): operation-parameters.ts answered 400 without them.
  const code = input.value('code') ?? '';
  const bsn = (input.value('patient') ?? '').replace(`${BSN_SYSTEM}|`, '');
  const db = ctx.repo.queryable;
  if ((await recentFailures(db, principal.clientId)) >= MAX_FAILURES) {
    return { status: 429, resource: THROTTLED };
  }
  const normalized = normalizeClaimCode(code);
  const found = normalized === undefined ? undefined : await findClaimable(db, normalized, bsn);
  if (found === undefined) {
    await recordFailure(db, principal.clientId);
    return { status: 404, resource: NO_MATCH };
  }
  if (!disciplineMatches(found.referral, principal.user.role)) {
    throw forbidden('This referral is for another discipline', 'Task.owner');
  }
  // The code and BSN entitle this one write: the claimer has no care relation yet, so the write
  // guard's visibility rules (which would hide the Task) do not apply to it; Provenance names it.
  const everything = (): undefined => undefined;
  const claimant: AccessScope = { ...access, byPatient: false, filter: everything, writeFilter: everything };
  const owned: Task & { id: string } = { ...found.task, owner: { reference: principal.organizationRef } };
  const written = await withClaimedOwner(owned.id, principal.organizationRef, () =>
    ctx.repo.scoped({ actor: claimant }).update(owned, { baseUrl: request.baseUrl })
  );
  return versionResponse(200, written.version, { resource: written.resource });
}

export const taskClaimOperation: OperationHandler = {
  name: 'claim',
  definition,
  resourceTypes: ['Task'],
  levels: ['type'],
  handle: claim,
};
