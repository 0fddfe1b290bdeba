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
import { DEFINITION_TYPES } from './definitions.js';
import { SHIPPED_TOPICS } from '../subscriptions/subscription-topics.js';
import { parseJsonKeepingDecimals } from '../fhir/json-parse.js';

/**
 * What the server writes itself at start (profiles/, its SearchParameters and OperationDefinitions, their Provenance) and
 * the audit trail of requests before the seeding: not data.
 */
const SERVER_OWNED_TYPES = ['StructureDefinition', 'SearchParameter', 'OperationDefinition', 'Provenance', 'AuditEvent', ...DEFINITION_TYPES];

export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** The demo Bundles, in file-name order (later files may reference earlier ones). */
export function fixtureBundles(dir = FIXTURES_DIR): Array<{ file: string; bundle: Bundle }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, bundle: parseJsonKeepingDecimals<Bundle>(readFileSync(dir + file, 'utf8')) }));
}

/**
 * Whether the database holds, or ever held, anything besides what the server installs itself at
 * start (profiles/, its SearchParameters): those are there on a first start too. History counts,
 * so demo data an operator deleted does not come back on the next start.
 */
async function holdsData(context: FhirContext): Promise<boolean> {
  const rows = await context.repo.queryable.query<{ found: number }>(
    // The SubscriptionTopics are Basic resources the server installs (subscriptions/topic-resource.ts);
    // other Basic resources are data.
    `SELECT 1 AS found FROM resource_history WHERE resource_type <> ALL($1::text[])
        AND NOT (resource_type = 'Basic' AND id = ANY($2::text[])) LIMIT 1`,
    [SERVER_OWNED_TYPES, SHIPPED_TOPICS.map((t) => t.id)]
  );
  return rows.length > 0;
}

/**
 * Posts each fixture Bundle as a transaction through dispatch, like any client would, when the
 * database holds no resources yet besides the server's own definitions; returns how many resources it
 * wrote. A fixture that fails leaves nothing of itself behind and stops the seeding with its
 * OperationOutcome.
 */
export async function seedFixtures(context: FhirContext, baseUrl: string, dir = FIXTURES_DIR): Promise<number> {
  if (await holdsData(context)) {
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
