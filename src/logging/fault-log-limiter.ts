/**
 * Warn lines about database faults, rate-limited per fault kind. While the database is away every
 * request answers 503 (http/errors.ts); one warn line per request would bury the log under
 * thousands of identical lines in minutes. The first fault of a kind is logged in full (with its
 * request id, through the request's logger); the ones after it are counted, and one summary line
 * per interval tells how many there were. An interval without any fault of the kind closes it, so
 * the next fault is logged in full again.
 */

/** Where summaries go (the app's root logger fits). */
export interface WarnLog {
  warn(details: object, message: string): void;
}

interface Window {
  suppressed: number;
  readonly timer: NodeJS.Timeout;
}

export class FaultLogLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: WarnLog,
    private readonly intervalMs: number
  ) {}

  /** True when a fault of `kind` is to be logged in full now; otherwise it is counted. */
  admit(kind: string): boolean {
    const open = this.windows.get(kind);
    if (open) {
      open.suppressed += 1;
      return false;
    }
    this.open(kind);
    return true;
  }

  private open(kind: string): void {
    // unref: a pending summary never keeps the process alive.
    const timer = setTimeout(() => this.summarise(kind), this.intervalMs).unref();
    this.windows.set(kind, { suppressed: 0, timer });
  }

  private summarise(kind: string): void {
    const window = this.windows.get(kind);
    this.windows.delete(kind);
    if (window && window.suppressed > 0) {
      this.report(kind, window.suppressed);
      // Faults went on during this interval: keep counting in the next one.
      this.open(kind);
    }
  }

  private report(kind: string, suppressed: number): void {
    this.log.warn({ reason: kind, suppressed, intervalMs: this.intervalMs }, `database unavailable: ${suppressed} more requests answered 503 (${kind})`);
  }

  /** Logs what is still counted and stops the timers (on close). */
  flush(): void {
    for (const [kind, window] of this.windows) {
      clearTimeout(window.timer);
      if (window.suppressed > 0) {
        this.report(kind, window.suppressed);
      }
    }
    this.windows.clear();
  }
}
