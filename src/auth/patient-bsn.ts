/**
 * At most one active Patient per BSN (fhir/bsn.ts). Two records of one person split their care:
 * each professional sees half of it, and narrowing by care relation works on the wrong half.
 *
 * - The guard (a WriteHook) serialises writers of a BSN on an advisory lock and answers a second
 *   active Patient with that BSN with 409: `duplicate` when the caller may see the existing one,
 *   otherwise 409 `forbidden` that says how to gain access (a referral or a CareTeam) without
 *   naming the record; that refusal goes into the existing patient's access log.
 * - The register (a WriteListener) keeps patient_bsn (004_patient_bsn.sql) in step in the write's
 *   transaction; its partial unique index is what guarantees the rule when writers race (two
 *   Patients with one BSN in one transaction Bundle, or any path around the guard): the unique
 *   violation is answered as 409 too, never 500.
 * A conditional create (If-None-Exist) by a caller who may see the existing Patient finds it
 * before any of this runs (interactions/create.ts) and answers 200.
 */
import type { Patient } from '@medplum/fhirtypes';
import { patientBsns } from '../fhir/bsn.js';
import { issue, OperationOutcomeError, outcome, RefusedAccessError } from '../fhir/outcomes.js';
import type { Repository } from '../repository/repository.js';
import type { ResourceChange, WriteHook, WriteListener } from '../repository/types.js';
import type { Queryable } from '../storage/database.js';
import type { AccessScope } from './access-scope.js';

/** The BSNs a Patient version claims: none when it is inactive (Patient.active = false). */
function claimedBsns(change: ResourceChange): string[] {
  const patient = change.resource;
  if (patient?.resourceType !== 'Patient' || patient.active === false) {
    return [];
  }
  return patientBsns(patient);
}

function duplicate(): OperationOutcomeError {
  return new OperationOutcomeError(
    outcome('conflict', [
      issue({ code: 'duplicate', text: 'An active Patient with this BSN already exists', expression: 'Patient.identifier' }),
    ])
  );
}

async function visibleIds(repo: Repository, scope: AccessScope | undefined, ids: readonly string[]): Promise<string[]> {
  const params: unknown[] = [ids];
  const filter = scope?.filter({
    alias: 'r',
    bind: (value) => {
      params.push(value);
      return `$${params.length}`;
    },
  });
  if (filter === undefined) {
    return [...ids];
  }
  const rows = await repo.queryable.query<{ id: string }>(
    `SELECT r.id FROM resource r WHERE r.resource_type = 'Patient' AND r.id = ANY($1::text[]) AND (${filter})`,
    params
  );
  return rows.map((row) => row.id);
}

export function patientBsnGuard(): WriteHook {
  return {
    async beforeWrite(repo, change) {
      const bsns = claimedBsns(change).sort();
      if (bsns.length === 0) {
        return;
      }
      for (const bsn of bsns) {
        await repo.lock(`Patient.bsn|${bsn}`);
      }
      const rows = await repo.queryable.query<{ patient_id: string }>(
        'SELECT patient_id FROM patient_bsn WHERE bsn = ANY($1::text[]) AND active AND patient_id <> $2',
        [bsns, change.version.id]
      );
      if (rows.length === 0) {
        return;
      }
      const existing = [...new Set(rows.map((row) => row.patient_id))];
      const scope = repo.scope.actor as AccessScope | undefined;
      if ((await visibleIds(repo, scope, existing)).length > 0) {
        throw duplicate();
      }
      throw new RefusedAccessError(
        outcome('conflict', [
          issue({
            code: 'forbidden',
            text:
              'A Patient with this BSN is already registered by another care provider. To work in that record, ask for a ' +
              'referral (ServiceRequest or Task) to your organisation or to be added to the patient’s CareTeam',
            expression: 'Patient.identifier',
          }),
        ]),
        existing.map((id) => `Patient/${id}`)
      );
    },
  };
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '23505';
}

async function register(tx: Queryable, change: ResourceChange): Promise<void> {
  if (change.version.resourceType !== 'Patient') {
    return;
  }
  if (change.previous !== undefined) {
    await tx.query('DELETE FROM patient_bsn WHERE patient_id = $1', [change.version.id]);
  }
  const patient = change.resource as Patient | undefined;
  const bsns = patient === undefined ? [] : patientBsns(patient);
  if (bsns.length === 0) {
    return;
  }
  try {
    await tx.query('INSERT INTO patient_bsn (patient_id, bsn, active) SELECT $1, b, $3 FROM unnest($2::text[]) AS b', [
      change.version.id,
      bsns,
      patient?.active !== false,
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw duplicate();
    }
    throw error;
  }
}

export function createPatientBsnRegister(): WriteListener {
  return {
    async onWrite(tx, change) {
      await register(tx, change);
    },
  };
}
