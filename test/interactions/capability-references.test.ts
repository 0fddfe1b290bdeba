/**
 * Every canonical the CapabilityStatement names resolves (https://hl7.org/fhir/R4/capabilitystatement.html):
 * the OperationDefinitions of rest.resource.operation and rest.operation, the SearchParameters of
 * searchParam.definition, and the StructureDefinitions of profile and supportedProfile. Each must
 * be found by `?url=` exactly once, and a read of the found id must answer the same resource.
 */
import t from 'tap';
import type { Bundle, CapabilityStatement } from '@medplum/fhirtypes';
import { createTestApp, engine } from '../helpers/app.js';

type Canonicals = Map<string, Set<string>>;

function canonicalsOf(statement: CapabilityStatement): Canonicals {
  const found: Canonicals = new Map([
    ['OperationDefinition', new Set<string>()],
    ['SearchParameter', new Set<string>()],
    ['StructureDefinition', new Set<string>()],
  ]);
  const add = (type: string, url: string | undefined): void => {
    if (url !== undefined) {
      found.get(type)?.add(url);
    }
  };
  for (const rest of statement.rest ?? []) {
    for (const op of rest.operation ?? []) {
      add('OperationDefinition', op.definition);
    }
    for (const resource of rest.resource ?? []) {
      add('StructureDefinition', resource.profile);
      for (const profile of resource.supportedProfile ?? []) {
        add('StructureDefinition', profile);
      }
      for (const op of resource.operation ?? []) {
        add('OperationDefinition', op.definition);
      }
      for (const param of resource.searchParam ?? []) {
        add('SearchParameter', param.definition);
      }
    }
  }
  return found;
}

t.test(`every canonical of the CapabilityStatement resolves on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const statement = (await request({ method: 'GET', url: '/fhir/metadata' })).json<CapabilityStatement>();
  const canonicals = canonicalsOf(statement);
  t.ok((canonicals.get('OperationDefinition')?.size ?? 0) >= 10, 'operations are named');
  t.ok((canonicals.get('SearchParameter')?.size ?? 0) > 500, 'search parameters are named');
  t.ok((canonicals.get('StructureDefinition')?.size ?? 0) > 100, 'profiles are named');

  for (const [type, urls] of canonicals) {
    const list = [...urls];
    const unresolved: string[] = [];
    const ambiguous: string[] = [];
    const ids = new Map<string, string>();
    // Many urls per search (comma = or, search.html#combining), so the walk stays quick.
    for (let i = 0; i < list.length; i += 40) {
      const chunk = list.slice(i, i + 40);
      const query = new URLSearchParams({ url: chunk.join(','), _count: '100' });
      const response = await request({ method: 'GET', url: `/fhir/${type}?${query.toString()}` });
      t.equal(response.statusCode, 200, `${type}?url= answers`);
      const bundle = response.json<Bundle>();
      for (const url of chunk) {
        const matches = (bundle.entry ?? []).filter((e) => (e.resource as { url?: string } | undefined)?.url === url);
        if (matches.length === 0) {
          unresolved.push(url);
        } else if (matches.length > 1) {
          ambiguous.push(url);
        } else {
          ids.set(url, matches[0]?.resource?.id as string);
        }
      }
    }
    t.same(unresolved, [], `every ${type} canonical is found by url`);
    t.same(ambiguous, [], `no ${type} canonical is found twice`);

    // Read each found id, in batches (each entry is a read through dispatch like any GET).
    const entries = [...ids];
    const unreadable: string[] = [];
    for (let i = 0; i < entries.length; i += 200) {
      const chunk = entries.slice(i, i + 200);
      const batch = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: chunk.map(([, id]) => ({ request: { method: 'GET', url: `${type}/${id}` } })),
      };
      const response = await request({ method: 'POST', url: '/fhir', body: batch });
      t.equal(response.statusCode, 200, 'the batch of reads answers');
      const answers = (response.json<Bundle>()).entry ?? [];
      chunk.forEach(([url, id], n) => {
        const answer = answers[n];
        if (answer?.response?.status?.startsWith('200') !== true || (answer.resource as { url?: string } | undefined)?.url !== url) {
          unreadable.push(`${type}/${id}`);
        }
      });
    }
    t.same(unreadable, [], `every ${type} found by url reads by its id`);
  }
});
