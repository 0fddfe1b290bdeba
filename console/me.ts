/**
 * Who is signed in: the user's PractitionerRoles (SMART `fhirUser` names the Practitioner) and
 * every role of their organisations, since the inbox is the organisation's, not one person's.
 */
import type { PractitionerRole } from '@medplum/fhirtypes';
import { resources, search } from './fhir-client.js';
import { currentSession } from './smart/session.js';

export interface Me {
  readonly practitioner: string | undefined;
  readonly roles: PractitionerRole[];
  /** References of every role of the user's organisations (the user's own among them). */
  readonly organizationRoles: string[];
  readonly organizations: string[];
}

let cached: Promise<Me> | undefined;

async function load(): Promise<Me> {
  const practitioner = currentSession()?.fhirUser;
  if (practitioner === undefined || !practitioner.startsWith('Practitioner/')) {
    return { practitioner, roles: [], organizationRoles: [], organizations: [] };
  }
  const roles = resources<PractitionerRole>(await search('PractitionerRole', { practitioner, _count: '50' }), 'PractitionerRole');
  const organizations = [...new Set(roles.map((r) => r.organization?.reference).filter((o): o is string => o !== undefined))];
  const colleagues =
    organizations.length === 0 ? [] : resources<PractitionerRole>(await search('PractitionerRole', { organization: organizations.join(','), _count: '200' }), 'PractitionerRole');
  const organizationRoles = [...new Set([...roles, ...colleagues].map((r) => `PractitionerRole/${r.id ?? ''}`))];
  return { practitioner, roles, organizationRoles, organizations };
}

export function me(): Promise<Me> {
  cached ??= load();
  return cached;
}

export function forgetMe(): void {
  cached = undefined;
}
