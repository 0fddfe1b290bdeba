/**
 * Regenerates the snapshots of the StructureDefinitions in a folder from their differentials
 * (scripts/profiles/snapshot.ts). Profiles may build on each other (a care-bridge CarePlan on the
 * shared CarePlan, an extension slice typed with our extension), so they are generated in
 * dependency order, each one on the freshly generated snapshot of what it depends on.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { r4StructureDefinitions } from '../../src/fhir/definitions.js';
import { generateSnapshot, SnapshotError } from './snapshot.js';

export interface ProfileFile {
  readonly file: string;
  /** The file's text as committed. */
  readonly text: string;
  /** The profile with its snapshot regenerated. */
  readonly generated: StructureDefinition;
}

/** The canonical URLs a profile's differential depends on. */
function dependencies(sd: StructureDefinition): string[] {
  const urls = new Set<string>([sd.baseDefinition ?? '']);
  for (const element of sd.differential?.element ?? []) {
    for (const type of element.type ?? []) {
      for (const profile of type.profile ?? []) {
        urls.add(profile);
      }
    }
  }
  return [...urls];
}

/** The profile with its snapshot in place, keeping the order of its other keys (snapshot last). */
function withSnapshot(sd: StructureDefinition, element: NonNullable<StructureDefinition['snapshot']>['element']): StructureDefinition {
  const { snapshot: _old, ...rest } = sd;
  return { ...rest, snapshot: { element } };
}

/** Every StructureDefinition file of `dir` with its snapshot regenerated, in file-name order. */
export function regenerateProfiles(dir: string): ProfileFile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }))
    .map(({ file, text }) => ({ file, text, sd: JSON.parse(text) as StructureDefinition }))
    .filter(({ sd }) => sd.resourceType === 'StructureDefinition');
  const ours = new Map(files.map((f) => [f.sd.url, f]));
  const known = new Map<string, StructureDefinition>(r4StructureDefinitions().map((sd) => [sd.url, sd]));
  const done = new Map<string, StructureDefinition>();
  const visiting = new Set<string>();

  const build = (url: string): StructureDefinition => {
    const existing = done.get(url);
    if (existing) {
      return existing;
    }
    const entry = ours.get(url) as (typeof files)[number];
    if (visiting.has(url)) {
      throw new SnapshotError(`${entry.file}: profiles depend on each other in a cycle`);
    }
    visiting.add(url);
    for (const dependency of dependencies(entry.sd)) {
      if (ours.has(dependency)) {
        build(dependency);
      }
    }
    const lookup = (target: string): StructureDefinition | undefined => done.get(target) ?? known.get(target);
    const generated = withSnapshot(entry.sd, generateSnapshot(entry.sd, lookup));
    done.set(url, generated);
    visiting.delete(url);
    return generated;
  };

  return files.map(({ file, text, sd }) => ({ file, text, generated: build(sd.url) }));
}

/** How a profile file is written: two-space JSON with a final newline. */
export function formatProfile(sd: StructureDefinition): string {
  return `${JSON.stringify(sd, undefined, 2)}\n`;
}
