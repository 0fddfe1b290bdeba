/**
 * Expansion of a ValueSet into the codes it holds, from its definition
 * (https://hl7.org/fhir/R4/valueset.html#compose): included concept lists, whole code systems
 * (when the CodeSystem is known and complete), other value sets (intersected, as R4 says), and
 * exclusions; else from a stored `expansion`. Value sets this cannot expand without a terminology
 * server (filters on SNOMED CT or LOINC, code systems not loaded, grammars such as UCUM) answer
 * undefined: callers decide whether that means "not checked" or an error.
 */
import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { splitCanonical } from '../fhir/references.js';

/** Where expansion finds the CodeSystems and other ValueSets a ValueSet names, by canonical URL. */
export interface TerminologySource {
  valueSet(canonical: string): ValueSet | undefined;
  codeSystem(canonical: string): CodeSystem | undefined;
}

/** The codes of an expanded ValueSet, with their displays where the definitions give them. */
export class Expansion {
  private readonly bySystem = new Map<string, Map<string, string | undefined>>();

  add(system: string, code: string, display?: string): void {
    let codes = this.bySystem.get(system);
    if (!codes) {
      codes = new Map();
      this.bySystem.set(system, codes);
    }
    codes.set(code, display ?? codes.get(code));
  }

  contains(system: string | undefined, code: string | undefined): boolean {
    return system !== undefined && code !== undefined && (this.bySystem.get(system)?.has(code) ?? false);
  }

  get size(): number {
    let n = 0;
    for (const codes of this.bySystem.values()) {
      n += codes.size;
    }
    return n;
  }

  codings(): Array<{ system: string; code: string; display?: string }> {
    return [...this.bySystem].flatMap(([system, codes]) => [...codes].map(([code, display]) => (display === undefined ? { system, code } : { system, code, display })));
  }

  filter(keep: (system: string, code: string) => boolean): Expansion {
    const result = new Expansion();
    for (const { system, code, display } of this.codings()) {
      if (keep(system, code)) {
        result.add(system, code, display);
      }
    }
    return result;
  }

  addAll(other: Expansion): void {
    for (const { system, code, display } of other.codings()) {
      this.add(system, code, display);
    }
  }
}

/** Beyond this many codes a value set is no list to check against or search with. */
const MAX_EXPANSION = 10_000;
const MAX_DEPTH = 8;

function systemCodes(system: string, source: TerminologySource): Expansion | undefined {
  const codeSystem = source.codeSystem(system);
  if (codeSystem?.content !== 'complete') {
    return undefined;
  }
  const result = new Expansion();
  const walk = (concepts: readonly CodeSystemConcept[] | undefined): void => {
    for (const concept of concepts ?? []) {
      result.add(system, concept.code, concept.display);
      walk(concept.concept);
    }
  };
  walk(codeSystem.concept);
  return result;
}

function includeCodes(include: ValueSetComposeInclude, source: TerminologySource, seen: ReadonlySet<string>): Expansion | undefined {
  if (include.filter?.length) {
    return undefined;
  }
  let result: Expansion | undefined;
  if (include.system) {
    const system = include.system;
    if (include.concept) {
      result = new Expansion();
      // A listed concept without a display takes the code system's, when that is known.
      const known = include.concept.some((c) => c.display === undefined) ? systemCodes(system, source) : undefined;
      const displays = new Map(known?.codings().map((c) => [c.code, c.display]));
      for (const concept of include.concept) {
        result.add(system, concept.code, concept.display ?? displays.get(concept.code));
      }
    } else {
      result = systemCodes(system, source);
      if (!result) {
        return undefined;
      }
    }
  }
  for (const canonical of include.valueSet ?? []) {
    const other = expandCanonical(canonical, source, seen);
    if (!other) {
      return undefined;
    }
    result = result ? result.filter((system, code) => other.contains(system, code)) : other;
  }
  return result;
}

function expansionContains(contains: readonly ValueSetExpansionContains[] | undefined, into: Expansion): Expansion {
  for (const entry of contains ?? []) {
    if (entry.system && entry.code && !entry.abstract) {
      into.add(entry.system, entry.code, entry.display);
    }
    expansionContains(entry.contains, into);
  }
  return into;
}

function fromCompose(valueSet: ValueSet, source: TerminologySource, seen: ReadonlySet<string>): Expansion | undefined {
  const compose = valueSet.compose;
  if (!compose?.include.length) {
    return undefined;
  }
  const result = new Expansion();
  for (const include of compose.include) {
    const codes = includeCodes(include, source, seen);
    if (!codes) {
      return undefined;
    }
    result.addAll(codes);
  }
  const excluded = new Expansion();
  for (const exclude of compose.exclude ?? []) {
    const codes = includeCodes(exclude, source, seen);
    if (!codes) {
      return undefined;
    }
    excluded.addAll(codes);
  }
  return excluded.size === 0 ? result : result.filter((system, code) => !excluded.contains(system, code));
}

/** The codes of a ValueSet, or undefined when they cannot be known here (or exceed MAX_EXPANSION). */
export function expandValueSet(valueSet: ValueSet, source: TerminologySource, seen: ReadonlySet<string> = new Set()): Expansion | undefined {
  if (seen.size >= MAX_DEPTH || (valueSet.url !== undefined && seen.has(valueSet.url))) {
    return undefined;
  }
  const inner = valueSet.url === undefined ? seen : new Set([...seen, valueSet.url]);
  const result = fromCompose(valueSet, source, inner) ?? (valueSet.expansion?.contains ? expansionContains(valueSet.expansion.contains, new Expansion()) : undefined);
  return result && result.size <= MAX_EXPANSION ? result : undefined;
}

function expandCanonical(canonical: string, source: TerminologySource, seen: ReadonlySet<string>): Expansion | undefined {
  const valueSet = source.valueSet(canonical) ?? source.valueSet(splitCanonical(canonical).url);
  return valueSet ? expandValueSet(valueSet, source, seen) : undefined;
}

/**
 * The canonical URLs a ValueSet's definition names: code systems (for their concepts, or the
 * displays of listed concepts that give none) and value sets to look up.
 */
export function dependenciesOf(valueSet: ValueSet): { codeSystems: string[]; valueSets: string[] } {
  const includes = [...(valueSet.compose?.include ?? []), ...(valueSet.compose?.exclude ?? [])];
  return {
    codeSystems: includes.flatMap((i) => (i.system && (!i.concept || i.concept.some((c) => c.display === undefined)) ? [i.system] : [])),
    valueSets: includes.flatMap((i) => i.valueSet ?? []),
  };
}
