/**
 * Placeholder search port used until the search engine lands: every call answers 501, so nothing
 * pretends to search. Replaced by search/service.ts.
 */
import { OperationOutcomeError, issue, outcome } from '../fhir/outcomes.js';
import type { SearchService } from './types.js';

function notImplemented(): never {
  throw new OperationOutcomeError(outcome('not-implemented', [issue({ code: 'not-supported', text: 'Search is not available yet' })]));
}

export function createPendingSearchService(): SearchService {
  return {
    search: async () => notImplemented(),
    findIds: async () => notImplemented(),
    indexer: { onWrite: async () => undefined },
    capabilities: () => ({ searchParam: [], searchInclude: [], searchRevInclude: [] }),
  };
}
