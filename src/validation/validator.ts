/**
 * Content validation of a resource before it reaches the repository: the R4 JSON schema first,
 * then the structural rules of the StructureDefinitions (cardinality, choice types, invariants)
 * through @medplum/core. Database-dependent checks (reference targets, versions) happen later,
 * inside the write's transaction.
 */
import { validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { isR4ResourceType, loadR4Definitions } from '../fhir/definitions.js';
import { badRequest, hasErrors, isOperationOutcomeError, unprocessable } from '../fhir/outcomes.js';
import { compileSchemas, schemaIssues } from './schema.js';

export interface ValidationResult {
  /** Errors and warnings; errors mean the resource must not be stored. */
  readonly issues: OperationOutcomeIssue[];
}

export interface ResourceValidator {
  /** Checks a parsed body is a resource at all (400), optionally of the expected type. */
  assertResource(body: unknown, expectedType?: string): asserts body is Resource;
  /** All issues of a resource, errors and warnings alike; never throws for content problems. */
  check(resource: Resource): ValidationResult;
  /** Throws 422 with every error when the resource is invalid; returns the warnings otherwise. */
  validate(resource: Resource): OperationOutcomeIssue[];
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

export function createValidator(): ResourceValidator {
  loadR4Definitions();
  compileSchemas();
  const validator: ResourceValidator = {
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
    check(resource: Resource): ValidationResult {
      const schema = schemaIssues(resource);
      if (hasErrors(schema)) {
        return { issues: schema };
      }
      return { issues: [...schema, ...structureIssues(resource)] };
    },
    validate(resource: Resource): OperationOutcomeIssue[] {
      const { issues } = validator.check(resource);
      if (hasErrors(issues)) {
        throw unprocessable(issues.filter((i) => i.severity === 'error' || i.severity === 'fatal'));
      }
      return issues;
    },
  };
  return validator;
}

