/**
 * Resolves references by identifier (fhir/identifier-references.ts) on write to the one current
 * resource of the right type carrying that identifier, so that a Task that names its patient only
 * by BSN belongs to that patient's record like one with `Patient/id`: its reference rows, search
 * index rows and patient rows (auth/care-relations.ts) carry the resolved target. The stored JSON
 * keeps the reference exactly as the client sent it; only the copy that the index, the reference
 * check and the write rules read gains a `reference`. No match, or more than one, is 422: a
 * reference to nobody in particular cannot be narrowed to anyone's record.
 * The lookup is not narrowed: whether the caller may see the target is the write guard's question
 * (auth/write-guard.ts), answered for literal and resolved references alike.
 */
import type { Resource } from '@medplum/fhirtypes';
import { identifierReferences } from '../fhir/identifier-references.js';
import { issue, unprocessable } from '../fhir/outcomes.js';
import type { Queryable } from '../storage/database.js';
import { copyFhir } from '../fhir/decimal-text.js';

/** Whether a resource holds references by identifier this server resolves. */
export function hasIdentifierReferences(resource: Resource): boolean {
  return identifierReferences(resource).length > 0;
}

/**
 * A copy of `resource` whose references by identifier also carry the literal reference they
 * resolve to; the resource itself when it has none.
 */
export async function resolveIdentifierReferences(tx: Queryable, resource: Resource): Promise<Resource> {
  const copy = copyFhir(resource);
  const found = identifierReferences(copy);
  if (found.length === 0) {
    return resource;
  }
  const lookups = found.flatMap((ref, n) => ref.types.map((type) => ({ n, type, system: ref.identifier.system ?? null, value: ref.identifier.value })));
  const rows = await tx.query<{ n: number; resource_type: string; id: string }>(
    `SELECT DISTINCT t.n, r.resource_type, r.id
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) AS t(n, resource_type, system, code)
       JOIN search_token x ON x.resource_type = t.resource_type AND x.param = 'identifier' AND x.code = t.code
                          AND (t.system IS NULL OR x.system = t.system)
       JOIN resource r ON r.sid = x.sid AND NOT r.deleted`,
    [lookups.map((l) => l.n), lookups.map((l) => l.type), lookups.map((l) => l.system), lookups.map((l) => l.value)]
  );
  const matches = new Map<number, string[]>();
  for (const row of rows) {
    const n = Number(row.n);
    matches.set(n, [...(matches.get(n) ?? []), `${row.resource_type}/${row.id}`]);
  }
  const issues = found.flatMap((ref, n) => {
    const targets = matches.get(n) ?? [];
    if (targets.length === 1) {
      ref.reference.reference = targets[0];
      return [];
    }
    const what = `${ref.types.join(' or ')} with identifier ${ref.identifier.system ?? ''}|${ref.identifier.value}`;
    return [
      targets.length === 0
        ? issue({ code: 'not-found', text: `No ${what} is known to this server`, expression: `${ref.path}.identifier` })
        : issue({ code: 'multiple-matches', text: `More than one ${what} is known: the reference is ambiguous`, expression: `${ref.path}.identifier` }),
    ];
  });
  if (issues.length > 0) {
    throw unprocessable(issues);
  }
  return copy;
}
