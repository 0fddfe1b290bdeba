/**
 * Calendar arithmetic on FHIR dates (YYYY-MM-DD) for measurement windows. Durations use the UCUM
 * units R4 Duration allows for time (https://hl7.org/fhir/R4/datatypes.html#Duration): `d`, `wk`,
 * `mo` and `a`; months and years are calendar months and years ("3 months after the end of
 * treatment" is the same day of the month, or the month's last day when it has no such day).
 */
import type { Duration } from '@medplum/fhirtypes';

export interface CalendarDuration {
  readonly value: number;
  readonly unit: 'd' | 'wk' | 'mo' | 'a';
}

const UNITS: Record<string, CalendarDuration['unit']> = { d: 'd', wk: 'wk', mo: 'mo', a: 'a' };

/** A Duration as calendar arithmetic can use it: whole units of d, wk, mo or a; undefined otherwise. */
export function calendarDuration(duration: Duration | undefined): CalendarDuration | undefined {
  const unit = UNITS[duration?.code ?? ''];
  const value = duration?.value;
  if (unit === undefined || value === undefined || !Number.isInteger(value) || value < 0) {
    return undefined;
  }
  return { value, unit };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})/;

/** The calendar date a FHIR date or dateTime was written for (its first ten characters). */
export function calendarDate(value: string | undefined): string | undefined {
  return value !== undefined && DATE.test(value) ? value.slice(0, 10) : undefined;
}

function toUtc(date: string): Date {
  const [, y, m, d] = DATE.exec(date) as unknown as [string, string, string, string];
  return new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
}

function format(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  const at = toUtc(date);
  at.setUTCDate(at.getUTCDate() + days);
  return format(at);
}

function addMonths(date: string, months: number): string {
  const at = toUtc(date);
  const day = at.getUTCDate();
  const target = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return format(target);
}

/** `date` moved by `sign` times the duration. */
export function shift(date: string, duration: CalendarDuration, sign: 1 | -1 = 1): string {
  switch (duration.unit) {
    case 'd':
      return addDays(date, sign * duration.value);
    case 'wk':
      return addDays(date, sign * 7 * duration.value);
    case 'mo':
      return addMonths(date, sign * duration.value);
    case 'a':
      return addMonths(date, sign * 12 * duration.value);
  }
}

/** Whole days from `from` to `to`. */
export function daysBetween(from: string, to: string): number {
  return Math.round((toUtc(to).getTime() - toUtc(from).getTime()) / 86_400_000);
}
