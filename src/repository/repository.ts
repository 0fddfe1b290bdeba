/**
 * The resource repository: versioning, history and preconditions over the Database port.
 * Every write runs in one database transaction that holds the current row, the history row,
 * the reference rows and whatever the WriteListeners add (search index, audit, outbox).
 * Version checks happen in the database under a row lock, never in memory.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { etagOf, newId } from '../fhir/ids.js';
import { gone, isOperationOutcomeError, notFound, OperationOutcomeError, preconditionFailed } from '../fhir/outcomes.js';
import type { QueryParams } from '../fhir/request.js';
import type { Database, Queryable } from '../storage/database.js';
import { readHistory } from './history.js';
import { toIso } from './rows.js';
import { writeVersionRows } from './version-rows.js';
import { asBuffer, fullJson, storedJson } from './binary-content.js';
import { anchored, DeferredIntegrityChecks, type LocateResource } from './deferred-checks.js';
import { PendingWrites } from './pending-writes.js';
import { isUnchanged } from './unchanged.js';
import { hasIdentifierReferences, resolveIdentifierReferences } from './identifier-references.js';
import { assertNotReferenced, assertTargetsExist, localReferences, replaceReferences } from './references.js';
import type {
  AccessFilter,
  CriteriaResolver,
  RepositoryScope,
  ResourceChange,
  HistoryPage,
  HistoryQuery,
  StoredVersion,
  WriteHook,
  WriteListener,
  WriteMethod,
} from './types.js';
import { parseStoredJson } from '../fhir/json-parse.js';

export interface RepositoryOptions {
  readonly listeners: readonly WriteListener[];
  readonly hooks: readonly WriteHook[];
  readonly resolveCriteria: CriteriaResolver;
  readonly checkReferencesOnWrite: boolean;
  readonly checkReferencesOnDelete: boolean;
  /**
   * Write a new version also for an update that changes nothing (repository/unchanged.ts). Off by
   * default: such an update answers the current version and history keeps only real changes.
   */
  readonly versionUnchangedUpdates?: boolean;
}

export interface WriteOptions {
  /** This server's base URL: absolute references on it count as local. */
  readonly baseUrl?: string;
  readonly method?: WriteMethod;
}

export interface CreateOptions extends WriteOptions {
  /** An id the server chose ahead of time (transaction Bundles); a fresh one otherwise. */
  readonly id?: string;
}

export interface UpdateOptions extends WriteOptions {
  /** Expected current version (If-Match); 412 when it differs. */
  readonly ifMatch?: number;
}

export interface WriteResult {
  readonly version: StoredVersion;
  readonly resource: Resource;
  readonly created: boolean;
  /** False when the update changed nothing and the current version stands (repository/unchanged.ts). */
  readonly changed: boolean;
  /** Warnings of the write hooks, for the write's OperationOutcome. */
  readonly warnings: OperationOutcomeIssue[];
}

export interface DeleteResult {
  readonly version: StoredVersion;
  /** False when the resource was already deleted: nothing was written. */
  readonly changed: boolean;
  readonly warnings: OperationOutcomeIssue[];
}

interface CurrentRow {
  version_id: number;
  last_updated: Date | string;
  deleted: boolean;
  content: string | null;
  bytes?: Uint8Array | null;
}

/** The bytes of a Binary's version, joined from binary_content (binary-content.ts); nothing for other types. */
function bytesOf(resourceType: string, alias: string): { column: string; join: string } {
  return resourceType === 'Binary'
    ? { column: ', b.content AS bytes', join: ` LEFT JOIN binary_content b ON b.resource_id = ${alias}.id AND b.version_id = ${alias}.version_id` }
    : { column: '', join: '' };
}

function withBytes(row: CurrentRow): { content?: Buffer } {
  return row.bytes === undefined || row.bytes === null ? {} : { content: asBuffer(row.bytes) };
}

function stamp(resource: Resource, id: string, versionId: number, lastUpdated: string): Resource {
  // meta.versionId and meta.lastUpdated are the server's; whatever the client sent is overwritten.
  return {
    ...resource,
    id,
    meta: { ...resource.meta, versionId: String(versionId), lastUpdated },
  };
}

/** A rule a write hook runs once the whole transaction is written (Repository.deferCheck). */
interface DeferredHookCheck {
  readonly resourceType: string;
  readonly id: string;
  readonly run: (repo: Repository) => Promise<void>;
}

/** Deferred checks may write, and those writes may defer checks again; this bounds the rounds. */
const MAX_CHECK_ROUNDS = 8;

