/**
 * The server's own knowledge artifacts besides profiles: Questionnaires, CodeSystems, ValueSets,
 * PlanDefinitions, Measures (and the other definitional types below) in `profiles/`, plus the
 * SearchParameters Schakel adds. They are read at start (a malformed file stops the start, naming
 * it), validated like any write, stored under their own id when their content changed (so a
 * restart adds no versions), and kept read-only: a client cannot overwrite or delete one. A new
 * version of an instrument is a new file with a new id, so what older responses point at stays.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deepEquals } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { forbidden } from '../fhir/outcomes.js';
import { builtInByUrl, builtInDefinition } from '../definitions/built-in-definitions.js';
import type { FhirContext } from '../interactions/context.js';
import type { WriteHook } from '../repository/types.js';
import { profileContent } from '../validation/profile-guard.js';
import { parseJsonKeepingDecimals } from '../fhir/json-parse.js';

/** Types loaded from profiles/ by this loader; StructureDefinitions have their own (validation/profiles.ts). */
export const DEFINITION_TYPES: ReadonlySet<string> = new Set([
  'Questionnaire',
  'CodeSystem',
  'ValueSet',
  'ConceptMap',
  'NamingSystem',
  'PlanDefinition',
  'ActivityDefinition',
  'Measure',
  'Library',
]);

export class DefinitionError extends Error {
  override name = 'DefinitionError';
}

type Definition = Resource & { id: string };

function definitionsIn(file: string, content: unknown): Definition[] {
  const resource = content as Resource;
  const list =
    resource.resourceType === 'Bundle'
      ? (resource.entry ?? []).map((e) => e.resource).filter((r): r is Resource => r !== undefined)
      : [resource];
  return list
    .filter((r) => DEFINITION_TYPES.has(r.resourceType))
    .map((r) => {
      if (!r.id || !(r as { url?: string }).url) {
        throw new DefinitionError(`${file}: a ${r.resourceType} needs an id and a canonical url`);
      }
      return r as Definition;
    });
}

/** The definitions in every `*.json` file of a folder, in file-name order; a missing folder is empty. */
export function loadDefinitions(dir: string): Definition[] {
  let files: string[];
  try {
    files = statSync(dir).isDirectory() ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
  } catch {
    files = [];
  }
  const seen = new Set<string>();
  return files.flatMap((file) => {
    const path = join(dir, file);
    let content: unknown;
    try {
      content = parseJsonKeepingDecimals(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new DefinitionError(`${path} is not valid JSON: ${(error as Error).message}`);
    }
    return definitionsIn(path, content).map((definition) => {
      const key = `${definition.resourceType}/${definition.id}`;
      if (seen.has(key)) {
        throw new DefinitionError(`${path}: ${key} is defined twice in ${dir}`);
      }
      seen.add(key);
      return definition;
    });
  });
}

/**
 * Writes new or changed definitions through the repository, validated first; answers how many.
 * One equal to the stored copy is left alone unvalidated: it was validated when that copy was written.
 */
export async function installDefinitions(context: FhirContext, definitions: readonly Definition[]): Promise<number> {
  let written = 0;
  for (const definition of definitions) {
    const current = await context.repo.readCurrent(definition.resourceType, definition.id);
    if (current && !current.deleted && current.json !== undefined) {
      if (deepEquals(profileContent(JSON.parse(current.json) as Resource), profileContent(definition))) {
        continue;
      }
    }
    context.validator.validate(definition);
    await context.repo.update(definition);
    written++;
  }
  return written;
}

/**
 * The R4 definitions served from memory (definitions/built-in-definitions.ts) are read-only too:
 * no write under their id, and no other resource taking their canonical url from them (which would
 * replace them in reads and searches). 403, as for the server's own definitions above.
 */
function assertNotBuiltIn(resourceType: string, id: string, resource: Resource | undefined): void {
  if (builtInDefinition(resourceType, id) !== undefined) {
    throw forbidden(`${resourceType}/${id} is a definition of FHIR R4 and is read-only`);
  }
  const url = (resource as { url?: unknown } | undefined)?.url;
  if (typeof url === 'string' && builtInByUrl(resourceType, url) !== undefined) {
    throw forbidden(`${url} is the canonical url of a FHIR R4 ${resourceType} and is read-only`, `${resourceType}.url`);
  }
}

/** Refuses client writes that would change or delete a definition the server installed. */
export function definitionGuard(definitions: readonly Definition[]): WriteHook {
  const byKey = new Map(definitions.map((d) => [`${d.resourceType}/${d.id}`, d]));
  return {
    async beforeWrite(_repo, change) {
      const owned = byKey.get(`${change.version.resourceType}/${change.version.id}`);
      if (!owned) {
        assertNotBuiltIn(change.version.resourceType, change.version.id, change.resource);
        return;
      }
      if (!change.resource || !deepEquals(profileContent(owned), profileContent(change.resource))) {
        throw forbidden(`${owned.resourceType}/${owned.id} is a definition of this server (profiles/) and is read-only`);
      }
    },
  };
}
