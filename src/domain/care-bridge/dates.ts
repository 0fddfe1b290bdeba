/**
 * Calendar-day arithmetic on FHIR dates for care-plan windows. Days are counted on the date part
 * of a value as written (a visit at 23:30 local time counts on its own calendar day), which is how
 * professionals count sessions; no time zone conversion is involved.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** `2026-09-01T10:00:00+02:00` -> `2026-09-01`; undefined for values without a full date. */
export function dateOnly(value: string | undefined): string | undefined {
  const match = value === undefined ? null : /^(\d{4}-\d{2}-\d{2})/.exec(value);
  return match?.[1];
}

function toUtc(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

export function addDays(date: string, days: number): string {
  return new Date(toUtc(date) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((toUtc(to) - toUtc(from)) / DAY_MS);
}
