/**
 * sch-ref-6 of the Referral profile, which FHIRPath can only state with resolve(): the Patient a
 * referral points at carries the BSN that the reference gives in subject.identifier. The profile
 * itself checks that the reference carries a BSN that passes the eleven-test (sch-ref-1, sch-ref-2),
 * so a receiving system that cannot read the patient still knows who is meant; this rule keeps the
 * two halves of the reference from contradicting each other. Runs as a deferred check, so the
 * Patient may be created later in the same transaction Bundle.
 */
import type { Patient, ServiceRequest } from '@medplum/fhirtypes';
import { unprocessable } from '../../fhir/outcomes.js';
import { parseLocalReference } from '../../fhir/references.js';
import type { WriteHook } from '../../repository/types.js';
import { constraintIssue } from '../../validation/constraint-keys.js';
import { BSN_SYSTEM, REFERRAL_PROFILE } from './profiles.js';
import { parseStoredJson } from '../../fhir/json-parse.js';

const SCH_REF_6 = {
  key: 'sch-ref-6',
  human: 'The referenced Patient carries the BSN given in subject.identifier',
  source: REFERRAL_PROFILE,
};

export function referralRulesHook(): WriteHook {
  return {
    async beforeWrite(repo, change) {
      const referral = change.resource;
      if (referral?.resourceType !== 'ServiceRequest' || !(referral.meta?.profile ?? []).includes(REFERRAL_PROFILE)) {
        return;
      }
      const sr: ServiceRequest = referral;
      const bsn = sr.subject.identifier?.system === BSN_SYSTEM ? sr.subject.identifier.value : undefined;
      const target = sr.subject.reference === undefined ? undefined : parseLocalReference(sr.subject.reference, change.baseUrl);
      if (bsn === undefined || target?.resourceType !== 'Patient') {
        return;
      }
      await repo.deferCheck('ServiceRequest', change.version.id, async (r) => {
        const current = await r.readCurrent('Patient', target.id);
        if (!current || current.deleted || current.json === undefined) {
          return;
        }
        const patient = parseStoredJson<Patient>(current.json);
        if (!(patient.identifier ?? []).some((i) => i.system === BSN_SYSTEM && i.value === bsn)) {
          throw unprocessable([constraintIssue(SCH_REF_6, 'ServiceRequest.subject.identifier')]);
        }
      });
    },
  };
}
