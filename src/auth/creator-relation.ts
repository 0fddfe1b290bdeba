/**
 * A professional who registers a Patient becomes its care provider: without a care relation the
 * creator would get 201 and then 404 on the record they just made. The relation is ordinary data
 * an administrator can see and end, never a hidden grant:
 * - a Patient without managingOrganization gets the creator's organisation there
 *   (https://hl7.org/fhir/R4/patient-definitions.html#Patient.managingOrganization, "Organization
 *   that is the custodian of the patient record"), which care-relations.ts turns into a relation;
 * - a Patient that names another organisation keeps it (the client said who the custodian is);
 *   the creator is then made participant of a registration CareTeam for the patient, which an
 *   administrator ends like any CareTeam (status, or the participant's period.end).
 * System clients (an integration engine) act for no organisation and get neither.
 */
import type { CareTeam, Patient, Resource } from '@medplum/fhirtypes';
import type { Repository } from '../repository/repository.js';
import type { AccessScope } from './access-scope.js';

function creatorOf(access: AccessScope | undefined): AccessScope | undefined {
  return access?.principal.kind === 'user' ? access : undefined;
}

/** The Patient as it will be stored: managingOrganization is the creator's organisation when empty. */
export function withCreatorOrganization(resource: Resource, access: AccessScope | undefined): Resource {
  const organization = creatorOf(access)?.principal.organizationRef;
  if (resource.resourceType !== 'Patient' || resource.managingOrganization !== undefined || organization === undefined) {
    return resource;
  }
  const patient: Patient = { ...resource, managingOrganization: { reference: organization } };
  return patient;
}

/**
 * After a Patient is created: when the creator still has no care relation with it, a registration
 * CareTeam with the creator (their organisation, or themselves when the organisation is unknown
 * here) as participant. Answers nothing; the CareTeam is written in the create's transaction.
 */
export async function registerCreator(repo: Repository, access: AccessScope | undefined, patientId: string, baseUrl: string | undefined): Promise<void> {
  const creator = creatorOf(access);
  const member = creator?.principal.organizationRef ?? creator?.principal.practitionerRef;
  if (creator === undefined || member === undefined) {
    return;
  }
  const related = await repo.queryable.query(
    `SELECT 1 FROM care_relation WHERE patient_id = $1 AND actor = ANY($2::text[]) AND (until IS NULL OR until > now()) LIMIT 1`,
    [patientId, creator.actors]
  );
  if (related.length > 0) {
    return;
  }
  const team: CareTeam = {
    resourceType: 'CareTeam',
    status: 'active',
    name: 'Registration',
    subject: { reference: `Patient/${patientId}` },
    participant: [{ member: { reference: member }, period: { start: new Date().toISOString() } }],
  };
  // Written on the creator's behalf (Provenance names them), but the reference check is the
  // server's own: the creator cannot yet see the patient this CareTeam is about to relate them to.
  const trusted: AccessScope = { ...creator, filter: () => undefined, writeFilter: () => undefined };
  await repo.scoped({ actor: trusted }).create(team, baseUrl === undefined ? {} : { baseUrl });
}
