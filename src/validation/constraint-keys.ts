/**
 * Invariant failures name their constraint in a machine-readable way: @medplum/core reports a
 * failed invariant as code `invariant` with the key only inside its message text ("Constraint
 * sch-ref-3 not met: ..."). Every such issue also gets `details.coding` with the key as code and
 * the constraint's source (the StructureDefinition that defines it,
 * https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.constraint.source)
 * as system, so clients and tests can tell which rule failed without parsing text (docs/care-workflows.md).
 * Rules that Schakel evaluates in code (server-evaluated constraints, see profiles.ts) report the
 * same shape through constraintIssue.
 */
import type { ElementDefinitionConstraint, OperationOutcomeIssue, StructureDefinition } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcomes.js';

const CONSTRAINT_TEXT = /^Constraint (\S+) not met/;

/** Constraint keys to their source, from the definitions given (base R4 and the loaded profiles). */
export class ConstraintSources {
  private readonly sources = new Map<string, string>();

  add(definitions: readonly StructureDefinition[]): this {
    for (const sd of definitions) {
      for (const element of sd.snapshot?.element ?? []) {
        for (const constraint of element.constraint ?? []) {
          if (constraint.key && !this.sources.has(constraint.key)) {
            this.sources.set(constraint.key, constraint.source ?? sd.url);
          }
        }
      }
    }
    return this;
  }

  sourceOf(key: string): string | undefined {
    return this.sources.get(key);
  }
}

/** The issues with the failed constraint's key (and source) in details.coding. */
export function withConstraintKeys(issues: readonly OperationOutcomeIssue[], sources: ConstraintSources): OperationOutcomeIssue[] {
  return issues.map((i) => {
    const key = i.code === 'invariant' && !i.details?.coding ? CONSTRAINT_TEXT.exec(i.details?.text ?? '')?.[1] : undefined;
    if (key === undefined) {
      return i;
    }
    const system = sources.sourceOf(key);
    return { ...i, details: { ...i.details, coding: [{ ...(system ? { system } : {}), code: key }] } };
  });
}

/** An error issue for a failed invariant that Schakel evaluates in code, shaped like the validator's. */
export function constraintIssue(
  constraint: Pick<ElementDefinitionConstraint, 'key' | 'human' | 'source'>,
  expression: string,
  severity: OperationOutcomeIssue['severity'] = 'error'
): OperationOutcomeIssue {
  const found = issue({ severity, code: 'invariant', text: `Constraint ${constraint.key} not met: ${constraint.human}`, expression });
  return { ...found, details: { ...found.details, coding: [{ ...(constraint.source ? { system: constraint.source } : {}), code: constraint.key }] } };
}
