/**
 * Evaluates a Measure over a reporting period into a MeasureReport: one SQL aggregation per group
 * (indicator-sql.ts), optionally for one patient (type `individual`) or one organisation
 * (`reporter`). The report is computed, not stored.
 */
import type { Measure, MeasureReport } from '@medplum/fhirtypes';
import type { Queryable } from '../../storage/database.js';
import type { AccessFilter } from '../../search/types.js';
import { measureIndicators } from './indicator.js';
import { indicatorStatement, type IndicatorRow } from './indicator-sql.js';
import { reportGroup } from './measure-report.js';
import { careBridgeSessions } from './care-bridge-sessions.js';

export interface EvaluationInput {
  readonly measure: Measure;
  /** The period as the caller gave it (FHIR dates) and as instants [start, end). */
  readonly period: { readonly start: string; readonly end: string };
  readonly instants: { readonly start: string; readonly end: string };
  readonly patientId: string | undefined;
  readonly organizationId: string | undefined;
  readonly now: string;
  /** The server's base URL, for references written as absolute URLs (care-bridge plans). */
  readonly baseUrl: string;
  readonly access?: AccessFilter;
}

/** The last calendar day before an exclusive end instant. */
function lastDayBefore(instant: string): string {
  return new Date(Date.parse(instant) - 1).toISOString().slice(0, 10);
}

export async function evaluateMeasure(db: Queryable, input: EvaluationInput): Promise<MeasureReport> {
  const { measure } = input;
  const indicators = measureIndicators(measure);
  const groups = [];
  for (const [i, indicator] of indicators.entries()) {
    if (indicator.type === 'care-bridge-sessions') {
      const rows = await careBridgeSessions(db, {
        indicator,
        firstDay: input.instants.start.slice(0, 10),
        lastDay: lastDayBefore(input.instants.end),
        patientId: input.patientId,
        organizationId: input.organizationId,
        baseUrl: input.baseUrl,
      });
      groups.push(reportGroup(measure.group?.[i] ?? {}, indicator, rows));
      continue;
    }
    const statement = indicatorStatement({
      indicator,
      periodStart: input.instants.start,
      periodEnd: input.instants.end,
      patientId: input.patientId,
      organizationId: input.organizationId,
      ...(input.access ? { access: input.access } : {}),
    });
    const rows = await db.query<IndicatorRow>(statement.sql, statement.params);
    groups.push(reportGroup(measure.group?.[i] ?? {}, indicator, rows));
  }
  const canonical = measure.version ? `${measure.url ?? ''}|${measure.version}` : (measure.url ?? '');
  return {
    resourceType: 'MeasureReport',
    status: 'complete',
    type: input.patientId === undefined ? 'summary' : 'individual',
    measure: canonical,
    ...(input.patientId !== undefined ? { subject: { reference: `Patient/${input.patientId}` } } : {}),
    date: input.now,
    ...(input.organizationId !== undefined ? { reporter: { reference: `Organization/${input.organizationId}` } } : {}),
    period: input.period,
    ...(measure.improvementNotation ? { improvementNotation: measure.improvementNotation } : {}),
    group: groups,
  };
}
