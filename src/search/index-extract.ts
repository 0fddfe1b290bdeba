/**
 * Index extraction: evaluates every search parameter of a resource's type (the SearchParameter
 * FHIRPath expressions, through @medplum/core) and turns the results into index rows.
 * Composite parameters (https://hl7.org/fhir/R4/search.html#composite) index each item of their
 * expression as a group: the rows of all components share `grp`, so a search can require that
 * code and value come from the same Observation.component.
 */
import { evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { emptyRows, type IndexRows, type IndexValue } from './index-rows.js';
import {
  dateValues,
  numberValues,
  quantityValues,
  referenceValues,
  stringValues,
  tokenValues,
  uriValues,
  type Emit,
} from './index-values.js';
import { searchParams, type IndexedType, type SearchParam } from './parameters.js';

function valuesOf(emit: Emit, type: IndexedType, param: string, tv: TypedValue, baseUrl: string | undefined): void {
  switch (type) {
    case 'token':
      return tokenValues(emit, param, tv);
    case 'string':
      return stringValues(emit, param, tv);
    case 'date':
      return dateValues(emit, param, tv);
    case 'number':
      return numberValues(emit, param, tv);
    case 'quantity':
      return quantityValues(emit, param, tv);
    case 'reference':
      return referenceValues(emit, param, tv, baseUrl);
    case 'uri':
      return uriValues(emit, param, tv);
  }
}

function evaluate(param: SearchParam, input: TypedValue[], variables: Record<string, TypedValue>): TypedValue[] {
  if (!param.expression) {
    return [];
  }
  try {
    return evalFhirPathTyped(param.expression, input, variables);
  } catch {
    // An expression that cannot be evaluated on this content indexes nothing; the write goes on.
    return [];
  }
}

/** Collects rows, dropping exact duplicates (a code listed twice is one index entry). */
class RowSink {
  readonly rows: IndexRows = emptyRows();
  private readonly seen = new Set<string>();

  emitter(grp: number | null): Emit {
    return (type, param, values) => {
      const key = `${type}\u0000${param}\u0000${grp ?? ''}\u0000${values.join('\u0000')}`;
      if (!this.seen.has(key)) {
        this.seen.add(key);
        this.rows[type].push({ param, grp, values });
      }
    };
  }
}

function compositeRows(sink: RowSink, param: SearchParam, items: TypedValue[], variables: Record<string, TypedValue>, baseUrl: string | undefined): void {
  items.forEach((item, grp) => {
    const parts = param.components.map((component) => {
      try {
        return evalFhirPathTyped(component.expression, [item], variables);
      } catch {
        return [];
      }
    });
    // A group is only searchable when every component has a value.
    if (parts.some((values) => values.length === 0)) {
      return;
    }
    const emit = sink.emitter(grp);
    param.components.forEach((component, i) => {
      const staged: Array<[IndexedType, string, IndexValue[]]> = [];
      for (const tv of parts[i] ?? []) {
        valuesOf((type, name, values) => staged.push([type, name, values]), component.type, component.rowName, tv, baseUrl);
      }
      // Only the component's own rows: derived rows (:text, :identifier) have no composite use.
      for (const [type, name, values] of staged) {
        if (name === component.rowName) {
          emit(type, name, values);
        }
      }
    });
  });
}

/**
 * All index rows of one resource, or only those of the parameters in `only` (the audit trail
 * indexes just what its documented searches use).
 */
export function extractIndexRows(resource: Resource, baseUrl?: string, only?: ReadonlySet<string>): IndexRows {
  const sink = new RowSink();
  const root = toTypedValue(resource);
  const input = [root];
  const variables = { '%resource': root, '%context': root };
  for (const param of searchParams(resource.resourceType).values()) {
    if (param.column || !param.expression || (only !== undefined && !only.has(param.code))) {
      continue;
    }
    const values = evaluate(param, input, variables);
    if (values.length === 0) {
      continue;
    }
    if (param.type === 'composite') {
      compositeRows(sink, param, values, variables, baseUrl);
    } else if (param.type !== 'special') {
      const emit = sink.emitter(null);
      for (const tv of values) {
        valuesOf(emit, param.type, param.code, tv, baseUrl);
      }
    }
  }
  return sink.rows;
}
