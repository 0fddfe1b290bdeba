// $expand: https://hl7.org/fhir/R4/valueset-operation-expand.html
/**
 * ValueSet/$expand?url=… and ValueSet/{id}/$expand: the codes of a value set stored here or of R4,
 * with their displays, for the pick lists of a form (a Questionnaire's answerValueSet) and to see
 * what `:in` searches with. The same expansion as search and validation (terminology/expand.ts).
 * Supports url, valueSetVersion, filter (a case-insensitive part of code or display), offset and
 * count; a value set that needs a terminology server answers 422 not-supported.
 */
import type { OperationDefinition, ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { newId } from '../fhir/ids.js';
import { badRequest, issue, notFound, unprocessable } from '../fhir/outcomes.js';
import { queryValue, type FhirRequest, type FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { resolveValueSets } from '../terminology/stored-terminology.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationHandler } from './registry.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'ValueSet-expand',
  url: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand',
  name: 'ValueSetExpand',
  status: 'active',
  kind: 'operation',
  code: 'expand',
  resource: ['ValueSet'],
  system: false,
  type: true,
  instance: true,
  affectsState: false,
  parameter: [
    { name: 'url', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'Canonical URL of the value set (type level)' },
    { name: 'valueSetVersion', use: 'in', min: 0, max: '1', type: 'string' },
    { name: 'filter', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Part of a code or display, case-insensitive' },
    { name: 'offset', use: 'in', min: 0, max: '1', type: 'integer' },
    { name: 'count', use: 'in', min: 0, max: '1', type: 'integer' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'ValueSet' },
  ],
};

function nonNegative(value: string | undefined, name: string): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!/^\d{1,9}$/.test(value)) {
    throw badRequest(`${name} must be a non-negative integer`, name);
  }
  return Number(value);
}

async function expand(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse> {
  const params = input.pairs;
  const url = queryValue(params, 'url');
  const version = queryValue(params, 'valueSetVersion');
  const filter = queryValue(params, 'filter')?.toLowerCase();
  const offset = nonNegative(queryValue(params, 'offset'), 'offset') ?? 0;
  const count = nonNegative(queryValue(params, 'count'), 'count');

  let reference: string;
  const local = new Map<string, ValueSet>();
  if (request.id !== undefined) {
    reference = `ValueSet/${request.id}`;
    local.set(reference, await ctx.repo.readResource<ValueSet>('ValueSet', request.id));
  } else if (url !== undefined) {
    reference = version === undefined ? url : `${url}|${version}`;
  } else {
    throw badRequest('$expand on the type needs url (the canonical URL of the value set)', 'url');
  }
  const resolved = (await resolveValueSets(ctx.repo.queryable, [reference], local)).get(reference);
  if (!resolved?.valueSet) {
    throw notFound(`ValueSet ${reference} is not known to this server`);
  }
  if (!resolved.expansion) {
    throw unprocessable([
      issue({ code: 'not-supported', text: `ValueSet ${reference} cannot be expanded here: it needs a terminology server, or holds more codes than an expansion lists` }),
    ]);
  }
  const matching = resolved.expansion
    .codings()
    .filter((c) => filter === undefined || c.code.toLowerCase().includes(filter) || (c.display?.toLowerCase().includes(filter) ?? false));
  const page = matching.slice(offset, count === undefined ? undefined : offset + count);
  const contains: ValueSetExpansionContains[] = page.map((c) => ({ system: c.system, code: c.code, ...(c.display === undefined ? {} : { display: c.display }) }));
  const { compose: _compose, expansion: _stored, text: _text, ...valueSet } = resolved.valueSet;
  const used = params.filter(([name]) => name !== 'url');
  return {
    status: 200,
    resource: {
      ...valueSet,
      expansion: {
        identifier: `urn:uuid:${newId()}`,
        timestamp: new Date().toISOString(),
        total: matching.length,
        offset,
        ...(used.length > 0 ? { parameter: used.map(([name, value]) => (name === 'offset' || name === 'count' ? { name, valueInteger: Number(value) } : { name, valueString: value })) } : {}),
        ...(contains.length > 0 ? { contains } : {}),
      },
    } as ValueSet,
  };
}

export const valueSetExpandOperation: OperationHandler = {
  name: 'expand',
  definition,
  resourceTypes: ['ValueSet'],
  levels: ['type', 'instance'],
  handle: expand,
};
