/**
 * The export job store (export_job, export_file_part; 021_bulk_export.sql): kick-off creates a
 * job, any node claims runnable jobs under a lease (FOR UPDATE SKIP LOCKED, so two nodes never run
 * one job), each page of a running job commits its file part together with the job's progress
 * (so a job taken over after a crash resumes after the last committed page), and expired jobs are
 * deleted with their files.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import { principalFromRow, type StoredPrincipalRow } from '../auth/stored-principal.js';
import type { Queryable } from '../storage/database.js';

export type ExportLevel = 'system' | 'patient' | 'group';
export type ExportStatus = 'accepted' | 'running' | 'complete' | 'failed';
export type FileKind = 'output' | 'error';

/** The kick-off parameters as parsed (export-parameters.ts), stored with the job. */
export interface ExportParameters {
  /** `_type`: the types asked for; undefined means every type the requester may search. */
  readonly types?: readonly string[];
  /** `_since` as an ISO instant. */
  readonly since?: string;
  /** `_typeFilter`: per type, search queries of which a resource must match at least one. */
  readonly typeFilters: Readonly<Record<string, ReadonlyArray<ReadonlyArray<readonly [string, string]>>>>;
  readonly outputFormat: string;
  /** Schakel's `schakel-pseudonymize` (export-pseudonyms.ts). */
  readonly pseudonymize: boolean;
  /** Patient and Group level: the patients whose compartments are exported; undefined for every patient (Patient level) or the system. */
  readonly patients?: readonly string[];
}

export interface ExportJob {
  readonly id: string;
  readonly owner: Principal;
  readonly requestUrl: string;
  readonly level: ExportLevel;
  readonly parameters: ExportParameters;
  readonly transactionTime: string;
  readonly status: ExportStatus;
  readonly atType: string | undefined;
  readonly afterSid: string;
  readonly exported: number;
  readonly attempts: number;
  readonly failure: string | undefined;
  readonly expired: boolean;
}

interface JobRow extends StoredPrincipalRow {
  id: string;
  request_url: string;
  level: ExportLevel;
  parameters: ExportParameters | string;
  transaction_time: Date | string;
  status: ExportStatus;
  at_type: string | null;
  after_sid: string | number;
  exported: string | number;
  attempts: number;
  failure: string | null;
  expired: boolean;
}

const COLUMNS = `id, kind, client_id, scopes, organization_ref, practitioner_ref, acting_user, request_url, level, parameters,
  transaction_time, status, at_type, after_sid, exported, attempts, failure, expires_at <= now() AS expired`;

function instant(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function jobOf(row: JobRow): ExportJob {
  return {
    id: row.id,
    owner: principalFromRow(row),
    requestUrl: row.request_url,
    level: row.level,
    parameters: typeof row.parameters === 'string' ? (JSON.parse(row.parameters) as ExportParameters) : row.parameters,
    transactionTime: instant(row.transaction_time),
    status: row.status,
    atType: row.at_type ?? undefined,
    afterSid: String(row.after_sid),
    exported: Number(row.exported),
    attempts: row.attempts,
    failure: row.failure ?? undefined,
    expired: row.expired,
  };
}

export interface NewExportJob {
  readonly owner: Principal;
  readonly requestUrl: string;
  readonly level: ExportLevel;
  readonly parameters: ExportParameters;
  readonly retentionHours: number;
}

/** Creates an accepted job; its transactionTime is the database's now, the instant the export reflects. */
export async function createExportJob(db: Queryable, job: NewExportJob): Promise<string> {
  const id = randomUUID();
  const { owner } = job;
  await db.query(
    `INSERT INTO export_job (id, kind, client_id, scopes, organization_ref, practitioner_ref, acting_user, request_url, level, parameters,
       transaction_time, status, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), 'accepted', now() + make_interval(hours => $11::int))`,
    [
      id,
      owner.kind,
      owner.clientId,
      owner.scopes.toString(),
      owner.organizationRef ?? null,
      owner.practitionerRef ?? null,
      owner.user === undefined ? null : JSON.stringify(owner.user),
      job.requestUrl,
      job.level,
      JSON.stringify(job.parameters),
      job.retentionHours,
    ]
  );
  return id;
}

/** The job, expired or not; undefined when there is none (never was, cancelled, or cleaned up). */
export async function findExportJob(db: Queryable, id: string): Promise<ExportJob | undefined> {
  const rows = await db.query<JobRow>(`SELECT ${COLUMNS} FROM export_job WHERE id = $1`, [id]);
  return rows[0] === undefined ? undefined : jobOf(rows[0]);
}

/** Cancels a job: deletes it and its files (a node running it notices at its next page and stops). */
export async function deleteExportJob(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM export_job WHERE id = $1', [id]);
}

/**
 * Claims the oldest runnable job whose lease is free (never taken, or run out because its node
 * stopped), for `leaseSeconds`. SKIP LOCKED: nodes that look at the same time take different jobs.
 */
export async function claimExportJob(db: Queryable, node: string, leaseSeconds: number): Promise<ExportJob | undefined> {
  const rows = await db.query<JobRow>(
    `UPDATE export_job SET status = 'running', lease_owner = $1, lease_until = now() + make_interval(secs => $2::int), attempts = attempts + 1
      WHERE id = (SELECT id FROM export_job
                   WHERE status IN ('accepted', 'running') AND expires_at > now() AND (lease_until IS NULL OR lease_until < now())
                   ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING ${COLUMNS}`,
    [node, leaseSeconds]
  );
  return rows[0] === undefined ? undefined : jobOf(rows[0]);
}

/**
 * Holds the job for this node in a transaction (locks its row): false when it is gone (cancelled,
 * expired and deleted) or another node has taken it over, and the caller must stop.
 */
export async function holdExportJob(tx: Queryable, id: string, node: string, leaseSeconds: number): Promise<boolean> {
  const rows = await tx.query<{ id: string }>(
    `UPDATE export_job SET lease_until = now() + make_interval(secs => $3::int)
      WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING id`,
    [id, node, leaseSeconds]
  );
  return rows.length > 0;
}

/** Appends one part of a file. */
export async function writeFilePart(tx: Queryable, jobId: string, kind: FileKind, resourceType: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) {
    return;
  }
  await tx.query('INSERT INTO export_file_part (job_id, kind, resource_type, line_count, content) VALUES ($1, $2, $3, $4, $5)', [
    jobId,
    kind,
    resourceType,
    lines.length,
    `${lines.join('\n')}\n`,
  ]);
}

