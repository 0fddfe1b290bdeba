/**
 * Loads the synthetic demo Bundles in fixtures/ into an empty database on first start, through
 * dispatch like any client write, so every entry is validated and indexed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Bundle } from '@medplum/fhirtypes';
import { serverPrincipal } from '../auth/principal.js';
import type { FhirContext } from '../interactions/context.js';
import { dispatch } from '../interactions/dispatch.js';

export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** The demo Bundles, in file-name order (later files may reference earlier ones). */
export function fixtureBundles(dir = FIXTURES_DIR): Array<{ file: string; bundle: Bundle }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, bundle: JSON.parse(readFileSync(dir + file, 'utf8')) as Bundle }));
}

/**
 * Posts each fixture Bundle as a transaction through dispatch, like any client would, when the
 * database holds no resources yet; returns how many resources it wrote. A fixture that fails
 * leaves nothing of itself behind and stops the seeding with its OperationOutcome.
 */
export async function seedFixtures(context: FhirContext, baseUrl: string, dir = FIXTURES_DIR): Promise<number> {
  const existing = await context.repo.history({ count: 1, withTotal: false });
  if (existing.versions.length > 0) {
    return 0;
  }
  let written = 0;
  for (const { file, bundle } of fixtureBundles(dir)) {
    if (bundle.type !== 'transaction') {
      throw new Error(`${file}: a fixture must be a transaction Bundle`);
    }
    // The server loads its demo data as itself: audited and given Provenance like any client write.
    const response = await dispatch({ ...context, principal: serverPrincipal('schakel-seed') }, {
      interaction: 'batch-transaction',
      method: 'POST',
      query: [],
      body: bundle,
      prefer: { return: 'minimal' },
      baseUrl,
    });
    const entries = (response.resource as Bundle | undefined)?.entry ?? [];
    written += entries.filter((e) => /^20[01]/.test(e.response?.status ?? '')).length;
  }
  return written;
}
