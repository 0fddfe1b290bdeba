/**
 * FHIR date, dateTime and instant values as half-open time ranges [start, end), following the
 * precision rules of https://hl7.org/fhir/R4/search.html#date: `2024` covers the whole year,
 * `2024-03-01T10:00` the whole minute. Values without a time zone are read as UTC.
 */

/**
 * The instants PostgreSQL and ISO 8601 without an extended year can both hold: a range reaching
 * past them (year 0, year 10000 after a time-zone shift or the end of 9999) is cut to them.
 */
const EARLIEST = new Date(0).setUTCFullYear(1, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function clampRange(range: TimeRange): TimeRange {
  const start = Math.min(Math.max(range.start.getTime(), EARLIEST), LATEST);
  const end = Math.min(Math.max(range.end.getTime(), EARLIEST), LATEST);
  return { start: new Date(start), end: new Date(end) };
}

/** The Gregorian calendar repeats every 400 years, which are exactly 146,097 days. */
const FOUR_CENTURIES_MS = 146_097 * 86_400_000;

/** Date.UTC with the year taken as written (Date.UTC reads 0-99 as 1900-1999). */
function utcInstant(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  return year >= 100
    ? Date.UTC(year, month, day, hour, minute, second, ms)
    : Date.UTC(year + 400, month, day, hour, minute, second, ms) - FOUR_CENTURIES_MS;
}

export interface TimeRange {
  readonly start: Date;
  /** Exclusive end. */
  readonly end: Date;
}

const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function offsetMinutes(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') {
    return 0;
  }
  const sign = zone.startsWith('-') ? -1 : 1;
  const [h, m] = zone.slice(1).split(':').map(Number) as [number, number];
  return sign * (h * 60 + m);
}

/** Parses a FHIR date/dateTime/instant into the range it denotes, or undefined when malformed. */
export function parseDateRange(value: string): TimeRange | undefined {
  const range = parseRange(value);
  return range && clampRange(range);
}

function parseRange(value: string): TimeRange | undefined {
  const m = DATE_TIME.exec(value);
  if (!m) {
    return undefined;
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  // The R4 date pattern has no year 0000 (https://hl7.org/fhir/R4/datatypes.html#date).
  if (year === 0) {
    return undefined;
  }
  const month = mo === undefined ? undefined : Number(mo) - 1;
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 0 || month > 11)) {
    return undefined;
  }
  if (day !== undefined && (day < 1 || day > new Date(utcInstant(year, (month ?? 0) + 1, 0, 0, 0, 0, 0)).getUTCDate())) {
    return undefined;
  }
  const shift = offsetMinutes(zone) * 60_000;
  const utc = (...parts: [number, number?, number?, number?, number?, number?, number?]): Date =>
    new Date(utcInstant(parts[0], parts[1] ?? 0, parts[2] ?? 1, parts[3] ?? 0, parts[4] ?? 0, parts[5] ?? 0, parts[6] ?? 0) - shift);
  if (month === undefined) {
    return { start: utc(year), end: utc(year + 1) };
  }
  if (day === undefined) {
    return { start: utc(year, month), end: utc(year, month + 1) };
  }
  if (h === undefined) {
    return { start: utc(year, month, day), end: utc(year, month, day + 1) };
  }
  const hour = Number(h);
  const minute = Number(mi);
  if (hour > 23 || minute > 59) {
    return undefined;
  }
  if (s === undefined) {
    return { start: utc(year, month, day, hour, minute), end: utc(year, month, day, hour, minute + 1) };
  }
  const second = Number(s);
  if (second > 59) {
    return undefined;
  }
  if (frac === undefined) {
    return {
      start: utc(year, month, day, hour, minute, second),
      end: utc(year, month, day, hour, minute, second + 1),
    };
  }
  const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
  const precisionMs = frac.length >= 3 ? 1 : 10 ** (3 - frac.length);
  const start = utc(year, month, day, hour, minute, second, ms);
  return { start, end: new Date(start.getTime() + precisionMs) };
}

/** RFC 7231 HTTP-date for Last-Modified headers. */
export function httpDate(iso: string): string {
  return new Date(iso).toUTCString();
}

/** Gregorian leap years, proleptic before 1582 as ISO 8601 reads them. */
function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether the date a FHIR date, dateTime or instant starts with (YYYY, YYYY-MM or YYYY-MM-DD) is
 * on the calendar: "Dates SHALL be valid dates" (https://hl7.org/fhir/R4/datatypes.html#date), so
 * no year 0000, no month 13 and no 2023-02-29. The rest of the value is not looked at.
 */
export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value);
  if (!match) {
    return false;
  }
  const year = Number(match[1]);
  if (year === 0) {
    return false;
  }
  if (match[2] === undefined) {
    return true;
  }
  const month = Number(match[2]);
  if (month < 1 || month > 12) {
    return false;
  }
  if (match[3] === undefined) {
    return true;
  }
  const day = Number(match[3]);
  const last = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  return day >= 1 && day <= last;
}