/** Bulk-write state of one open transaction, shared by every scoped view of its repository. */
interface TransactionState {
  deferred: DeferredIntegrityChecks | undefined;
  pending: PendingWrites | undefined;
  hookChecks: DeferredHookCheck[] | undefined;
}

function visibleIn(access: AccessFilter | undefined, alias: string, params: unknown[]): string {
  const condition = access?.({
    alias,
    bind: (value) => {
      params.push(value);
      return `$${params.length}`;
    },
  });
  return condition === undefined ? '' : ` AND (${condition})`;
}

export class Repository {
  private readonly state: TransactionState;

  constructor(
    private readonly db: Database | Queryable,
    private readonly options: RepositoryOptions,
    private readonly tx: Queryable | undefined = undefined,
    /** Who this repository works for; reads, history and criteria matches are narrowed by its access. */
    readonly scope: RepositoryScope = {},
    state?: TransactionState
  ) {
    this.state = state ?? { deferred: undefined, pending: undefined, hookChecks: undefined };
  }

  private get deferred(): DeferredIntegrityChecks | undefined {
    return this.state.deferred;
  }

  private get pending(): PendingWrites | undefined {
    return this.state.pending;
  }

  /** The same repository (and open transaction) working for another actor, with its narrowing. */
  scoped(scope: RepositoryScope): Repository {
    return new Repository(this.db, this.options, this.tx, scope, this.state);
  }

  /**
   * The same view reading from another handle of the same data (a read replica,
   * storage/read-routing.ts). Only outside a transaction: a transaction reads what it writes.
   */
  readingFrom(reader: Database): Repository {
    if (this.tx) {
      throw new Error('readingFrom() outside a transaction only');
    }
    return new Repository(reader, this.options, undefined, this.scope);
  }

  /**
   * Runs fn in one database transaction; nested calls join the open transaction. The listeners'
   * beforeCommit runs after fn, inside the transaction; their afterCommit once it committed.
   */
  async transaction<T>(fn: (repo: Repository) => Promise<T>): Promise<T> {
    if (this.tx) {
      return fn(this);
    }
    const listeners = this.options.listeners;
    let committed: Queryable | undefined;
    const result = await (this.db as Database).transaction(async (tx) => {
      const value = await fn(new Repository(tx, this.options, tx, this.scope));
      for (const listener of listeners) {
        await listener.beforeCommit?.(tx);
      }
      // PostgreSQL may run fn again after a serialization failure: the last attempt is the one that commits.
      committed = tx;
      return value;
    });
    if (committed !== undefined) {
      for (const listener of listeners) {
        listener.afterCommit?.(committed);
      }
    }
    return result;
  }

  /** The handle statements run on: the open transaction, or the database itself. */
  get queryable(): Queryable {
    return this.tx ?? this.db;
  }

  get inTransaction(): boolean {
    return this.tx !== undefined;
  }

  /**
   * From now until checkDeferredIntegrity(), writes in this transaction record their reference
   * checks instead of running them (deferred-checks.ts), and new resources are written in bulk
   * at flushWrites() (pending-writes.ts). For transaction Bundles.
   */
  deferWrites(): void {
    if (!this.tx) {
      throw new Error('deferWrites() needs an open transaction');
    }
    this.state.deferred ??= new DeferredIntegrityChecks();
    this.state.pending ??= new PendingWrites();
  }

  /** Writes the new resources collected since the last flush. */
  async flushWrites(): Promise<void> {
    await this.pending?.flush(this.queryable, this.options.listeners);
  }

  /**
   * Runs a write hook's rule that reads other resources once every entry of a transaction Bundle
   * is written, since entries may refer to each other in any order (http.html#trules); outside a
   * transaction Bundle it runs right away. Its errors are anchored at the resource's entry; it may
   * write through the repository it is handed (those writes commit or roll back with the Bundle).
   */
  async deferCheck(resourceType: string, id: string, run: (repo: Repository) => Promise<void>): Promise<void> {
    if (!this.deferred) {
      await run(this);
      return;
    }
    (this.state.hookChecks ??= []).push({ resourceType, id, run });
  }

  private async runHookChecks(locate: LocateResource): Promise<void> {
    for (let round = 0; round < MAX_CHECK_ROUNDS && this.state.hookChecks; round++) {
      const checks = this.state.hookChecks;
      this.state.hookChecks = undefined;
      await this.flushWrites();
      for (const check of checks) {
        try {
          await check.run(this);
        } catch (error) {
          if (!isOperationOutcomeError(error)) {
            throw error;
          }
          const root = locate(check.resourceType, check.id);
          const issue = (error.outcome.issue ?? []).map((i) => ({
            ...i,
            expression: (i.expression ?? [check.resourceType]).map((e) => anchored(e, check.resourceType, root)),
          }));
          throw new OperationOutcomeError({ ...error.outcome, issue }, error);
        }
      }
    }
    if (this.state.hookChecks) {
      this.state.hookChecks = undefined;
      throw new Error(`Deferred write-hook checks still pending after ${MAX_CHECK_ROUNDS} rounds`);
    }
  }

