/**
 * The phases of a start, each logged as one line with its duration, so an operator sees where a
 * slow start spends its time and which phase a failed start stopped in.
 */

/** The phases of src/server.ts, in order. */
export type StartupPhase = 'listen' | 'listen-health' | 'keys' | 'connect' | 'migrate' | 'definitions' | 'seed' | 'app';

export interface PhaseLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export class StartupPhases {
  private readonly startedAt = performance.now();

  /** `onPhase` hears of each phase as it begins (server.ts shows it on /healthz and /readyz). */
  constructor(
    readonly log: PhaseLog,
    private readonly onPhase: (phase: StartupPhase) => void = () => undefined
  ) {}

  /** Runs one phase; logs `{ phase, durationMs, ...details(result) }` when it ends, or its failure. */
  async run<T>(phase: StartupPhase, work: () => Promise<T>, details?: (result: T) => object): Promise<T> {
    this.onPhase(phase);
    const started = performance.now();
    try {
      const result = await work();
      this.log.info({ phase, durationMs: elapsed(started), ...details?.(result) }, `start-up phase ${phase} done`);
      return result;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log.error({ phase, durationMs: elapsed(started), reason }, `start-up phase ${phase} failed: ${reason}`);
      throw error;
    }
  }

  /** Milliseconds since the start began. */
  total(): number {
    return elapsed(this.startedAt);
  }
}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}
