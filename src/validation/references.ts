/**
 * Content rules for Reference values, per https://hl7.org/fhir/R4/references.html: the form of
 * `reference`, whether `#id` points into `contained`, and whether the target type is one the
 * element allows (its targetProfile). Existence of a local `Type/id` target needs the database and
 * is checked later, inside the write's transaction (repository/references.ts).
 */
import type { OperationOutcomeIssue, Reference, Resource } from '@medplum/fhirtypes';
import { isR4ResourceType } from '../fhir/definitions.js';
import { issue } from '../fhir/outcomes.js';

const BASE_PROFILE = 'http://hl7.org/fhir/StructureDefinition/';
const ID = '[A-Za-z0-9\\-.]{1,64}';
/** `Type/id` or `Type/id/_history/vid`, alone (relative) or at the end of an absolute URL. */
const RESTFUL = new RegExp(`(?:^|/)([A-Z][A-Za-z]+)/(${ID})(?:/_history/(${ID}))?$`);
const RELATIVE = new RegExp(`^([A-Z][A-Za-z]+)/(${ID})(?:/_history/(${ID}))?$`);
const ABSOLUTE_URL = /^[A-Za-z][A-Za-z\d+.-]*:\/\/[^\s/]+(?:\/\S*)?$/;
/**
 * A urn:uuid:/urn:oid: reference is resolved by string comparison with an entry's fullUrl
 * (https://hl7.org/fhir/R4/bundle.html#references), so any non-blank suffix is a legal form; the
 * HL7 validator does not check the UUID syntax either (ref-policy test cases).
 */
const URN = /^urn:(?:uuid|oid):\S+$/;
const CONDITIONAL = /^([A-Z][A-Za-z]+)\?\S+$/;

/** Where a reference sits, as far as its legality depends on it. */
export interface ReferenceScope {
  /**
   * Inside a Bundle (a transaction or batch entry, or a stored Bundle such as a document), where
   * `urn:uuid:`/`urn:oid:` references resolve against `fullUrl`.
   */
  readonly inBundle: boolean;
  /** Inside a transaction or batch, where conditional references (`Type?criteria`) are resolved. */
  readonly conditionalAllowed: boolean;
  /** The resource whose `contained` list `#id` refers to (the container, also for contained ones). */
  readonly container: Resource | undefined;
  /** Resource type of a profile URL, when a profile is loaded; undefined when unknown. */
  readonly profileType: (url: string) => string | undefined;
}

/** What a reference string names, when its form is legal. */
type Target =
  | { kind: 'typed'; resourceType: string }
  | { kind: 'contained'; resource: Resource | undefined; self: boolean }
  | { kind: 'untyped' };

function invalid(text: string, expression: string): OperationOutcomeIssue {
  return issue({ code: 'invalid', text, expression });
}

function classify(value: string, scope: ReferenceScope, path: string, issues: OperationOutcomeIssue[]): Target | undefined {
  const expression = `${path}.reference`;
  if (value.startsWith('#')) {
    if (value === '#') {
      return { kind: 'contained', resource: scope.container, self: true };
    }
    const id = value.slice(1);
    const contained = (scope.container as { contained?: Resource[] } | undefined)?.contained;
    const resource = contained?.find((c) => c.id === id);
    if (!resource) {
      issues.push(invalid(`Reference ${value} names no resource in contained (ref-1)`, expression));
      return undefined;
    }
    return { kind: 'contained', resource, self: false };
  }
  if (value.startsWith('urn:')) {
    if (!URN.test(value)) {
      issues.push(invalid(`Reference "${value}" is not a valid urn:uuid: or urn:oid:`, expression));
      return undefined;
    }
    if (!scope.inBundle) {
      issues.push(invalid('urn:uuid: and urn:oid: references are only resolvable inside a Bundle', expression));
      return undefined;
    }
    return { kind: 'untyped' };
  }
  const conditional = CONDITIONAL.exec(value);
  if (conditional) {
    if (!scope.conditionalAllowed) {
      issues.push(invalid('Conditional references (Type?criteria) are only allowed in a transaction', expression));
      return undefined;
    }
    return { kind: 'typed', resourceType: conditional[1] as string };
  }
  const relative = RELATIVE.exec(value);
  const restful = relative ?? (ABSOLUTE_URL.test(value) ? RESTFUL.exec(value) : null);
  if (restful) {
    const type = restful[1] as string;
    if (!isR4ResourceType(type)) {
      if (relative) {
        issues.push(invalid(`Reference "${value}" names an unknown resource type "${type}"`, expression));
        return undefined;
      }
      // An absolute URL that merely ends in something like a type and id: nothing to check.
      return { kind: 'untyped' };
    }
    return { kind: 'typed', resourceType: type };
  }
  if (ABSOLUTE_URL.test(value)) {
    return { kind: 'untyped' };
  }
  issues.push(invalid(`"${value}" is not a relative (Type/id), absolute or contained (#id) reference`, expression));
  return undefined;
}

/** Resource types an element allows, or undefined when it allows any (Resource, unknown profiles). */
function allowedTypes(targetProfiles: readonly string[] | undefined, scope: ReferenceScope): Set<string> | undefined {
  if (!targetProfiles || targetProfiles.length === 0) {
    return undefined;
  }
  const types = new Set<string>();
  for (const profile of targetProfiles) {
    const type = profile.startsWith(BASE_PROFILE) ? profile.slice(BASE_PROFILE.length) : scope.profileType(profile);
    if (type === undefined || type === 'Resource') {
      return undefined;
    }
    types.add(type);
  }
  return types;
}

/** Issues of one Reference value at `path` (e.g. `Patient.managingOrganization`). */
export function referenceIssues(
  reference: Reference,
  path: string,
  targetProfiles: readonly string[] | undefined,
  scope: ReferenceScope
): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const value = reference.reference;
  if (typeof value !== 'string') {
    return issues;
  }
  const target = classify(value, scope, path, issues);
  let targetType: string | undefined;
  if (target?.kind === 'typed') {
    targetType = target.resourceType;
  } else if (target?.kind === 'contained') {
    targetType = target.resource?.resourceType;
  }
  if (targetType === undefined) {
    return issues;
  }
  // "If both are present, Reference.type SHALL match the type of the reference" (references.html#Reference).
  if (reference.type !== undefined && reference.type !== targetType && target?.kind === 'typed') {
    issues.push(invalid(`Reference.type ${reference.type} disagrees with the reference to a ${targetType}`, `${path}.type`));
  }
  const allowed = allowedTypes(targetProfiles, scope);
  if (allowed && !allowed.has(targetType)) {
    issues.push(
      invalid(`A reference to a ${targetType} is not allowed here; allowed: ${[...allowed].sort().join(', ')}`, `${path}.reference`)
    );
  }
  return issues;
}
