/**
 * Content validation of a resource before it reaches the repository, in three layers:
 * 1. the FHIR JSON rules (json-shape.ts) and the R4 JSON schema (ajv): JSON types, unknown
 *    properties, primitive formats, codes of required bindings;
 * 2. the StructureDefinitions through @medplum/core: cardinality, types, FHIRPath invariants;
 * 3. what neither enforces (element-rules.ts): reference form and target type, one type per
 *    choice element, narrative XHTML, attachment sizes; then the profiles the resource claims.
 * Database-dependent checks (reference targets exist, versions) happen later, inside the write's
 * transaction. Decimals arrive as JS numbers, so their precision (1.50 vs 1.5) is not kept; that
 * is a limit of parsing JSON into numbers, documented rather than worked around.
 */
import { validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { isR4ResourceType, loadR4Definitions, r4StructureDefinitions } from '../fhir/definitions.js';
import { badRequest, hasErrors, isOperationOutcomeError, unprocessable } from '../fhir/outcomes.js';
import { bsnIssues } from './bsn.js';
import { bundleIssues } from './bundle-rules.js';
import { ConstraintSources, withConstraintKeys } from './constraint-keys.js';
import { elementRuleIssues } from './element-rules.js';
import { withJsonExpressions } from './expression.js';
import { jsonShapeIssues } from './json-shape.js';
import { applyPrimitiveCorrections } from './primitives.js';
import { loadR4Terminology } from '../terminology/r4-terminology.js';
import { ProfileRegistry } from './profiles.js';
import { compileSchemas, schemaIssues } from './schema.js';

export interface ValidationResult {
  /** Errors and warnings; errors mean the resource must not be stored. */
  readonly issues: OperationOutcomeIssue[];
}

export interface ValidationOptions {
  /**
   * The resource is an entry of a transaction or batch Bundle: `urn:uuid:`/`urn:oid:` and
   * conditional (`Type?criteria`) references are legal, because the Bundle processing resolves
   * them. A plain create or update refuses them (422).
   */
  readonly inBundle?: boolean;
  /** Profiles to validate against besides those in meta.profile ($validate's `profile`). */
  readonly profiles?: readonly string[];
}

export interface ResourceValidator {
  /** The profiles this validator knows. */
  readonly profiles: ProfileRegistry;
  /** Checks a parsed body is a resource at all (400), optionally of the expected type. */
  assertResource(body: unknown, expectedType?: string): asserts body is Resource;
  /** All issues of a resource, errors and warnings alike; never throws for content problems. */
  check(resource: Resource, options?: ValidationOptions): ValidationResult;
  /** Throws 422 with every error when the resource is invalid; returns the warnings otherwise. */
  validate(resource: Resource, options?: ValidationOptions): OperationOutcomeIssue[];
}

/** Warnings of @medplum/core that element-rules.ts replaces with errors of its own. */
function supersededByElementRules(i: OperationOutcomeIssue): boolean {
  const text = i.details?.text ?? '';
  return i.severity === 'warning' && (text.startsWith('Invalid reference:') || text.startsWith('Conflicting choice of type'));
}

function structureIssues(resource: Resource): OperationOutcomeIssue[] {
  try {
    return validateResource(resource);
  } catch (error) {
    if (isOperationOutcomeError(error)) {
      return error.outcome.issue ?? [];
    }
    throw error;
  }
}

function distinct(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.severity}|${i.code}|${(i.expression ?? []).join(',')}|${i.details?.text ?? ''}`;
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}

export function createValidator(profiles: ProfileRegistry = new ProfileRegistry()): ResourceValidator {
  loadR4Definitions();
  applyPrimitiveCorrections();
  compileSchemas();
  loadR4Terminology();
  const sources = new ConstraintSources().add(profiles.all()).add(r4StructureDefinitions());
  const validator: ResourceValidator = {
    profiles,
    assertResource(body: unknown, expectedType?: string): asserts body is Resource {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw badRequest('The request body must be a FHIR resource (a JSON object)');
      }
      const type = (body as { resourceType?: unknown }).resourceType;
      if (typeof type !== 'string') {
        throw badRequest('The resource has no resourceType', 'resourceType');
      }
      if (!isR4ResourceType(type)) {
        throw badRequest(`Unknown resource type "${type}"`, 'resourceType');
      }
      if (expectedType !== undefined && type !== expectedType) {
        throw badRequest(`Resource type ${type} does not match the URL (${expectedType})`, 'resourceType');
      }
    },
    check(resource: Resource, options: ValidationOptions = {}): ValidationResult {
      const schema = [...jsonShapeIssues(resource), ...schemaIssues(resource)];
      if (hasErrors(schema)) {
        return { issues: schema };
      }
      const issues = [
        ...schema,
        ...structureIssues(resource).filter((i) => !supersededByElementRules(i)),
        ...elementRuleIssues(resource, {
          inBundle: options.inBundle === true,
          profileType: (url) => profiles.typeOf(url),
          nestedProfileIssues: (nested, path) => profiles.issues(nested, path),
        }),
        ...bundleIssues(resource),
        ...profiles.issues(resource, resource.resourceType, options.profiles),
        ...bsnIssues(resource),
      ];
      return { issues: withConstraintKeys(distinct(withJsonExpressions(issues, resource)), sources) };
    },
    validate(resource: Resource, options?: ValidationOptions): OperationOutcomeIssue[] {
      const { issues } = validator.check(resource, options);
      if (hasErrors(issues)) {
        throw unprocessable(issues.filter((i) => i.severity === 'error' || i.severity === 'fatal'));
      }
      return issues;
    },
  };
  return validator;
}
