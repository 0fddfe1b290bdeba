/**
 * Reference resolution inside documents and messages (https://hl7.org/fhir/R4/bundle.html#references,
 * documents.html#content): a relative reference from an entry with a RESTful fullUrl resolves to
 * the entry whose fullUrl is the same base plus `Type/id` (and, when versioned, whose
 * meta.versionId matches); urn: and absolute references resolve by fullUrl. A reference that
 * resolves to two entries is ambiguous wherever it stands; the references the Composition or
 * MessageHeader make (the document's and message's content) must resolve in the Bundle.
 */
import type { Bundle, BundleEntry, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { collectReferences } from '../fhir/references.js';
import { issue } from '../fhir/outcomes.js';

const RESTFUL_FULL_URL = /^(.*)\/[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;
const RELATIVE = /^([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
const ABSOLUTE = /^(https?:\/\/\S+?)(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/** The fullUrl (and version) a reference made from `from` points at; undefined when not resolvable here. */
function target(reference: string, from: BundleEntry): { url: string; version?: string } | undefined {
  if (reference.startsWith('urn:uuid:') || reference.startsWith('urn:oid:')) {
    return { url: reference };
  }
  const relative = RELATIVE.exec(reference);
  if (relative) {
    const base = from.fullUrl ? RESTFUL_FULL_URL.exec(from.fullUrl)?.[1] : undefined;
    return base === undefined ? undefined : { url: `${base}/${relative[1]}`, ...(relative[2] ? { version: relative[2] } : {}) };
  }
  const absolute = ABSOLUTE.exec(reference);
  return absolute ? { url: absolute[1] as string, ...(absolute[2] ? { version: absolute[2] } : {}) } : undefined;
}

export function bundleReferenceIssues(bundle: Bundle, path: string): OperationOutcomeIssue[] {
  if (bundle.type !== 'document' && bundle.type !== 'message') {
    return [];
  }
  const entries = bundle.entry ?? [];
  const issues: OperationOutcomeIssue[] = [];
  entries.forEach((entry, i) => {
    if (!entry.resource) {
      return;
    }
    const isContent = i === 0 && ['Composition', 'MessageHeader'].includes(entry.resource.resourceType);
    for (const { reference, path: at } of collectReferences(entry.resource, `${path}.entry[${i}].resource`)) {
      const wanted = target(reference, entry);
      if (!wanted) {
        continue;
      }
      const matches = entries.filter(
        (e) => e.fullUrl === wanted.url && (wanted.version === undefined || e.resource?.meta?.versionId === wanted.version)
      );
      if (matches.length > 1) {
        issues.push(issue({ code: 'invalid', text: `Reference ${reference} matches ${matches.length} entries of the Bundle`, expression: `${at}.reference` }));
      } else if (matches.length === 0 && isContent && !/^https?:/.test(reference)) {
        issues.push(issue({ code: 'invalid', text: `Reference ${reference} resolves to no entry of the ${bundle.type}`, expression: `${at}.reference` }));
      }
    }
  });
  return issues;
}
