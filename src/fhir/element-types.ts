/**
 * The FHIR data type of an element inside a resource, from the R4 StructureDefinitions that
 * @medplum/core indexes (fhir/definitions.ts loads them). Choice elements (`valueUri`) take the type
 * their name ends with; elements of type Resource (`contained`, `Bundle.entry.resource`) take the
 * resourceType of the value found there.
 */
import { getElementDefinition } from '@medplum/core';

export type PathPart = string | number;

function childType(parentType: string, key: string, value: unknown): string | undefined {
  const element = getElementDefinition(parentType, key);
  if (!element) {
    return undefined;
  }
  let code: string | undefined;
  if (element.type.length === 1) {
    code = element.type[0]?.code;
  } else {
    // `Extension.value[x]` reached through `valueUri`: the suffix names the type.
    const last = element.path.slice(element.path.lastIndexOf('.') + 1).replace('[x]', '');
    const suffix = key.slice(last.length).toLowerCase();
    code = element.type.find((t) => t.code.toLowerCase() === suffix)?.code;
  }
  if (code === 'Resource') {
    const type = (value as { resourceType?: unknown } | undefined)?.resourceType;
    return typeof type === 'string' ? type : undefined;
  }
  return code;
}

/**
 * Type code of the element at `path` in `resource` (`['extension', 0, 'valueUri']` -> `uri`), or
 * undefined when the path leaves the definitions (unknown element, primitive extension `_x`).
 */
export function elementTypeAt(resource: { resourceType: string }, path: readonly PathPart[]): string | undefined {
  let type: string | undefined = typeof resource.resourceType === 'string' ? resource.resourceType : undefined;
  let node: unknown = resource;
  for (const part of path) {
    node = (node as Record<PathPart, unknown> | undefined)?.[part];
    if (typeof part === 'number') {
      // An array index keeps the element's type; a Resource-typed array item names its own.
      const resourceType = (node as { resourceType?: unknown } | undefined)?.resourceType;
      if (typeof resourceType === 'string') {
        type = resourceType;
      }
      continue;
    }
    if (type === undefined) {
      return undefined;
    }
    type = childType(type, part, Array.isArray(node) ? node[0] : node);
  }
  return type;
}
