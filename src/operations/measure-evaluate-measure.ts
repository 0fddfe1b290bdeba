// $evaluate-measure: https://hl7.org/fhir/R4/measure-operation-evaluate-measure.html
/**
 * `GET Measure/{id}/$evaluate-measure?periodStart=…&periodEnd=…[&subject=Patient/{id}][&reporter=Organization/{id}]`
 * (or `GET Measure/$evaluate-measure?measure={url|version}&…`) answers a MeasureReport computed
 * by SQL aggregation over the search index (domain/measures/). R4 names the patient `patient`;
 * `subject` (its R4B/R5 name) is taken too, and `reporter` (R5) narrows the report to the units
 * that count for one organisation. reportType `population` (the default) gives a summary report,
 * `subject` an individual one and needs a patient; `subject-list` is not supported.
 * A summary report holds counts and scores per organisation only: no subject, no
 * evaluatedResource, no subject lists. An individual report needs read access to Patients (403
 * otherwise), so a caller with Measure scopes alone (a regional network) gets aggregates only.
 */
import type { Measure, OperationDefinition } from '@medplum/fhirtypes';
import { evaluateMeasure } from '../domain/measures/evaluate-measure.js';
import { findResources, searchValue } from '../domain/find-resources.js';
import { splitCanonical } from '../fhir/references.js';
import { parseDateRange } from '../fhir/dates.js';
import { typeVisible } from '../auth/access-scope.js';
import { badRequest, badRequestIssues, forbidden, issue, notFound, notSupported } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { parseLocalReference } from '../fhir/references.js';
import type { FhirContext } from '../interactions/context.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationHandler } from './registry.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Measure-evaluate-measure',
  url: 'http://schakel.nl/fhir/OperationDefinition/Measure-evaluate-measure',
  base: 'http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure',
  name: 'EvaluateMeasure',
  title: 'Indicator berekenen',
  status: 'active',
  kind: 'operation',
  description: 'Computes a MeasureReport for a reporting period, for everyone, one patient or one organisation.',
  code: 'evaluate-measure',
  resource: ['Measure'],
  system: false,
  type: true,
  instance: true,
  affectsState: false,
  parameter: [
    { name: 'periodStart', use: 'in', min: 1, max: '1', type: 'date' },
    { name: 'periodEnd', use: 'in', min: 1, max: '1', type: 'date' },
    { name: 'measure', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Type level: the Measure canonical (url or url|version)' },
    { name: 'reportType', use: 'in', min: 0, max: '1', type: 'code', documentation: 'population (default) or subject' },
    { name: 'patient', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Patient/{id}' },
    { name: 'subject', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Patient/{id} (R4B/R5 name of patient)' },
    { name: 'reporter', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Organization/{id}: only what counts for it' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'MeasureReport' },
  ],
};

function referenceId(request: FhirRequest, input: OperationInput, name: string, type: string): string | undefined {
  const value = input.value(name);
  if (value === undefined) {
    return undefined;
  }
  const ref = parseLocalReference(value, request.baseUrl);
  if (ref?.resourceType !== type) {
    throw (type === 'Patient' && ref?.resourceType === 'Group' ? notSupported : badRequest)(`${name} must be ${type}/{id}`, name);
  }
  return ref.id;
}

function period(input: OperationInput): { period: { start: string; end: string }; instants: { start: string; end: string } } {
  // Both are required (min 1): operation-parameters.ts answered 400 without them.
  const start = input.value('periodStart') ?? '';
  const end = input.value('periodEnd') ?? '';
  const from = parseDateRange(start);
  const to = parseDateRange(end);
  if (!from) {
    throw badRequest(`periodStart "${start}" is not a date`, 'periodStart');
  }
  if (!to || to.end <= from.start) {
    throw badRequest(`periodEnd "${end}" is not a date after periodStart`, 'periodEnd');
  }
  return { period: { start, end }, instants: { start: from.start.toISOString(), end: to.end.toISOString() } };
}

async function readMeasure(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<Measure> {
  if (request.id !== undefined) {
    return ctx.repo.readResource<Measure>('Measure', request.id);
  }
  const canonical = input.value('measure');
  if (canonical === undefined) {
    // Optional in the definition (an instance names its Measure), needed at type level.
    throw badRequestIssues([issue({ code: 'required', text: '$evaluate-measure on the type needs measure (the Measure canonical)', expression: 'measure' })]);
  }
  const { url, version } = splitCanonical(canonical);
  const criteria: Array<[string, string]> = [['url', searchValue(url)], ['_sort', '-_lastUpdated']];
  if (version !== undefined) {
    criteria.push(['version', searchValue(version)]);
  }
  const [measure] = await findResources<Measure>(ctx.repo, ctx.search, 'Measure', criteria, 1);
  if (!measure) {
    throw notFound(`No Measure ${url}${version === undefined ? '' : `|${version}`}`);
  }
  return measure;
}

async function evaluate(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse> {
  const when = period(input);
  const patientId = referenceId(request, input, 'subject', 'Patient') ?? referenceId(request, input, 'patient', 'Patient');
  const organizationId = referenceId(request, input, 'reporter', 'Organization');
  const reportType = input.value('reportType') ?? (patientId === undefined ? 'population' : 'subject');
  if (reportType !== 'population' && reportType !== 'subject') {
    throw notSupported(`reportType ${reportType} is not supported (population or subject)`, 'reportType');
  }
  if (reportType === 'subject' && patientId === undefined) {
    throw badRequest('reportType subject needs a patient (subject=Patient/{id})', 'reportType');
  }
  if (reportType === 'population' && patientId !== undefined) {
    throw badRequest('reportType population is over everyone: leave out the patient, or use reportType subject', 'reportType');
  }
  if (patientId !== undefined && ctx.principal !== undefined && !typeVisible(ctx.principal, 'Patient')) {
    throw forbidden('An individual MeasureReport needs read access to Patient; this token has aggregate figures only', 'subject');
  }
  if (patientId !== undefined) {
    // A subject report holds one patient's measurements: only for a caller who may see that patient
    // (ctx.repo is narrowed; 404 as for a missing one). Population reports hold counts and means
    // per organisation, never a patient reference.
    await ctx.repo.read('Patient', patientId);
  }
  const measure = await readMeasure(ctx, request, input);
  const report = await evaluateMeasure(ctx.repo.queryable, {
    measure,
    ...when,
    patientId,
    organizationId,
    now: new Date().toISOString(),
    baseUrl: request.baseUrl,
  });
  return { status: 200, resource: report };
}

export const evaluateMeasureOperation: OperationHandler = {
  name: 'evaluate-measure',
  definition,
  resourceTypes: ['Measure'],
  levels: ['type', 'instance'],
  handle: evaluate,
};
