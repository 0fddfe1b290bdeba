/**
 * MeasureReport groups from the per-organisation rows of an indicator
 * (https://hl7.org/fhir/R4/measurereport.html): the population counts behind each number, the
 * measureScore, and a stratifier by organisation with the same per stratum. Proportions are
 * numerator / denominator; the continuous-variable score is the mean of the measure observations
 * (the change from the first to the last moment, last minus first).
 */
import type { Coding, MeasureGroup, MeasureReportGroup, MeasureReportGroupPopulation, MeasureReportGroupStratifierStratum, Quantity } from '@medplum/fhirtypes';
import { UCUM } from '../canonical-urls.js';
import type { Indicator } from './indicator.js';
import type { IndicatorRow } from './indicator-sql.js';

/** The stratifier's text: the attribution order of attribution-sql.ts, in Dutch for the reader of the report. */
const ORGANISATION_STRATIFIER =
  'Organisatie: die behandelde (eigenaar van de verwijzingstaak, anders auteur van het zorgplan), anders van de auteur van de meting, anders de beherende organisatie van de patiënt';

const POPULATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/measure-population';

interface Counts {
  readonly initial: number;
  readonly denominator: number;
  readonly numerator: number;
  readonly total: number;
  /** referral-interval only: the median days, computed by the database per stratum and overall. */
  readonly median?: number;
}

function countsOf(row: IndicatorRow): Counts {
  return {
    initial: Number(row.initial),
    denominator: Number(row.denominator),
    numerator: Number(row.numerator ?? 0),
    total: Number(row.total ?? 0),
    ...(row.median !== undefined && row.median !== null ? { median: Number(row.median) } : {}),
  };
}

function sum(list: readonly Counts[]): Counts {
  return list.reduce(
    (a, b) => ({ initial: a.initial + b.initial, denominator: a.denominator + b.denominator, numerator: a.numerator + b.numerator, total: a.total + b.total }),
    { initial: 0, denominator: 0, numerator: 0, total: 0 }
  );
}

function population(code: string, count: number): MeasureReportGroupPopulation {
  return { code: { coding: [{ system: POPULATION_SYSTEM, code }] }, count };
}

function populations(indicator: Indicator, c: Counts): MeasureReportGroupPopulation[] {
  if (indicator.type === 'score-change' || indicator.type === 'referral-interval') {
    return [population('initial-population', c.initial), population('measure-population', c.denominator), population('measure-observation', c.denominator)];
  }
  return [population('initial-population', c.initial), population('denominator', c.denominator), population('numerator', c.numerator)];
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function score(indicator: Indicator, c: Counts): Quantity | undefined {
  if (c.denominator === 0) {
    return undefined;
  }
  if (indicator.type === 'score-change') {
    return { value: round(c.total / c.denominator, 2), unit: 'score', system: UCUM, code: '{score}' };
  }
  if (indicator.type === 'referral-interval') {
    return c.median === undefined ? undefined : { value: round(c.median, 2), unit: 'dagen', system: UCUM, code: 'd' };
  }
  return { value: round(c.numerator / c.denominator, 4) };
}

/** RoleCodeNL, the code system of disciplines (docs/care-workflows.md). */
const ROLE_CODE_NL = 'urn:oid:2.16.840.1.113883.2.4.15.111';
const DISCIPLINE_STRATIFIER = 'Discipline: de gevraagde (ServiceRequest.performerType), anders die van de eigenaar van de verwijzingstaak';

/** Sums the counts of rows that share a key (organisation or discipline), in first-seen order. */
function sumBy(rows: readonly IndicatorRow[], key: (row: IndicatorRow) => string | null): Array<[string | null, Counts]> {
  const sums = new Map<string | null, Counts[]>();
  for (const row of rows) {
    sums.set(key(row), [...(sums.get(key(row)) ?? []), countsOf(row)]);
  }
  // One row per key keeps its median (medians do not add up; the interval SQL answers one row per organisation).
  return [...sums.entries()].map(([k, list]) => [k, list.length === 1 && list[0] ? list[0] : sum(list)]);
}

function stratumOf(indicator: Indicator, text: string, counts: Counts, coding?: Coding): MeasureReportGroupStratifierStratum {
  const stratumScore = score(indicator, counts);
  return { value: { ...(coding ? { coding: [coding] } : {}), text }, population: populations(indicator, counts), ...(stratumScore ? { measureScore: stratumScore } : {}) };
}

/**
 * One MeasureReport group: totals over the rows, and a stratum per organisation (and per
 * discipline, for the referral indicator that reports it). Medians come with their own total row.
 */
export function reportGroup(definition: MeasureGroup, indicator: Indicator, rows: readonly IndicatorRow[]): MeasureReportGroup {
  const totalRow = rows.find((row) => row.is_total === true);
  const perOrganisation = rows.filter((row) => row.is_total !== true);
  const strata = sumBy(perOrganisation, (row) => row.org_id).map(([org, counts]) => ({ org, counts }));
  const total = totalRow ? countsOf(totalRow) : sum(strata.map((s) => s.counts));
  const measureScore = score(indicator, total);
  const byDiscipline = indicator.type === 'referral-primary-care' ? sumBy(perOrganisation, (row) => row.discipline ?? null) : [];
  return {
    ...(definition.code ? { code: definition.code } : {}),
    population: populations(indicator, total),
    ...(measureScore ? { measureScore } : {}),
    stratifier: [
      {
        code: [{ text: ORGANISATION_STRATIFIER }],
        stratum: strata.map(({ org, counts }) => stratumOf(indicator, org === null ? 'Organisatie onbekend' : `Organization/${org}`, counts)),
      },
      ...(indicator.type === 'referral-primary-care'
        ? [
            {
              code: [{ text: DISCIPLINE_STRATIFIER }],
              stratum: byDiscipline
                .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)))
                .map(([discipline, counts]) =>
                  stratumOf(indicator, discipline ?? 'Discipline onbekend', counts, discipline === null ? undefined : { system: ROLE_CODE_NL, code: discipline })
                ),
            },
          ]
        : []),
    ],
  };
}
