/**
 * The status URL and the files of an export (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request):
 * in progress 202 with X-Progress and Retry-After; complete 200 with the manifest; failed 500 with
 * an OperationOutcome (the spec's answer for a job that failed); cancelled (DELETE), expired or
 * another requester's job 404, so a job's existence tells nobody else anything. Files are served
 * only to the requester and only while the job has not expired.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal.js';
import { isValidId } from '../fhir/ids.js';
import { notFound } from '../fhir/outcomes.js';
import { isOwner } from '../subscriptions/subscription-owner.js';
import type { Queryable } from '../storage/database.js';
import { deleteExportJob, exportFiles, fileParts, findExportJob, type ExportJob, type FileKind } from './export-jobs.js';

/** Seconds a client should wait between polls while a job runs. */
export const RETRY_AFTER_SECONDS = 2;

export interface ExportManifest {
  readonly transactionTime: string;
  readonly request: string;
  readonly requiresAccessToken: true;
  readonly output: ReadonlyArray<{ type: string; url: string; count: number }>;
  readonly error: ReadonlyArray<{ type: string; url: string; count: number }>;
}

export type ExportStatusAnswer =
  | { readonly state: 'in-progress'; readonly progress: string }
  | { readonly state: 'complete'; readonly manifest: ExportManifest }
  | { readonly state: 'failed'; readonly outcome: OperationOutcome };

/** The requester's live job, or 404. */
async function ownJob(db: Queryable, jobId: string, caller: Principal): Promise<ExportJob> {
  const job = isValidId(jobId) ? await findExportJob(db, jobId) : undefined;
  if (job === undefined || job.expired || !isOwner(caller, job.owner)) {
    throw notFound('No such export (it may have been cancelled or have expired)');
  }
  return job;
}

export function fileUrl(baseUrl: string, jobId: string, kind: FileKind, resourceType: string): string {
  return `${baseUrl}/_export/${jobId}/${kind}/${resourceType}.ndjson`;
}

export async function exportStatus(db: Queryable, jobId: string, caller: Principal, baseUrl: string): Promise<ExportStatusAnswer> {
  const job = await ownJob(db, jobId, caller);
  switch (job.status) {
    case 'accepted':
    case 'running':
      return { state: 'in-progress', progress: `${job.exported} resources exported${job.atType ? `, at ${job.atType}` : ''}` };
    case 'failed':
      return {
        state: 'failed',
        outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', details: { text: job.failure ?? 'The export failed' } }] },
      };
    case 'complete': {
      const files = await exportFiles(db, job.id);
      const entries = (kind: FileKind) =>
        files.filter((f) => f.kind === kind).map((f) => ({ type: f.resourceType, url: fileUrl(baseUrl, job.id, kind, f.resourceType), count: f.count }));
      return {
        state: 'complete',
        manifest: { transactionTime: job.transactionTime, request: job.requestUrl, requiresAccessToken: true, output: entries('output'), error: entries('error') },
      };
    }
  }
}

/** DELETE on the status URL: the job and its files are gone at once (a node running it stops at its next page). */
export async function cancelExport(db: Queryable, jobId: string, caller: Principal): Promise<void> {
  const job = await ownJob(db, jobId, caller);
  await deleteExportJob(db, job.id);
}

/** A file's NDJSON parts, after checking the caller may have it; 404 for a file the manifest does not list. */
export async function exportFileContent(db: Queryable, jobId: string, caller: Principal, kind: string, fileName: string): Promise<AsyncIterable<string>> {
  const job = await ownJob(db, jobId, caller);
  const type = fileName.endsWith('.ndjson') ? fileName.slice(0, -'.ndjson'.length) : '';
  if (job.status !== 'complete' || (kind !== 'output' && kind !== 'error')) {
    throw notFound('No such export file');
  }
  const listed = (await exportFiles(db, job.id)).some((f) => f.kind === kind && f.resourceType === type);
  if (!listed) {
    throw notFound('No such export file');
  }
  return fileParts(db, job.id, kind, type);
}
