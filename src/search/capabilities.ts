/**
 * What the CapabilityStatement says about search for a resource type
 * (https://hl7.org/fhir/R4/capabilitystatement.html): generated from the same parameter table
 * that the indexer and the query builder use.
 */
import type { CapabilityStatementRestResourceSearchParam } from '@medplum/fhirtypes';
import { r4ResourceTypes } from '../fhir/definitions.js';
import { searchParams } from './parameters.js';
import type { SearchCapabilities } from './types.js';

let revIncludes: Map<string, string[]> | undefined;

function revIncludesOf(type: string): string[] {
  if (!revIncludes) {
    revIncludes = new Map();
    for (const source of r4ResourceTypes()) {
      for (const param of searchParams(source).values()) {
        if (param.type !== 'reference') {
          continue;
        }
        for (const target of param.targets) {
          const list = revIncludes.get(target) ?? [];
          list.push(`${source}:${param.code}`);
          revIncludes.set(target, list);
        }
      }
    }
  }
  return revIncludes.get(type) ?? [];
}

export function searchCapabilities(type: string): SearchCapabilities {
  const params = [...searchParams(type).values()];
  const searchParam: CapabilityStatementRestResourceSearchParam[] = params.map((param) => ({
    name: param.code,
    definition: param.url,
    type: param.type,
    ...(param.description ? { documentation: param.description } : {}),
  }));
  const references = params.filter((param) => param.type === 'reference').map((param) => `${type}:${param.code}`);
  return {
    searchParam,
    searchInclude: references.length > 0 ? ['*', ...references] : [],
    searchRevInclude: revIncludesOf(type),
  };
}
