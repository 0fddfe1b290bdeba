import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Repository } from './repository.js';
import type { QueryParams } from '../fhir/request.js';
import type { Queryable } from '../storage/database.js';

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One version of a resource as stored. */
export interface StoredVersion {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  /** FHIR instant (ISO 8601, UTC, milliseconds). */
  readonly lastUpdated: string;
  readonly deleted: boolean;
  /** The serialised resource; undefined for a deletion. */
  readonly json: string | undefined;
  readonly method: WriteMethod;
  /**
   * The bytes of a Binary version, which `json` leaves out (binary-content.ts); set by read and
   * vread of a Binary that has data.
   */
  readonly content?: Buffer;
}

/** A write about to commit, handed to every WriteListener inside the same transaction. */
export interface ResourceChange {
  readonly kind: 'create' | 'update' | 'delete';
  readonly version: StoredVersion;
  /**
   * The new content as the index and the write rules read it: the stored content (version.json)
   * with each reference by identifier also carrying the literal reference it resolved to
   * (identifier-references.ts); undefined on delete.
   */
  readonly resource: Resource | undefined;
  readonly previous: StoredVersion | undefined;
  /** This server's base URL, when known: absolute references on it are local. */
  readonly baseUrl?: string;
}

/**
 * Work that must commit or roll back with a write: search index rows, audit and provenance rows,
 * outbox rows. Listeners get the transaction handle and nothing else.
 */
export interface WriteListener {
  onWrite(tx: Queryable, change: ResourceChange): Promise<void>;
  /**
   * Many changes at once, in order (the new resources of a transaction Bundle, written in bulk);
   * listeners without it get onWrite per change.
   */
  onWrites?(tx: Queryable, changes: readonly ResourceChange[]): Promise<void>;
  /**
   * Once per transaction that wrote, as its last statements, after every write, hook and audit row
   * of it: work that must come as late as possible (the change-event numbers, events/).
   */
  beforeCommit?(tx: Queryable): Promise<void>;
  /** After that transaction committed (never after a rollback): wakes work that runs after commit. */
  afterCommit?(tx: Queryable): void;
}

/**
 * Narrowing of what a caller may see, as SQL (docs/security.md): called with a table alias whose rows have
 * resource_type and id columns (resource, resource_history; search adds sid and content); answers a
 * condition, binding its values through `bind`, or undefined for no narrowing.
 */
export type AccessFilter = (resource: { readonly alias: string; readonly bind: (value: unknown) => string }) => string | undefined;

/**
 * Who a repository works for: the acting principal (opaque here; auth/ defines it, write hooks
 * read it) and the narrowing every read, history and criteria match applies.
 */
export interface RepositoryScope {
  readonly actor?: unknown;
  readonly access?: AccessFilter;
  /** What the actor may change, where that is narrower than what it may read (read grants). */
  readonly writeAccess?: AccessFilter;
}

/** Resolves search criteria to the ids of current resources (conditional interactions). */
export type CriteriaResolver = (tx: Queryable, resourceType: string, criteria: QueryParams, access?: AccessFilter) => Promise<string[]>;

/**
 * Rules that run inside a write's transaction with the transaction-scoped repository: domain
 * workflows (referral Task states, scoring, schedules) and guards (read-only profiles). The
 * repository cannot import them; app.ts injects them.
 */
export interface WriteHook {
  /**
   * First of all on a create or update, before the content is stamped and stored: may complete
   * the content with what the server derives from it (calculated questionnaire answers); answers
   * the resource to store instead, or nothing to keep it as it is.
   */
  prepareWrite?(repo: Repository, resource: Resource): Promise<Resource | void>;
  /**
   * Before a create, update or delete is stored: may refuse it by throwing an OperationOutcomeError
   * and may return warnings for the write's response. `change.version` is what will be stored.
   */
  beforeWrite?(repo: Repository, change: ResourceChange): Promise<OperationOutcomeIssue[] | void>;
  /**
   * After the write is stored (rows, index): may write further resources through `repo`, which
   * commit or roll back with it, and may return warnings.
   */
  afterWrite?(repo: Repository, change: ResourceChange): Promise<OperationOutcomeIssue[] | void>;
}

export interface HistoryQuery {
  readonly resourceType?: string;
  readonly id?: string;
  /** Versions written at or after this instant. */
  readonly since?: Date;
  /** Versions current at some point in [start, end). */
  readonly at?: { readonly start: Date; readonly end: Date };
  readonly count: number;
  /** Keyset cursor: only versions with a sequence number below this one. */
  readonly before?: string;
  readonly withTotal: boolean;
  /** Only versions of resources the caller may see. */
  readonly access?: AccessFilter;
}

export interface HistoryPage {
  readonly versions: StoredVersion[];
  readonly total: number | undefined;
  /** Cursor for the next (older) page, when there is one. */
  readonly next: string | undefined;
  /** The cursor that produced the first page: sequence number bound of this snapshot. */
  readonly snapshot: string | undefined;
}
