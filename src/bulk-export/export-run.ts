/**
 * Runs one claimed export job (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request):
 * type by type, pages of current resources in sid order (keyset; the partial index
 * resource_type_sid_idx of 002_search_index.sql), each page narrowed in its SQL exactly as search
 * narrows the requester (auth/access-scope.ts), re-checked by the second fence (`recheck`),
 * filtered by `_typeFilter`, pseudonymised when asked, and committed as one file part together
 * with the job's progress. Only one page is in memory at a time. Resources changed after the
 * job's transactionTime are left out (the spec's SHOULD NOT): the next export with
 * `_since=<transactionTime>` brings them.
 */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { accessScope, recheck, type AccessScope } from '../auth/access-scope.js';
import { withBinaryData } from '../repository/binary-content.js';
import type { SearchService } from '../search/types.js';
import type { Database, Queryable } from '../storage/database.js';
import { completeExportJob, holdExportJob, recordProgress, writeFilePart, type ExportJob } from './export-jobs.js';
import type { Pseudonymizer } from './export-pseudonyms.js';

export interface ExportRunOptions {
  /** This node's name in the lease. */
  readonly node: string;
  readonly pageSize: number;
  readonly leaseSeconds: number;
  readonly retentionHours: number;
  /** Set when EXPORT_PSEUDONYM_KEY is configured. */
  readonly pseudonymizer?: Pseudonymizer;
}

/** How a run ended: done, or stopped because the job was cancelled or taken over. */
export type RunResult = 'complete' | 'stopped';

interface PageRow {
  sid: string | number;
  content: string;
}

function refusal(type: string, text: string, code: 'forbidden' | 'not-supported'): string {
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, details: { text }, expression: [type] }],
  };
  return JSON.stringify(outcome);
}

/**
 * The types to export, sorted (the progress compares them), and refusals of types asked for that
 * the requester may not search: those go to the error file, as the spec's `_type` asks
 * (https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters), rather than failing the job.
 */
async function exportTypes(db: Queryable, job: ExportJob, scope: AccessScope): Promise<{ types: string[]; refused: string[] }> {
  const allowed = (type: string): boolean => scope.principal.scopes.allows(type, 's');
  const requested = job.parameters.types;
  if (requested !== undefined) {
    return { types: requested.filter(allowed).sort(), refused: requested.filter((t) => !allowed(t)) };
  }
  const present = await db.query<{ resource_type: string }>('SELECT DISTINCT resource_type FROM resource WHERE NOT deleted');
  return { types: present.map((r) => r.resource_type).filter(allowed).sort(), refused: [] };
}

/** One page of the type after `afterSid`, narrowed, in the job's scope. */
async function readPage(db: Queryable, job: ExportJob, scope: AccessScope, type: string, afterSid: string, pageSize: number): Promise<PageRow[]> {
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const where = [
    `r.resource_type = ${bind(type)}`,
    'NOT r.deleted',
    `r.sid > ${bind(afterSid)}::bigint`,
    `r.last_updated <= ${bind(job.transactionTime)}::timestamptz`,
  ];
  if (job.parameters.since !== undefined) {
    // "Resources will be included in the response if their state has changed after the supplied time."
    where.push(`r.last_updated > ${bind(job.parameters.since)}::timestamptz`);
  }
  if (job.level !== 'system') {
    const patients = job.parameters.patients;
    where.push(
      `EXISTS (SELECT 1 FROM resource_patient p WHERE p.resource_type = r.resource_type AND p.id = r.id${
        patients === undefined ? '' : ` AND p.patient_id = ANY(${bind(patients)}::text[])`
      })`
    );
  }
  const narrowing = scope.filter({ alias: 'r', bind });
  if (narrowing !== undefined) {
    where.push(`(${narrowing})`);
  }
  return db.query<PageRow>(
    `SELECT r.sid, r.content FROM resource r WHERE ${where.join(' AND ')} ORDER BY r.sid LIMIT ${bind(pageSize)}`,
    params
  );
}

/** The resources that match at least one of the type's `_typeFilter` queries (all, when it has none). */
async function matchingTypeFilter(db: Queryable, search: SearchService, job: ExportJob, scope: AccessScope, type: string, resources: Resource[]): Promise<Resource[]> {
  const filters = job.parameters.typeFilters[type];
  if (filters === undefined || filters.length === 0 || resources.length === 0) {
    return resources;
  }
  const ids = resources.map((r) => r.id ?? '');
  const matched = new Set<string>();
  for (const query of filters) {
    for (const id of await search.findIds(db, type, [...query, ['_id', ids.join(',')]], ids.length + 1, scope.filter)) {
      matched.add(id);
    }
  }
  return resources.filter((r) => matched.has(r.id ?? ''));
}

/** Runs the job from where it stands to its end, or until it is cancelled or taken over. */
export async function runExportJob(db: Database, search: SearchService, job: ExportJob, options: ExportRunOptions): Promise<RunResult> {
  const scope = await accessScope(db, job.owner);
  const { types, refused } = await exportTypes(db, job, scope);
  const hold = (tx: Queryable): Promise<boolean> => holdExportJob(tx, job.id, options.node, options.leaseSeconds);
  let atType = job.atType;
  if (atType === undefined) {
    const first = types[0] ?? '';
    const started = await db.transaction(async (tx) => {
      if (!(await hold(tx))) {
        return false;
      }
      await writeFilePart(tx, job.id, 'error', 'OperationOutcome', refused.map((t) => refusal(t, `The token has no search scope for ${t}`, 'forbidden')));
      await recordProgress(tx, job.id, first, '0', 0);
      return true;
    });
    if (!started) {
      return 'stopped';
    }
    atType = first;
  }
  for (const type of types) {
    if (type < atType) {
      continue;
    }
    let after = type === job.atType ? job.afterSid : '0';
    for (;;) {
      const rows = await readPage(db, job, scope, type, after, options.pageSize);
      const last = rows[rows.length - 1];
      if (last === undefined) {
        break;
      }
      let resources = rows.map((row) => JSON.parse(row.content) as Resource);
      if (type === 'Binary') {
        resources = await withBinaryData(db, resources);
      }
      resources = await matchingTypeFilter(db, search, job, scope, type, resources);
      const failed = await recheck(db, scope, resources);
      const pseudonymizer = job.parameters.pseudonymize ? options.pseudonymizer : undefined;
      if (job.parameters.pseudonymize && pseudonymizer === undefined) {
        throw new Error('Pseudonymised export without EXPORT_PSEUDONYM_KEY');
      }
      const lines = resources
        .filter((r) => !failed.has(r))
        .map((r) => JSON.stringify(pseudonymizer === undefined ? r : pseudonymizer.pseudonymize(r)));
      after = String(last.sid);
      const kept = await db.transaction(async (tx) => {
        if (!(await hold(tx))) {
          return false;
        }
        await writeFilePart(tx, job.id, 'output', type, lines);
        await recordProgress(tx, job.id, type, after, lines.length);
        return true;
      });
      if (!kept) {
        return 'stopped';
      }
      if (rows.length < options.pageSize) {
        break;
      }
    }
  }
  const done = await db.transaction(async (tx) => {
    if (!(await hold(tx))) {
      return false;
    }
    await completeExportJob(tx, job.id, options.retentionHours);
    return true;
  });
  return done ? 'complete' : 'stopped';
}
