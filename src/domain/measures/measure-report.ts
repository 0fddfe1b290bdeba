/**
 * MeasureReport groups from the per-organisation rows of an indicator
 * (https://hl7.org/fhir/R4/measurereport.html): the population counts behind each number, the
 * measureScore, and a stratifier by organisation with the same per stratum. Proportions are
 * numerator / denominator; the continuous-variable score is the mean of the measure observations
 * (the change from the first to the last moment, last minus first).
 */
import type { MeasureGroup, MeasureReportGroup, MeasureReportGroupPopulation, Quantity } from '@medplum/fhirtypes';
import { UCUM } from '../canonical-urls.js';
import type { Indicator } from './indicator.js';
import type { IndicatorRow } from './indicator-sql.js';

const POPULATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/measure-population';

interface Counts {
  readonly initial: number;
  readonly denominator: number;
  readonly numerator: number;
  readonly total: number;
}

function countsOf(row: IndicatorRow): Counts {
  return {
    initial: Number(row.initial),
    denominator: Number(row.denominator),
    numerator: Number(row.numerator ?? 0),
    total: Number(row.total ?? 0),
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
  if (indicator.type === 'score-change') {
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
  return { value: round(c.numerator / c.denominator, 4) };
}

/** One MeasureReport group: totals over the rows, and a stratum per organisation. */
export function reportGroup(definition: MeasureGroup, indicator: Indicator, rows: readonly IndicatorRow[]): MeasureReportGroup {
  const strata = rows.map((row) => ({ org: row.org_id, counts: countsOf(row) }));
  const total = sum(strata.map((s) => s.counts));
  const measureScore = score(indicator, total);
  return {
    ...(definition.code ? { code: definition.code } : {}),
    population: populations(indicator, total),
    ...(measureScore ? { measureScore } : {}),
    stratifier: [
      {
        code: [{ text: 'Organisatie: van de auteur van de meting, anders de beherende organisatie van de patiënt' }],
        stratum: strata.map(({ org, counts }) => {
          const stratumScore = score(indicator, counts);
          return {
            value: { text: org === null ? 'Organisatie onbekend' : `Organization/${org}` },
            population: populations(indicator, counts),
            ...(stratumScore ? { measureScore: stratumScore } : {}),
          };
        }),
      },
    ],
  };
}
