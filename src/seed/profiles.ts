/**
 * Stores the loaded profiles as StructureDefinition resources at start, so that
 * `GET /StructureDefinition/{id}` and searches serve them like any other resource. A profile is
 * written under its own id only when the stored content differs, so restarts add no versions, and
 * it is validated as an R4 StructureDefinition before that write (a broken profile stops the
 * start); one equal to the stored copy was validated when that copy was written.
 */
import type { StructureDefinition } from '@medplum/fhirtypes';
import type { FhirContext } from '../interactions/context.js';
import { profileContent } from '../validation/profile-guard.js';
import { deepEquals } from '@medplum/core';

/** Writes new or changed profiles; returns how many it wrote. */
export async function installProfiles(context: FhirContext): Promise<number> {
  let written = 0;
  for (const profile of context.validator.profiles.all()) {
    const id = profile.id as string;
    const current = await context.repo.readCurrent('StructureDefinition', id);
    if (current && !current.deleted && current.json !== undefined) {
      const stored = JSON.parse(current.json) as StructureDefinition;
      if (deepEquals(profileContent(stored), profileContent(profile))) {
        continue;
      }
    }
    context.validator.validate(profile);
    await context.repo.update({ ...profile, id });
    written++;
  }
  return written;
}
