/**
 * Loads the synthetic demo Bundles in fixtures/ into an empty database on first start, through
 * dispatch like any client write, so every entry is validated and indexed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Bundle } from '@medplum/fhirtypes';
import type { FhirContext } from '../interactions/context.js';
import { dispatch } from '../interactions/dispatch.js';
import { pathSegments, matchRoute } from '../fhir/routes.js';

export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** The demo Bundles, in file-name order (later files may reference earlier ones). */
export function fixtureBundles(dir = FIXTURES_DIR): Array<{ file: string; bundle: Bundle }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, bundle: JSON.parse(readFileSync(dir + file, 'utf8')) as Bundle }));
}

/** Loads every fixture entry when the database holds no resources yet; returns how many it wrote. */
export async function seedFixtures(context: FhirContext, baseUrl: string, dir = FIXTURES_DIR): Promise<number> {
  const existing = await context.repo.history({ count: 1, withTotal: false });
  if (existing.versions.length > 0) {
    return 0;
  }
  let written = 0;
  for (const { file, bundle } of fixtureBundles(dir)) {
    for (const entry of bundle.entry ?? []) {
      const request = entry.request;
      if (!request || !entry.resource || request.method !== 'PUT') {
        throw new Error(`${file}: every fixture entry must be a PUT with a resource`);
      }
      const route = matchRoute('PUT', pathSegments(request.url));
      await dispatch(context, { ...route, method: 'PUT', query: [], body: entry.resource, prefer: { return: 'minimal' }, baseUrl });
      written++;
    }
  }
  return written;
}
