/**
 * A Provenance for every create and update (https://hl7.org/fhir/R4/provenance.html), written by
 * the server in the write's own transaction: target = the exact version written, agent = the
 * practitioner with the organisation as onBehalfOf (or the client system for system tokens), and
 * the client system as a second agent. A WriteHook, so writes made by domain rules inside the same
 * request (a referral completed by its Task) get theirs too.
 */
import type { Provenance, ProvenanceAgent } from '@medplum/fhirtypes';
import type { AccessScope } from '../auth/access-scope.js';
import type { Repository } from '../repository/repository.js';
import type { ResourceChange, WriteHook } from '../repository/types.js';
import { CLIENT_ID_SYSTEM } from './audit-event.js';

const PARTICIPANT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';
const DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';

/** Accountability records are not themselves given Provenance. */
const NOT_TRACED: ReadonlySet<string> = new Set(['Provenance', 'AuditEvent']);

function agents(scope: AccessScope | undefined): ProvenanceAgent[] {
  const principal = scope?.principal;
  const client: ProvenanceAgent['who'] = { identifier: { system: CLIENT_ID_SYSTEM, value: principal?.clientId ?? 'schakel' } };
  const user = principal?.user;
  if (!user) {
    return [{ type: { coding: [{ system: PARTICIPANT_TYPE, code: 'author' }] }, who: client }];
  }
  return [
    {
      type: { coding: [{ system: PARTICIPANT_TYPE, code: 'author' }] },
      who: {
        ...(principal.practitionerRef ? { reference: principal.practitionerRef } : {}),
        identifier: { system: user.identifier.system, value: user.identifier.value },
        ...(user.name !== undefined ? { display: user.name } : {}),
      },
      onBehalfOf: {
        ...(principal.organizationRef ? { reference: principal.organizationRef } : {}),
        identifier: { system: user.organization.system, value: user.organization.value },
      },
    },
    { type: { coding: [{ system: PARTICIPANT_TYPE, code: 'enterer' }] }, who: client },
  ];
}

export function provenanceHook(): WriteHook {
  return {
    async afterWrite(repo: Repository, change: ResourceChange): Promise<void> {
      const { version } = change;
      if (change.kind === 'delete' || NOT_TRACED.has(version.resourceType)) {
        return;
      }
      const provenance: Provenance = {
        resourceType: 'Provenance',
        target: [{ reference: `${version.resourceType}/${version.id}/_history/${version.versionId}` }],
        recorded: version.lastUpdated,
        activity: { coding: [{ system: DATA_OPERATION, code: change.kind === 'create' ? 'CREATE' : 'UPDATE' }] },
        agent: agents(repo.scope.actor as AccessScope | undefined),
      };
      // Written by the server, not the caller: no caller rules apply to it.
      await repo.scoped({}).create(provenance, change.baseUrl !== undefined ? { baseUrl: change.baseUrl } : {});
    },
  };
}
