/**
 * Runs the reminder pass every REMINDER_INTERVAL_SECONDS on an unref'd timer, so it never keeps the
 * process alive (the shape of audit/audit-retention.ts scheduleAuditLogMaintenance); `stop` ends
 * it and waits for a pass in progress. Every node runs the timer; the advisory lock in the pass
 * makes one of them do the work.
 */

export interface ReminderLog {
  error(object: object, message: string): void;
}

export function scheduleReminders(run: () => Promise<unknown>, intervalSeconds: number, log: ReminderLog): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = intervalSeconds === 0;
  let timer: NodeJS.Timeout | undefined;
  const next = (): void => {
    if (!stopped) {
      timer = setTimeout(tick, intervalSeconds * 1000);
      timer.unref();
    }
  };
  const tick = (): void => {
    running = run()
      .catch((error: unknown) => {
        // No patient data in here: the database error only, never a Task.
        log.error({ err: error }, 'reminder pass failed; it runs again at the next interval');
      })
      .finally(next);
  };
  next();
  return {
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