  /**
   * Runs the write hooks' deferred checks, flushes, then runs the deferred integrity checks in two
   * queries; issues are anchored where `locate` says.
   */
  async checkDeferredIntegrity(locate: LocateResource): Promise<void> {
    await this.runHookChecks(locate);
    await this.flushWrites();
    const deferred = this.deferred;
    this.state.deferred = undefined;
    this.state.pending = undefined;
    await deferred?.verify(this.queryable, locate);
  }

  /**
   * Serialises writers on a key until the transaction ends (pg_advisory_xact_lock). Used for
   * per-resource writes and for conditional interactions (interactions/conditional-lock.ts).
   * A shared lock queues only behind exclusive holders of the same key.
   */
  async lock(key: string, mode: 'exclusive' | 'shared' = 'exclusive'): Promise<void> {
    if (!this.tx) {
      throw new Error('lock() needs an open transaction');
    }
    const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
    await this.tx.query(`SELECT ${fn}(hashtextextended($1, 0))`, [key]);
  }

  /** Current ids matching search criteria (conditional create, update, patch and delete). */
  async findIds(resourceType: string, criteria: QueryParams): Promise<string[]> {
    return this.options.resolveCriteria(this.queryable, resourceType, criteria, this.scope.access);
  }

  private async current(resourceType: string, id: string, forUpdate: boolean): Promise<StoredVersion | undefined> {
    const pending = this.pending?.find(resourceType, id);
    if (pending) {
      if (!forUpdate) {
        return pending;
      }
      // A write to a resource created earlier in this transaction needs its rows in place first.
      await this.flushWrites();
    }
    // Locking reads serve writes, which check visibility themselves (auth's write guard).
    const params: unknown[] = [resourceType, id];
    const narrowing = forUpdate ? ' FOR UPDATE OF r' : visibleIn(this.scope.access, 'r', params);
    const bytes = bytesOf(resourceType, 'r');
    const rows = await this.queryable.query<CurrentRow>(
      `SELECT r.version_id, r.last_updated, r.deleted, r.content${bytes.column} FROM resource r${bytes.join}
        WHERE r.resource_type = $1 AND r.id = $2${narrowing}`,
      params
    );
    const row = rows[0];
    if (!row) {
      return undefined;
    }
    return {
      resourceType,
      id,
      versionId: row.version_id,
      lastUpdated: toIso(row.last_updated),
      deleted: row.deleted,
      json: row.content ?? undefined,
      method: 'PUT',
      ...withBytes(row),
    };
  }

  /** The current version, deleted or not; undefined when the id was never used. */
  async readCurrent(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    return this.current(resourceType, id, false);
  }

  /** The current version; 404 when unknown, 410 when deleted. */
  async read(resourceType: string, id: string): Promise<StoredVersion> {
    const version = await this.current(resourceType, id, false);
    if (!version) {
      throw notFound(`${resourceType}/${id} is not known`);
    }
    if (version.deleted) {
      throw gone(`${resourceType}/${id} was deleted (version ${version.versionId})`);
    }
    return version;
  }

  /** Parsed current content; 404/410 as read. */
  async readResource<T extends Resource = Resource>(resourceType: string, id: string): Promise<T> {
    const version = await this.read(resourceType, id);
    return parseStoredJson<T>(fullJson(version) as string);
  }

  /** One version; 404 when it does not exist, 410 when it is a deletion. */
  async vread(resourceType: string, id: string, versionId: string): Promise<StoredVersion> {
    const params: unknown[] = [resourceType, id, Number(versionId)];
    const narrowing = visibleIn(this.scope.access, 'h', params);
    const bytes = bytesOf(resourceType, 'h');
    // version_id is an integer column: a longer number cannot name a stored version.
    const rows = /^\d{1,9}$/.test(versionId)
      ? await this.queryable.query<CurrentRow & { method: WriteMethod }>(
          `SELECT h.version_id, h.last_updated, h.deleted, h.content, h.method${bytes.column} FROM resource_history h${bytes.join}
            WHERE h.resource_type = $1 AND h.id = $2 AND h.version_id = $3${narrowing}`,
          params
        )
      : [];
    const row = rows[0];
    if (!row) {
      throw notFound(`${resourceType}/${id}/_history/${versionId} is not known`);
    }
    if (row.deleted) {
      throw gone(`${resourceType}/${id}/_history/${versionId} is a deletion`);
    }
    return {
      resourceType,
      id,
      versionId: row.version_id,
      lastUpdated: toIso(row.last_updated),
      deleted: false,
      json: row.content ?? undefined,
      method: row.method,
      ...withBytes(row),
    };
  }

