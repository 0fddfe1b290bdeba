/**
 * The search port: what the rest of the service needs from search. search/ implements it on the
 * index tables it maintains through its WriteListener.
 */
import type { Bundle, CapabilityStatementRestResourceSearchParam } from '@medplum/fhirtypes';
import type { Prefer, QueryParams } from '../fhir/request.js';
import type { AccessFilter, WriteListener } from '../repository/types.js';
import type { Queryable } from '../storage/database.js';

/**
 * Narrowing of what a caller may see, applied as SQL inside the search (never as a post-filter):
 * called for every resource row a search reads (matches, chained and _has targets, includes,
 * totals) with that row's table alias (columns sid, resource_type, id, content).
 */
export type { AccessFilter };

export interface SearchInput {
  /** One type for type-level search; several (or all, when undefined) for system search (_type). */
  readonly resourceTypes: readonly string[] | undefined;
  readonly query: QueryParams;
  /** Compartment search: `Patient/{id}/{type}`. */
  readonly compartment?: { readonly resourceType: string; readonly id: string };
  readonly prefer: Prefer;
  /** Absolute base URL for fullUrls and links. */
  readonly baseUrl: string;
  /** Path below the base that links repeat (e.g. `Patient`, `Patient/1/Observation`, ``). */
  readonly linkPath: string;
  /** Security narrowing (docs/security.md); undefined searches everything. */
  readonly access?: AccessFilter;
}

export interface SearchCapabilities {
  readonly searchParam: CapabilityStatementRestResourceSearchParam[];
  readonly searchInclude: string[];
  readonly searchRevInclude: string[];
}

export interface SearchService {
  /** Runs a search and returns the searchset Bundle (400 on unknown or malformed parameters). */
  search(db: Queryable, input: SearchInput): Promise<Bundle>;
  /**
   * Ids of current resources of one type that match the criteria, for conditional interactions.
   * Answers at most `limit` ids, enough to tell none / one / many apart.
   */
  findIds(db: Queryable, resourceType: string, criteria: QueryParams, limit?: number, access?: AccessFilter): Promise<string[]>;
  /** Keeps the index tables in step with every write, inside the write's transaction. */
  readonly indexer: WriteListener;
  /** What the CapabilityStatement advertises for a resource type. */
  capabilities(resourceType: string): SearchCapabilities;
}
