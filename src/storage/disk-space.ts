/**
 * Free disk space under the embedded database, checked before each write transaction.
 *
 * With PGlite 0.5 (PostgreSQL in WASM over Node's fs), ENOSPC while extending a data file or
 * writing a checkpoint file comes back as SQLSTATE 53100, as on PostgreSQL. A failed WAL write is
 * another matter: PostgreSQL makes it a PANIC, and the single-process WASM build has no postmaster
 * to restart from it; a server whose data folder ran full was seen timing out every write and
 * /healthz, spinning, and deaf to SIGTERM. So a write transaction is refused (SQLSTATE 53100,
 * HTTP 507) while less than the margin is free: one 16 MB WAL segment plus room for checkpoints by
 * default. Reads, their audit rows and the shutdown checkpoint keep the room they need, and writes
 * work again as soon as space is freed, without a restart.
 */
import { statfs } from 'node:fs/promises';
import { InsufficientStorageError } from './capacity-faults.js';

/** statfs costs a system call; within this many milliseconds the last answer is used. */
const FRESH_MS = 250;

export class DiskSpaceGuard {
  private checked = 0;
  private free = Number.POSITIVE_INFINITY;
  private pending: Promise<number> | undefined;

  constructor(
    private readonly dir: string,
    readonly marginBytes: number
  ) {}

  /** Bytes free for an unprivileged writer (root's reserve does not count). */
  async freeBytes(): Promise<number> {
    if (Date.now() - this.checked < FRESH_MS) {
      return this.free;
    }
    this.pending ??= statfs(this.dir)
      .then(
        (s) => s.bavail * s.bsize,
        // A filesystem that cannot say how full it is is not refused on that account.
        () => Number.POSITIVE_INFINITY
      )
      .then((free) => {
        this.free = free;
        this.checked = Date.now();
        this.pending = undefined;
        return free;
      });
    return this.pending;
  }

  /** Whether less than the margin is free. */
  async low(): Promise<boolean> {
    return this.marginBytes > 0 && (await this.freeBytes()) < this.marginBytes;
  }

  /** Throws InsufficientStorageError (SQLSTATE 53100) while less than the margin is free. */
  async assertRoom(): Promise<void> {
    if (this.marginBytes > 0) {
      const free = await this.freeBytes();
      if (free < this.marginBytes) {
        throw new InsufficientStorageError(free, this.marginBytes);
      }
    }
  }
}
