/**
 * The profiles this server validates against: StructureDefinitions (constraints on R4 resources)
 * loaded from a folder at start, indexed into @medplum/core, and applied to every resource that
 * claims them in meta.profile (https://hl7.org/fhir/R4/resource.html#Meta, profiling.html).
 * Extension definitions (kind complex-type, type Extension) load the same way, so profiles can type
 * their extension slices with them.
 *
 * A constraint marked with the SERVER_EVALUATED extension is published in the profile but not
 * handed to @medplum/core: it needs what FHIRPath there cannot do (resolve() against the server's
 * own data, date arithmetic), and Schakel's domain rules evaluate it in code instead, reporting the
 * same key (constraint-keys.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { isR4ResourceType, r4StructureDefinitions } from '../fhir/definitions.js';
import { isOperationOutcomeError, issue } from '../fhir/outcomes.js';
import { splitCanonical } from '../fhir/references.js';

/** Canonical URLs of the base R4 definitions: claiming them adds nothing to validate. */
const BASE = 'http://hl7.org/fhir/StructureDefinition/';

/** Marks a constraint that Schakel evaluates in code rather than through @medplum/core. */
export const SERVER_EVALUATED = 'http://schakel.nl/fhir/StructureDefinition/server-evaluated-constraint';

export class ProfileError extends Error {
  override name = 'ProfileError';
}

function asProfiles(file: string, content: unknown): StructureDefinition[] {
  const resource = content as Resource;
  const list =
    resource.resourceType === 'Bundle'
      ? (resource.entry ?? []).map((e) => e.resource).filter((r): r is Resource => r !== undefined)
      : [resource];
  return list.filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition').map((sd) => {
    const extension = sd.kind === 'complex-type' && sd.type === 'Extension';
    if (!sd.url || !sd.id || !sd.type || (sd.kind !== 'resource' && !extension) || !sd.snapshot?.element?.length) {
      throw new ProfileError(`${file}: a profile needs id, url, kind=resource (or an Extension), type and a snapshot (${sd.url ?? sd.id ?? '?'})`);
    }
    if (!extension && !isR4ResourceType(sd.type)) {
      throw new ProfileError(`${file}: ${sd.url} constrains unknown resource type ${sd.type}`);
    }
    return sd;
  });
}

/** An issue of a nested resource validated on its own, with its expressions under `path`. */
function rebase(i: OperationOutcomeIssue, type: string, path: string): OperationOutcomeIssue {
  if (path === type || !i.expression) {
    return i;
  }
  const expression = i.expression.map((e) => (e === type || e.startsWith(`${type}.`) ? path + e.slice(type.length) : e));
  return { ...i, expression };
}

/** The profile as @medplum/core validates it: without the constraints Schakel evaluates in code. */
function forValidation(sd: StructureDefinition): StructureDefinition {
  const marked = (c: { extension?: Array<{ url: string }> }): boolean => (c.extension ?? []).some((e) => e.url === SERVER_EVALUATED);
  if (!(sd.snapshot?.element ?? []).some((e) => (e.constraint ?? []).some(marked))) {
    return sd;
  }
  const copy = structuredClone(sd);
  for (const element of copy.snapshot?.element ?? []) {
    if (element.constraint) {
      element.constraint = element.constraint.filter((c) => !marked(c));
    }
  }
  return copy;
}

/** Profiles by canonical URL; read-only once built. */
export class ProfileRegistry {
  private readonly byUrl = new Map<string, StructureDefinition>();
  private readonly validated = new Map<string, StructureDefinition>();

  constructor(profiles: readonly StructureDefinition[] = []) {
    const baseUrls = new Set(r4StructureDefinitions().map((sd) => sd.url));
    for (const sd of profiles) {
      if (baseUrls.has(sd.url) || this.byUrl.has(sd.url)) {
        throw new ProfileError(`Profile ${sd.url} is defined twice (or redefines a base R4 definition)`);
      }
      this.byUrl.set(sd.url, sd);
      this.validated.set(sd.url, forValidation(sd));
    }
    if (profiles.length > 0) {
      indexStructureDefinitionBundle([...this.validated.values()]);
    }
  }

  /**
   * Loads every `*.json` file of a folder (a StructureDefinition, or a Bundle of them; other
   * resources such as Questionnaires are left for their own loaders). A missing folder is empty.
   * A malformed profile stops the start (fail fast), naming the file.
   */
  static fromFolder(dir: string): ProfileRegistry {
    let files: string[];
    try {
      files = statSync(dir).isDirectory() ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
    } catch {
      files = [];
    }
    const profiles = files.flatMap((file) => {
      let content: unknown;
      try {
        content = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      } catch (error) {
        throw new ProfileError(`${join(dir, file)} is not valid JSON: ${(error as Error).message}`);
      }
      return asProfiles(join(dir, file), content);
    });
    return new ProfileRegistry(profiles);
  }

  get(url: string): StructureDefinition | undefined {
    return this.byUrl.get(splitCanonical(url).url);
  }

  all(): StructureDefinition[] {
    return [...this.byUrl.values()];
  }

  /** Canonical URLs of the loaded profiles on a resource type (CapabilityStatement.supportedProfile). */
  supportedProfiles(resourceType: string): string[] {
    return this.all()
      .filter((sd) => sd.type === resourceType)
      .map((sd) => sd.url)
      .sort();
  }

  /** The resource type a loaded profile constrains; undefined for unknown URLs. */
  typeOf(url: string): string | undefined {
    return this.get(url)?.type;
  }

  /**
   * Issues of a resource against each profile it claims in meta.profile, plus `extra` profiles
   * (the `profile` parameter of $validate). An unknown claimed profile is a warning, because the
   * resource may be valid for a system that knows it; base R4 URLs are fine.
   */
  issues(resource: Resource, path: string, extra: readonly string[] = []): OperationOutcomeIssue[] {
    const issues: OperationOutcomeIssue[] = [];
    const claimed = [...(resource.meta?.profile ?? []), ...extra];
    for (const [i, url] of claimed.entries()) {
      const expression = i < (resource.meta?.profile?.length ?? 0) ? `${path}.meta.profile[${i}]` : path;
      const sd = this.get(url);
      if (!sd) {
        if (!url.startsWith(BASE)) {
          issues.push(issue({ severity: 'warning', code: 'not-supported', text: `Profile ${url} is not known to this server; not validated`, expression }));
        }
        continue;
      }
      if (sd.type !== resource.resourceType) {
        issues.push(issue({ code: 'invalid', text: `Profile ${url} is for ${sd.type}, not ${resource.resourceType}`, expression }));
        continue;
      }
      let found: OperationOutcomeIssue[];
      try {
        found = validateResource(resource, { profile: this.validated.get(sd.url) ?? sd });
      } catch (error) {
        if (!isOperationOutcomeError(error)) {
          throw error;
        }
        found = error.outcome.issue ?? [];
      }
      issues.push(...found.map((i) => rebase(i, resource.resourceType, path)));
    }
    return issues;
  }
}
