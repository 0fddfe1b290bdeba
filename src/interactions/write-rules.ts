/** Rules every write interaction shares: server-owned fields and the outcome of a write. */
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

/**
 * meta.versionId and meta.lastUpdated belong to the server (https://hl7.org/fhir/R4/resource.html#Meta);
 * on create the id does too.
 */
export function withoutServerFields(resource: Resource, options: { dropId: boolean }): Resource {
  const { id: _id, meta, ...rest } = resource;
  const copy = (options.dropId ? rest : { ...rest, ...(resource.id !== undefined ? { id: resource.id } : {}) }) as Resource;
  if (meta) {
    const { versionId: _v, lastUpdated: _l, ...metaRest } = meta;
    if (Object.keys(metaRest).length > 0) {
      copy.meta = metaRest;
    }
  }
  return copy;
}

/** What an update that changed nothing reports (repository/unchanged.ts): no new version was written. */
export const UNCHANGED = 'Unchanged: the content equals the current version; no new version';

/** The OperationOutcome a successful write reports: its warnings, or a plain confirmation. */
export function writeOutcome(warnings: readonly OperationOutcomeIssue[], text: string): OperationOutcome {
  const issues: OperationOutcomeIssue[] =
    warnings.length > 0 ? [...warnings] : [{ severity: 'information', code: 'informational', details: { text } }];
  return { resourceType: 'OperationOutcome', id: 'all-ok', issue: issues };
}
