/**
 * The background side of Bulk Data export on every node: every EXPORT_POLL_MS it deletes expired
 * jobs with their files, then claims runnable jobs one after the other (export-jobs.ts: a lease
 * and SKIP LOCKED, so several nodes share the work and a job whose node died is resumed by
 * another) and runs them (export-run.ts). One job at a time per node, which is all PGlite's one
 * session can do anyway. Tests call `runOnce` instead of waiting for the timer.
 */
import { randomUUID } from 'node:crypto';
import type { BulkExportConfig } from '../config/config.js';
import type { SearchService } from '../search/types.js';
import type { Database } from '../storage/database.js';
import { claimExportJob, deleteExpiredExportJobs, failExportJob, releaseExportJob } from './export-jobs.js';
import { Pseudonymizer } from './export-pseudonyms.js';
import { runExportJob, type ExportRunOptions } from './export-run.js';

/** Claims of one job after which a job that keeps failing is given up (500 at its status URL). */
const MAX_ATTEMPTS = 3;

export interface ExportRunnerLog {
  error(object: object, message: string): void;
}

export interface RunOnceResult {
  readonly completed: number;
  readonly failed: number;
  readonly expired: number;
}

export class ExportRunner {
  private readonly options: ExportRunOptions;
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private log: ExportRunnerLog | undefined;

  constructor(
    private readonly db: Database,
    private readonly search: SearchService,
    private readonly config: BulkExportConfig
  ) {
    this.options = {
      node: randomUUID(),
      pageSize: config.pageSize,
      leaseSeconds: config.leaseSeconds,
      retentionHours: config.retentionHours,
      ...(config.pseudonymKey !== undefined ? { pseudonymizer: new Pseudonymizer(config.pseudonymKey) } : {}),
    };
  }

  /** Deletes expired jobs, then runs runnable jobs until none is left to claim. */
  async runOnce(): Promise<RunOnceResult> {
    const expired = await deleteExpiredExportJobs(this.db);
    let completed = 0;
    let failed = 0;
    while (!this.stopped) {
      const job = await claimExportJob(this.db, this.options.node, this.options.leaseSeconds);
      if (job === undefined) {
        break;
      }
      try {
        if ((await runExportJob(this.db, this.search, job, this.options)) === 'complete') {
          completed++;
        }
      } catch (error) {
        // The job id and the error only: no resource, no patient.
        this.log?.error({ err: error, exportJob: job.id, attempt: job.attempts }, 'export job failed');
        if (job.attempts >= MAX_ATTEMPTS) {
          await failExportJob(this.db, job.id, `The export failed ${job.attempts} times; start a new one`);
          failed++;
        } else {
          await releaseExportJob(this.db, job.id, this.options.node);
        }
        // The next pass (on any node) tries again; retrying at once would meet the same fault.
        break;
      }
    }
    return { completed, failed, expired };
  }

  start(log: ExportRunnerLog): void {
    this.log = log;
    if (this.config.pollMs === 0) {
      return;
    }
    const next = (): void => {
      if (!this.stopped) {
        this.timer = setTimeout(tick, this.config.pollMs);
        this.timer.unref();
      }
    };
    const tick = (): void => {
      this.running = this.runOnce()
        .catch((error: unknown) => log.error({ err: error }, 'export runner pass failed; it runs again at the next interval'))
        .finally(next);
    };
    next();
  }

  /** Stops the timer and waits for the pass in progress (the page being written is committed or not, never half). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