  /**
   * The JSON of several versions in one statement, keyed `Type/id/versionId`, for consumers after
   * commit that read the versions their change events name (subscriptions/topic-match.ts); a
   * version that does not exist or is a deletion is absent. Not for Binary: its bytes are not read.
   */
  async versionJson(keys: ReadonlyArray<{ readonly resourceType: string; readonly id: string; readonly versionId: number }>): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (keys.length === 0) {
      return found;
    }
    const params: unknown[] = keys.flatMap((k) => [k.resourceType, k.id, k.versionId]);
    const values = keys.map((_, i) => `($${3 * i + 1}::text, $${3 * i + 2}::text, $${3 * i + 3}::integer)`).join(', ');
    const narrowing = visibleIn(this.scope.access, 'h', params);
    const rows = await this.queryable.query<{ resource_type: string; id: string; version_id: number; content: string | null }>(
      `SELECT h.resource_type, h.id, h.version_id, h.content FROM resource_history h
         JOIN (VALUES ${values}) AS k(resource_type, id, version_id) ON h.resource_type = k.resource_type AND h.id = k.id AND h.version_id = k.version_id
        WHERE NOT h.deleted${narrowing}`,
      params
    );
    for (const row of rows) {
      if (row.content !== null) {
        found.set(`${row.resource_type}/${row.id}/${row.version_id}`, row.content);
      }
    }
    return found;
  }

  /** Creates a resource with a new server id as version 1. */
  async create(resource: Resource, options: CreateOptions = {}): Promise<WriteResult> {
    return this.transaction(async (repo) => repo.write(await repo.prepare(resource), options.id ?? newId(), undefined, options.method ?? 'POST', options));
  }

  /**
   * Updates (or, for an unknown id, creates) a resource under its own id. Concurrent updates of
   * one resource queue on its row lock, so each becomes its own version and history has no gaps.
   */
  async update(sent: Resource & { id: string }, options: UpdateOptions = {}): Promise<WriteResult> {
    return this.transaction(async (repo) => {
      const resource = { ...(await repo.prepare(sent)), id: sent.id };
      await repo.lock(`${resource.resourceType}/${resource.id}`);
      const previous = await repo.current(resource.resourceType, resource.id, true);
      if (options.ifMatch !== undefined && (!previous || previous.deleted || previous.versionId !== options.ifMatch)) {
        throw preconditionFailed(
          previous && !previous.deleted
            ? `Version conflict: If-Match ${etagOf(options.ifMatch)} but the current version is ${etagOf(previous.versionId)}`
            : `Version conflict: If-Match ${etagOf(options.ifMatch)} but ${resource.resourceType}/${resource.id} has no current version`
        );
      }
      if (previous && !previous.deleted && !this.options.versionUnchangedUpdates && isUnchanged(previous.json, resource)) {
        const unchanged = await repo.unchangedResult(previous);
        if (unchanged) {
          return unchanged;
        }
      }
      return repo.write(resource, resource.id, previous, options.method ?? 'PUT', options);
    });
  }

  /**
   * The answer to an update that changes nothing: the current version, with nothing written (no
   * version, no Provenance, no notification). Only for a caller who may change the resource
   * (scope.writeAccess): anyone else takes the ordinary write path, whose guards answer them as
   * they answer any update (a hidden resource is 404 there), so the shortcut discloses nothing.
   */
  private async unchangedResult(previous: StoredVersion): Promise<WriteResult | undefined> {
    const filter = this.scope.writeAccess ?? this.scope.access;
    if (filter !== undefined) {
      const params: unknown[] = [previous.resourceType, previous.id];
      const rows = await this.queryable.query(
        `SELECT 1 FROM resource r WHERE resource_type = $1 AND id = $2${visibleIn(filter, 'r', params)}`,
        params
      );
      if (rows.length === 0) {
        return undefined;
      }
    }
    return { version: previous, resource: parseStoredJson<Resource>(previous.json as string), created: false, changed: false, warnings: [] };
  }

  /**
   * Deletes a resource, keeping its history; answers undefined when the id was never used.
   * Deleting an already deleted resource changes nothing and answers the deletion.
   */
  async delete(resourceType: string, id: string): Promise<DeleteResult | undefined> {
    return this.transaction(async (repo) => {
      const tx = repo.queryable;
      await repo.lock(`${resourceType}/${id}`);
      const previous = await repo.current(resourceType, id, true);
      if (!previous || previous.deleted) {
        return previous && { version: previous, changed: false, warnings: [] };
      }
      if (this.options.checkReferencesOnDelete) {
        if (repo.deferred) {
          repo.deferred.addDelete(resourceType, id);
        } else {
          await assertNotReferenced(tx, resourceType, id);
        }
      }
      const version: StoredVersion = {
        resourceType,
        id,
        versionId: previous.versionId + 1,
        lastUpdated: new Date().toISOString(),
        deleted: true,
        json: undefined,
        method: 'DELETE',
      };
      const change: ResourceChange = { kind: 'delete', version, resource: undefined, previous };
      const warnings = await repo.runHooks('beforeWrite', change);
      await tx.query(
        `UPDATE resource SET version_id = $3, last_updated = $4, deleted = true, content = NULL
          WHERE resource_type = $1 AND id = $2`,
        [resourceType, id, version.versionId, version.lastUpdated]
      );
      await repo.insertHistory(version);
      await replaceReferences(tx, resourceType, id, []);
      for (const listener of this.options.listeners) {
        await listener.onWrite(tx, change);
      }
      warnings.push(...(await repo.runHooks('afterWrite', change)));
      return { version, changed: true, warnings };
    });
  }

  async history(query: HistoryQuery): Promise<HistoryPage> {
    const access = this.scope.access;
    return readHistory(this.queryable, access === undefined ? query : { ...query, access });
  }

  private async insertHistory(version: StoredVersion): Promise<void> {
    await this.queryable.query(
      `INSERT INTO resource_history (resource_type, id, version_id, last_updated, method, deleted, content)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        version.resourceType,
        version.id,
        version.versionId,
        version.lastUpdated,
        version.method,
        version.deleted,
        version.json ?? null,
      ]
    );
  }

  private async write(
    input: Resource,
    id: string,
    previous: StoredVersion | undefined,
    method: WriteMethod,
    options: WriteOptions
  ): Promise<WriteResult> {
    const tx = this.queryable;
    const versionId = (previous?.versionId ?? 0) + 1;
    const lastUpdated = new Date().toISOString();
    const resource = stamp(input, id, versionId, lastUpdated);
    // What the index, the reference rows and the write rules read: references by identifier
    // resolved (identifier-references.ts). What is stored and answered: the resource as sent.
    const indexed = await this.resolveIdentifiers(resource);
    const references = localReferences(indexed, options.baseUrl);
    if (this.options.checkReferencesOnWrite) {
      if (this.deferred) {
        this.deferred.addWrite(resource.resourceType, id, references);
      } else {
        await assertTargetsExist(tx, indexed, references);
      }
    }
    const version: StoredVersion = {
      resourceType: resource.resourceType,
      id,
      versionId,
      lastUpdated,
      deleted: false,
      json: storedJson(resource),
      method,
    };
    const created = !previous || previous.deleted;
    const change: ResourceChange = {
      kind: created ? 'create' : 'update',
      version,
      resource: indexed,
      previous,
      ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
    };
    const warnings = await this.runHooks('beforeWrite', change);
    if (created && this.pending) {
      this.pending.add(change, references);
    } else {
      await writeVersionRows(tx, version, references, !created);
      for (const listener of this.options.listeners) {
        await listener.onWrite(tx, change);
      }
    }
    warnings.push(...(await this.runHooks('afterWrite', change)));
    return { version, resource, created, changed: true, warnings };
  }

  private async resolveIdentifiers(resource: Resource): Promise<Resource> {
    if (!hasIdentifierReferences(resource)) {
      return resource;
    }
    // The target may be a resource created earlier in this transaction Bundle.
    await this.flushWrites();
    return resolveIdentifierReferences(this.queryable, resource);
  }

  /** The content a create or update stores: the input as each hook's prepareWrite completes it. */
  private async prepare(resource: Resource): Promise<Resource> {
    let prepared = resource;
    for (const hook of this.options.hooks) {
      prepared = (await hook.prepareWrite?.(this, prepared)) ?? prepared;
    }
    return prepared;
  }

  /** Runs one phase of every write hook, in order, collecting their warnings. */
  private async runHooks(phase: 'beforeWrite' | 'afterWrite', change: ResourceChange): Promise<OperationOutcomeIssue[]> {
    const warnings: OperationOutcomeIssue[] = [];
    for (const hook of this.options.hooks) {
      const issues = await hook[phase]?.(this, change);
      if (issues) {
        warnings.push(...issues);
      }
    }
    return warnings;
  }
}