/** Records how far the job got: the next page starts after `afterSid` of `atType`. */
export async function recordProgress(tx: Queryable, jobId: string, atType: string, afterSid: string, added: number): Promise<void> {
  await tx.query('UPDATE export_job SET at_type = $2, after_sid = $3::bigint, exported = exported + $4 WHERE id = $1', [jobId, atType, afterSid, added]);
}

/** The job is done: its files are kept for `retentionHours` from now. */
export async function completeExportJob(tx: Queryable, jobId: string, retentionHours: number): Promise<void> {
  await tx.query(
    `UPDATE export_job SET status = 'complete', completed_at = now(), lease_owner = NULL, lease_until = NULL,
       expires_at = now() + make_interval(hours => $2::int) WHERE id = $1`,
    [jobId, retentionHours]
  );
}

/** The job cannot be done; `failure` is told to the requester (no patient data in it). */
export async function failExportJob(db: Queryable, jobId: string, failure: string): Promise<void> {
  await db.query(`UPDATE export_job SET status = 'failed', failure = $2, lease_owner = NULL, lease_until = NULL WHERE id = $1`, [jobId, failure]);
}

/** Gives the job back after a fault this node could not get past, for the next claim (by any node). */
export async function releaseExportJob(db: Queryable, jobId: string, node: string): Promise<void> {
  await db.query('UPDATE export_job SET lease_until = NULL WHERE id = $1 AND lease_owner = $2', [jobId, node]);
}

/** Deletes expired jobs with their files (the scheduled cleanup); answers how many. */
export async function deleteExpiredExportJobs(db: Queryable): Promise<number> {
  const rows = await db.query<{ id: string }>('DELETE FROM export_job WHERE expires_at <= now() RETURNING id', []);
  return rows.length;
}

export interface ExportFile {
  readonly kind: FileKind;
  readonly resourceType: string;
  readonly count: number;
}

/** The files of a job with their line counts, in type order. */
export async function exportFiles(db: Queryable, jobId: string): Promise<ExportFile[]> {
  const rows = await db.query<{ kind: FileKind; resource_type: string; n: string | number }>(
    `SELECT kind, resource_type, sum(line_count) AS n FROM export_file_part WHERE job_id = $1
      GROUP BY kind, resource_type ORDER BY kind DESC, resource_type`,
    [jobId]
  );
  return rows.map((row) => ({ kind: row.kind, resourceType: row.resource_type, count: Number(row.n) }));
}

/** A file's content, one part at a time, so that a large file never sits whole in memory. */
export async function* fileParts(db: Queryable, jobId: string, kind: FileKind, resourceType: string): AsyncGenerator<string> {
  let after = '0';
  for (;;) {
    const rows = await db.query<{ seq: string | number; content: string }>(
      `SELECT seq, content FROM export_file_part WHERE job_id = $1 AND kind = $2 AND resource_type = $3 AND seq > $4::bigint
        ORDER BY seq LIMIT 4`,
      [jobId, kind, resourceType, after]
    );
    for (const row of rows) {
      yield row.content;
    }
    const last = rows[rows.length - 1];
    if (last === undefined || rows.length < 4) {
      return;
    }
    after = String(last.seq);
  }
}
