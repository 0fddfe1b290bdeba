/**
 * ValueSets and CodeSystems stored on this server, found by canonical URL through the `url` search
 * index, layered over those of the R4 specification: an operator loads the value sets of an
 * instrument or a Dutch code list as FHIR resources and search (`:in`, `:not-in`) and
 * questionnaire validation (`answerValueSet`) use them at once.
 */
import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { splitCanonical } from '../fhir/references.js';
import type { Queryable } from '../storage/database.js';
import { dependenciesOf, expandValueSet, type Expansion, type TerminologySource } from './expand.js';
import { r4Terminology } from './r4-terminology.js';

type Terminology = CodeSystem | ValueSet;

/** How deep value sets may include other value sets that are fetched on the way. */
const MAX_ROUNDS = 8;

async function fetchByUrl<T extends Terminology>(db: Queryable, resourceType: T['resourceType'], urls: readonly string[]): Promise<T[]> {
  if (urls.length === 0) {
    return [];
  }
  const rows = await db.query<{ content: string }>(
    `SELECT r.content FROM resource r
      WHERE r.resource_type = $1 AND NOT r.deleted
        AND r.sid IN (SELECT u.sid FROM search_uri u WHERE u.resource_type = $1 AND u.param = 'url' AND u.uri = ANY($2::text[]))
      ORDER BY r.last_updated DESC`,
    [resourceType, [...new Set(urls)]]
  );
  return rows.map((row) => JSON.parse(row.content) as T);
}

/** Stored resources by canonical: `url|version` names one version, a bare `url` the active one last written. */
class StoredTerminology implements TerminologySource {
  private readonly stored = new Map<string, Terminology[]>();

  add(resources: readonly Terminology[]): void {
    for (const resource of resources) {
      if (resource.url) {
        const list = this.stored.get(resource.url) ?? [];
        list.push(resource);
        this.stored.set(resource.url, list);
      }
    }
  }

  private find<T extends Terminology>(resourceType: T['resourceType'], canonical: string): T | undefined {
    const { url, version } = splitCanonical(canonical);
    const candidates = (this.stored.get(url) ?? []).filter((r): r is T => r.resourceType === resourceType && (version === undefined || r.version === version));
    return candidates.find((r) => r.status === 'active') ?? candidates[0];
  }

  valueSet(canonical: string): ValueSet | undefined {
    return this.find<ValueSet>('ValueSet', canonical) ?? r4Terminology.valueSet(canonical);
  }

  codeSystem(canonical: string): CodeSystem | undefined {
    return this.find<CodeSystem>('CodeSystem', canonical) ?? r4Terminology.codeSystem(canonical);
  }
}

export interface ResolvedValueSet {
  /** The ValueSet was found (stored or in R4). */
  readonly found: boolean;
  readonly valueSet: ValueSet | undefined;
  /** Its codes; undefined when found but not expandable here. */
  readonly expansion: Expansion | undefined;
}

/**
 * Resolves and expands value sets named by canonical URL (`url` or `url|version`), fetching what
 * their definitions name from the database round by round. `local` holds ValueSets named otherwise
 * (`#id` for a Questionnaire's contained ones, `ValueSet/id` for one read by id).
 */
export async function resolveValueSets(
  db: Queryable,
  canonicals: readonly string[],
  local: ReadonlyMap<string, ValueSet> = new Map()
): Promise<Map<string, ResolvedValueSet>> {
  const source = new StoredTerminology();
  const urlOf = (canonical: string): string => splitCanonical(canonical).url;
  const pending = { valueSets: canonicals.filter((c) => !local.has(c)).map(urlOf), codeSystems: [] as string[] };
  const need = (valueSet: ValueSet): void => {
    const deps = dependenciesOf(valueSet);
    pending.valueSets.push(...deps.valueSets.map(urlOf));
    pending.codeSystems.push(...deps.codeSystems.map(urlOf));
  };
  local.forEach(need);
  const asked = new Set<string>();
  for (let round = 0; round < MAX_ROUNDS && (pending.valueSets.length > 0 || pending.codeSystems.length > 0); round++) {
    const valueSetUrls = [...new Set(pending.valueSets)].filter((u) => !asked.has(`ValueSet ${u}`));
    const codeSystemUrls = [...new Set(pending.codeSystems)].filter((u) => !asked.has(`CodeSystem ${u}`));
    valueSetUrls.forEach((u) => asked.add(`ValueSet ${u}`));
    codeSystemUrls.forEach((u) => asked.add(`CodeSystem ${u}`));
    pending.valueSets.length = 0;
    pending.codeSystems.length = 0;
    const [valueSets, codeSystems] = await Promise.all([fetchByUrl<ValueSet>(db, 'ValueSet', valueSetUrls), fetchByUrl<CodeSystem>(db, 'CodeSystem', codeSystemUrls)]);
    source.add([...valueSets, ...codeSystems]);
    // What the fetched value sets (every version), or the R4 ones of URLs not stored, name comes next round.
    valueSets.forEach(need);
    const stored = new Set(valueSets.map((v) => v.url));
    for (const url of valueSetUrls.filter((u) => !stored.has(u))) {
      const r4 = r4Terminology.valueSet(url);
      if (r4) {
        need(r4);
      }
    }
  }
  const result = new Map<string, ResolvedValueSet>();
  for (const canonical of canonicals) {
    const valueSet = local.get(canonical) ?? source.valueSet(canonical);
    result.set(canonical, { found: valueSet !== undefined, valueSet, expansion: valueSet ? expandValueSet(valueSet, source) : undefined });
  }
  return result;
}
