/**
 * Admission control in front of the database: at most `maxActive` FHIR requests do their work at
 * once, at most `maxWaiting` wait for a turn, and none waits longer than `maxWaitMs`. Without it,
 * 600 concurrent searches all queue on a pool of ten connections (or PGlite's one session) and
 * every one of them answers after minutes; with it, the excess answers 503 at once and the
 * admitted ones finish in about the time of one search each.
 */
import { retryLater } from '../fhir/outcomes.js';

export interface AdmissionLimits {
  readonly maxActive: number;
  readonly maxWaiting: number;
  readonly maxWaitMs: number;
  readonly retryAfterSeconds: number;
}

interface Waiter {
  readonly admit: () => void;
  readonly timer: NodeJS.Timeout;
}

/** Gives up a turn; calling it again does nothing. */
export type Release = () => void;

export class AdmissionGate {
  private active = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: AdmissionLimits) {}

  /** Requests doing their work now and those waiting for a turn. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /**
   * Resolves with the release of a turn once the request may start; rejects with a 503
   * (`throttled`) when the waiting line is full or the turn does not come within maxWaitMs.
   */
  enter(): Promise<Release> {
    if (this.active < this.limits.maxActive) {
      this.active += 1;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.limits.maxWaiting) {
      return Promise.reject(this.refusal('The server is at its limit of concurrent requests; try again later'));
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(waiter.timer);
          resolve(this.releaser());
        },
        timer: setTimeout(() => {
          const at = this.waiting.indexOf(waiter);
          if (at >= 0) {
            this.waiting.splice(at, 1);
          }
          reject(this.refusal('The request waited too long for its turn; try again later'));
        }, this.limits.maxWaitMs),
      };
      this.waiting.push(waiter);
    });
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      // The turn passes straight to the first in line, so `active` stays the same.
      const next = this.waiting.shift();
      if (next) {
        next.admit();
      } else {
        this.active -= 1;
      }
    };
  }

  private refusal(text: string): Error {
    return retryLater('throttled', text, this.limits.retryAfterSeconds);
  }
}
