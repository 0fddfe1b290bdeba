/**
 * Generators of hostile HTTP requests for the seeded fuzz test (test/http/fuzz.test.ts). Each case
 * says whether the server must refuse it: input that breaks FHIR's JSON rules, a primitive outside
 * its R4 format, calendar or range (https://hl7.org/fhir/R4/datatypes.html), an unknown type or
 * element, or an id that cannot exist. Every case, refused or not, must stay below 500.
 */
import fc from 'fast-check';
import { parseFhirXml } from '../../src/fhir/xml/parse.js';

export type FuzzCategory = 'resources' | 'bundles' | 'search' | 'paths' | 'patches' | 'headers';

export interface FuzzCase {
  readonly category: FuzzCategory;
  /** What the case does, for the failure report. */
  readonly label: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string;
  /** The server must answer 4xx with an OperationOutcome. */
  readonly mustRefuse: boolean;
  /** A batch whose entry at this index must be refused inside a 200 batch-response. */
  readonly refusedBatchEntry?: number;
}

/** Ids the fuzz test creates before the run. */
export interface FuzzFixture {
  /** A Patient that resources refer to; never patched or deleted. */
  readonly patientId: string;
  /** A Patient the patch cases work on. */
  readonly patchTargetId: string;
  readonly carePlanId: string;
}

type Kind = 'date' | 'dateTime' | 'instant' | 'time' | 'integer' | 'positiveInt' | 'unsignedInt' | 'decimal' | 'string' | 'code' | 'boolean';

/** A JSON value as text, so that raw-text mutations (duplicate keys, escapes) survive. */
interface Mutated {
  readonly value: unknown;
  readonly refuse: boolean;
  readonly what: string;
}

// ---------------------------------------------------------------------------------------------
// Primitive values: invalid ones (must refuse) and valid edge values (must not 500).

const calendarInvalidDates = [
  '2023-02-30', '2023-02-29', '1900-02-29', '2023-13-01', '2023-00-10', '2023-04-31', '2023-06-31', '2023-11-31',
  '2023-01-32', '2023-01-00', '0000-01-01', '2100-02-29',
];
const malformedDates = ['2023-1-01', '20230101', '2023/01/01', '23-01-01', '2023-01-01x', ' 2023-01-01', 'today', '２０２３-01-01', '+2023-01-01'];
const validDates = ['0001-01-01', '9999-12-31', '2024-02-29', '2000-02-29', '2023', '2023-12', '1970-01-01', '1600-02-29'];
const invalidTimes = ['25:00:00', '24:00:00', '23:60:00', '10:00', '10:00:00Z', '1:00:00', '10:00:00.', '-1:00:00', '99:99:99'];
const validTimes = ['00:00:00', '23:59:59', '23:59:59.999', '12:00:00.123456789'];
const invalidZonedParts = ['T25:00:00Z', 'T10:60:00Z', 'T24:00:00Z', 'T10:00:00+15:00', 'T10:00:00+14:30', 'T10:00:00+01:60', 'T10:00:00', 'T10:00Z', 'T10:00:00.Z', 'T10:00:00 Z'];
const validZonedParts = ['T00:00:00Z', 'T23:59:59.999Z', 'T10:00:00+14:00', 'T10:00:00-12:00', 'T12:00:00.123456789+01:00'];

const anyOf = <T>(values: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...values);

function invalidPrimitive(kind: Kind): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'date':
      return fc.oneof(anyOf(calendarInvalidDates), anyOf(malformedDates), fc.constant('2023-01-01T10:00:00Z'));
    case 'dateTime':
      return fc.oneof(
        anyOf(calendarInvalidDates),
        anyOf(malformedDates),
        fc.tuple(anyOf(calendarInvalidDates), anyOf(validZonedParts)).map(([d, t]) => d + t),
        anyOf(invalidZonedParts).map((t) => `2023-05-17${t}`)
      );
    case 'instant':
      return fc.oneof(
        anyOf(['2023-05-17', '2023', '2023-05', '2023-05-17T10:00:00']),
        fc.tuple(anyOf(calendarInvalidDates), anyOf(validZonedParts)).map(([d, t]) => d + t),
        anyOf(invalidZonedParts).map((t) => `2023-05-17${t}`)
      );
    case 'time':
      return anyOf(invalidTimes);
    case 'integer':
      return fc.oneof(
        anyOf([2_147_483_648, -2_147_483_649, 1.5, 1e20, -1e20, 2 ** 53, '5', true]),
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n) || n > 2_147_483_647 || n < -2_147_483_648)
      );
    case 'positiveInt':
      return anyOf([0, -1, -2_147_483_648, 2_147_483_648, 1.5, '1']);
    case 'unsignedInt':
      return anyOf([-1, -2_147_483_648, 2_147_483_648, 0.5, '0']);
    case 'decimal':
      return anyOf(['1.5', true, [1.5], { value: 1 }]);
    case 'string':
      return anyOf([42, true, ['a'], { a: 'b' }, 'a\u0000b', '\ud800', 'x\udc00', '']);
    case 'code':
      return anyOf([' male', 'male ', 'ma  le', '', 12, 'a\u0000']);
    case 'boolean':
      return anyOf(['true', 1, 0, 'yes']);
  }
}

function validEdge(kind: Kind): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'date':
      return anyOf(validDates);
    case 'dateTime':
      return fc.oneof(anyOf(validDates), fc.tuple(anyOf(['0001-01-01', '9999-12-31', '2024-02-29', '2023-05-17']), anyOf(validZonedParts)).map(([d, t]) => d + t));
    case 'instant':
      return fc.tuple(anyOf(['0001-01-01', '9999-12-31', '2024-02-29', '2023-05-17']), anyOf(validZonedParts)).map(([d, t]) => d + t);
    case 'time':
      return anyOf(validTimes);
    case 'integer':
      return anyOf([0, -1, 2_147_483_647, -2_147_483_648]);
    case 'positiveInt':
      return anyOf([1, 2_147_483_647]);
    case 'unsignedInt':
      return anyOf([0, 2_147_483_647]);
    case 'decimal':
      return anyOf([0, -0.000001, 1e-10, 123456789.123, -1e15, 1e300, 3]);
    case 'string':
      return fc.oneof(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== ''),
        anyOf(['\u202eRTL', 'e\u0301', '\ud83d\ude00', 'a'.repeat(2_000), "'; DROP TABLE resource; --", '%00', '\\u0000', '<script>x</script>'])
      );
    case 'code':
      return anyOf(['male', 'unknown']);
    case 'boolean':
      return fc.boolean();
  }
}

// ---------------------------------------------------------------------------------------------
// Resources: templates with typed slots that a mutation replaces.

interface Slot {
  readonly path: readonly (string | number)[];
  readonly kind: Kind;
}

interface Template {
  readonly type: string;
  readonly build: (f: FuzzFixture) => Record<string, unknown>;
  readonly slots: readonly Slot[];
}

const slot = (kind: Kind, ...path: (string | number)[]): Slot => ({ kind, path });

const TEMPLATES: readonly Template[] = [
  {
    type: 'Patient',
    build: () => ({
      resourceType: 'Patient',
      active: true,
      name: [{ family: 'Fuzz', given: ['Ada'] }],
      gender: 'female',
      birthDate: '1980-05-17',
      multipleBirthInteger: 2,
    }),
    slots: [
      slot('boolean', 'active'),
      slot('string', 'name', 0, 'family'),
      slot('string', 'name', 0, 'given', 0),
      slot('code', 'gender'),
      slot('date', 'birthDate'),
      slot('integer', 'multipleBirthInteger'),
      slot('dateTime', 'deceasedDateTime'),
    ],
  },
  {
    type: 'Observation',
    build: (f) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'pijnscore' },
      subject: { reference: `Patient/${f.patientId}` },
      effectiveDateTime: '2024-03-01T10:00:00+01:00',
      issued: '2024-03-01T10:05:00Z',
      valueInteger: 5,
    }),
    slots: [
      slot('code', 'status'),
      slot('dateTime', 'effectiveDateTime'),
      slot('instant', 'issued'),
      slot('integer', 'valueInteger'),
      slot('string', 'code', 'text'),
      slot('dateTime', 'effectivePeriod', 'start'),
    ],
  },
  {
    type: 'Task',
    build: (f) => ({
      resourceType: 'Task',
      status: 'draft',
      intent: 'order',
      for: { reference: `Patient/${f.patientId}` },
      authoredOn: '2024-03-01T10:00:00Z',
      executionPeriod: { start: '2024-03-01T10:00:00Z', end: '2024-03-31T10:00:00Z' },
      restriction: { repetitions: 1 },
      description: 'Fuzz',
    }),
    slots: [
      slot('dateTime', 'authoredOn'),
      slot('dateTime', 'lastModified'),
      slot('dateTime', 'executionPeriod', 'start'),
      slot('dateTime', 'executionPeriod', 'end'),
      slot('positiveInt', 'restriction', 'repetitions'),
      slot('string', 'description'),
      slot('code', 'status'),
    ],
  },
  {
    type: 'CarePlan',
    build: (f) => ({
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject: { reference: `Patient/${f.patientId}` },
      period: { start: '2024-01-01', end: '2024-06-30' },
      created: '2024-01-01T09:00:00Z',
      title: 'Fuzz',
    }),
    slots: [
      slot('dateTime', 'period', 'start'),
      slot('dateTime', 'period', 'end'),
      slot('dateTime', 'created'),
      slot('string', 'title'),
      slot('code', 'intent'),
    ],
  },
  {
    type: 'QuestionnaireResponse',
    build: (f) => ({
      resourceType: 'QuestionnaireResponse',
      status: 'completed',
      subject: { reference: `Patient/${f.patientId}` },
      authored: '2024-03-01T10:00:00Z',
      item: [
        { linkId: 'a', answer: [{ valueInteger: 3 }] },
        { linkId: 'b', answer: [{ valueDate: '2024-01-02' }] },
        { linkId: 'c', answer: [{ valueTime: '10:00:00' }] },
        { linkId: 'd', answer: [{ valueDecimal: 1.5 }] },
        { linkId: 'e', answer: [{ valueDateTime: '2024-01-02T10:00:00Z' }] },
      ],
    }),
    slots: [
      slot('dateTime', 'authored'),
      slot('integer', 'item', 0, 'answer', 0, 'valueInteger'),
      slot('date', 'item', 1, 'answer', 0, 'valueDate'),
      slot('time', 'item', 2, 'answer', 0, 'valueTime'),
      slot('decimal', 'item', 3, 'answer', 0, 'valueDecimal'),
      slot('dateTime', 'item', 4, 'answer', 0, 'valueDateTime'),
      slot('string', 'item', 0, 'linkId'),
    ],
  },
  {
    type: 'Encounter',
    build: (f) => ({
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/${f.patientId}` },
      period: { start: '2024-03-01T10:00:00Z', end: '2024-03-01T10:30:00Z' },
      length: { value: 30, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' },
    }),
    slots: [slot('dateTime', 'period', 'start'), slot('decimal', 'length', 'value'), slot('code', 'status')],
  },
];

function setPath(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = target;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    let next = node[key];
    if (next === undefined || next === null || typeof next !== 'object') {
      next = typeof path[i + 1] === 'number' ? [] : {};
      node[key] = next;
    }
    node = next as Record<string | number, unknown>;
  }
}

interface ResourceText {
  readonly type: string;
  /** The resourceType the body claims (may differ from `type`). */
  readonly text: string;
  readonly refuse: boolean;
  readonly what: string;
  readonly jsonLevel: boolean;
}

function nestedExtension(levels: number): unknown {
  let ext: Record<string, unknown> = { url: 'https://schakel.test/fuzz', valueString: 'x' };
  for (let i = 0; i < levels; i++) {
    ext = { url: 'https://schakel.test/fuzz', extension: [ext] };
  }
  return ext;
}

/** Mutations of a whole resource, applied to its text. */
type Mutation = (resource: Record<string, unknown>, template: Template) => fc.Arbitrary<Mutated & { text?: string }>;

const primitiveMutation = (valid: boolean): Mutation => (_resource, template) =>
  fc.constantFrom(...template.slots).chain((s) =>
    (valid ? validEdge(s.kind) : invalidPrimitive(s.kind)).map((value) => ({
      value: { path: s.path, value },
      refuse: !valid,
      what: `${valid ? 'edge' : 'invalid'} ${s.kind} ${JSON.stringify(value)} at ${s.path.join('.')}`,
    }))
  );

function apply(resource: Record<string, unknown>, mutated: Mutated): string {
  const { path, value } = mutated.value as { path: (string | number)[]; value: unknown };
  const copy = structuredClone(resource);
  setPath(copy, path, value);
  return JSON.stringify(copy);
}

/** A string value that FHIR's JSON rules refuse wherever it stands (found when the text is parsed). */
function breaksJson(value: unknown): boolean {
  return typeof value === 'string' && (value === '' || value.includes('\u0000') || !value.isWellFormed());
}

interface StructuralText {
  readonly text: string;
  readonly refuse: boolean;
  /** The breach is in the JSON itself: a Bundle holding it is refused as a whole. */
  readonly jsonLevel: boolean;
}

const structuralMutations: ReadonlyArray<[string, (r: Record<string, unknown>) => fc.Arbitrary<StructuralText>]> = [
  ['unknown element', (r) => fc.constantFrom('fuzzElement', 'Name', '_fuzz', 'extension_', 'resourcetype').map((k) => ({ text: JSON.stringify({ ...r, [k]: 'x' }), refuse: true, jsonLevel: false }))],
  [
    'duplicate key',
    (r) =>
      fc.constantFrom(...Object.keys(r)).map((k) => {
        const text = JSON.stringify(r);
        return { text: `{${JSON.stringify(k)}:${JSON.stringify(r[k])},${text.slice(1)}`, refuse: true, jsonLevel: true };
      }),
  ],
  ['empty value', (r) => fc.constantFrom<unknown>('', [], {}, null, [null]).map((v) => ({ text: JSON.stringify({ ...r, extension: v }), refuse: true, jsonLevel: true }))],
  ['nested too deep', (r) => fc.integer({ min: 40, max: 300 }).map((n) => ({ text: JSON.stringify({ ...r, extension: [nestedExtension(n)] }), refuse: true, jsonLevel: true }))],
  ['nested within limit', (r) => fc.integer({ min: 1, max: 20 }).map((n) => ({ text: JSON.stringify({ ...r, extension: [nestedExtension(n)] }), refuse: false, jsonLevel: false }))],
  [
    'not an object',
    () =>
      fc.constantFrom<[string, boolean]>(['[]', true], ['"Patient"', false], ['42', false], ['null', true], ['[{"resourceType":"Patient"}]', false], ['{"resourceType":"Patient"', true], ['{}', true]).map(([text, jsonLevel]) => ({
        text,
        refuse: true,
        jsonLevel,
      })),
  ],
  ['prototype key', (r) => fc.constantFrom('__proto__', 'constructor').map((k) => ({ text: `{${JSON.stringify(k)}:{"x":1},${JSON.stringify(r).slice(1)}`, refuse: true, jsonLevel: true }))],
  ['no resourceType', (r) => fc.constant({ text: JSON.stringify({ ...r, resourceType: undefined }), refuse: true, jsonLevel: false })],
  ['unknown resourceType', (r) => fc.constantFrom('Foo', 'patient', 'Resource', 'DomainResource', '', 'Patient ').map((t) => ({ text: JSON.stringify({ ...r, resourceType: t }), refuse: true, jsonLevel: t === '' }))],
  ['raw control character', (r) => fc.constant({ text: JSON.stringify(r).replace('"resourceType"', '"resource\tType"'), refuse: true, jsonLevel: true })],
  ['escaped lone surrogate key', (r) => fc.constant({ text: `{"\\ud800x":1,${JSON.stringify(r).slice(1)}`, refuse: true, jsonLevel: true })],
];

const resourceText: (f: FuzzFixture) => fc.Arbitrary<ResourceText> = (f) =>
  fc.constantFrom(...TEMPLATES).chain((template) => {
    const base = template.build(f);
    const primitive = (valid: boolean) =>
      primitiveMutation(valid)(base, template).map((m) => ({
        type: template.type,
        text: apply(base, m),
        refuse: m.refuse,
        what: m.what,
        jsonLevel: breaksJson((m.value as { value: unknown }).value),
      }));
    const structural = fc.constantFrom(...structuralMutations).chain(([what, mutate]) =>
      mutate(base).map(({ text, refuse, jsonLevel }) => ({ type: template.type, text, refuse, what, jsonLevel }))
    );
    return fc.oneof(
      { weight: 4, arbitrary: primitive(false) },
      { weight: 2, arbitrary: primitive(true) },
      { weight: 3, arbitrary: structural },
      { weight: 1, arbitrary: fc.constant({ type: template.type, text: JSON.stringify(base), refuse: false, what: 'unchanged', jsonLevel: false }) }
    );
  });

const FHIR_JSON = { 'content-type': 'application/fhir+json' };

function withId(text: string, id: string): string {
  return text.startsWith('{"resourceType"') ? `{"id":${JSON.stringify(id)},${text.slice(1)}` : text;
}

function resourceCases(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  return fc.tuple(resourceText(f), fc.constantFrom('create', 'create-wrong-type', 'update', 'update-id-mismatch', 'update-no-id'), fc.nat(1_000_000)).map(
    ([r, mode, n]): FuzzCase => {
      const id = `fuzz-${n}`;
      switch (mode) {
        case 'create':
          return { category: 'resources', label: `create ${r.type}: ${r.what}`, method: 'POST', url: `/fhir/${r.type}`, headers: FHIR_JSON, payload: r.text, mustRefuse: r.refuse };
        case 'create-wrong-type': {
          const other = r.type === 'Patient' ? 'Observation' : 'Patient';
          return { category: 'resources', label: `create ${r.type} at /${other}: ${r.what}`, method: 'POST', url: `/fhir/${other}`, headers: FHIR_JSON, payload: r.text, mustRefuse: true };
        }
        case 'update':
          return { category: 'resources', label: `update ${r.type}: ${r.what}`, method: 'PUT', url: `/fhir/${r.type}/${id}`, headers: FHIR_JSON, payload: withId(r.text, id), mustRefuse: r.refuse };
        case 'update-id-mismatch':
          return { category: 'resources', label: `update ${r.type} with another id: ${r.what}`, method: 'PUT', url: `/fhir/${r.type}/${id}`, headers: FHIR_JSON, payload: withId(r.text, `${id}x`), mustRefuse: true };
        case 'update-no-id':
          return { category: 'resources', label: `update ${r.type} without id: ${r.what}`, method: 'PUT', url: `/fhir/${r.type}/${id}`, headers: FHIR_JSON, payload: r.text, mustRefuse: true };
      }
    }
  );
}

// ---------------------------------------------------------------------------------------------
// Bundles: the mutated resource as an entry of a batch or a transaction.

function bundleCases(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  return fc.tuple(resourceText(f), fc.constantFrom('batch', 'transaction'), fc.boolean(), fc.nat(1_000_000)).map(([r, type, put, n]): FuzzCase => {
    const id = `fuzzb-${n}`;
    const good = `{"fullUrl":"urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}","resource":{"resourceType":"Basic","code":{"text":"fuzz"}},"request":{"method":"POST","url":"Basic"}}`;
    const request = put ? `{"method":"PUT","url":"${r.type}/${id}"}` : `{"method":"POST","url":"${r.type}"}`;
    const resource = put ? withId(r.text, id) : r.text;
    const text = `{"resourceType":"Bundle","type":"${type}","entry":[${good},{"resource":${resource},"request":${request}}]}`;
    const label = `${type} ${put ? 'PUT' : 'POST'} ${r.type}: ${r.what}`;
    const base = { category: 'bundles', label, method: 'POST', url: '/fhir', headers: FHIR_JSON, payload: text } as const;
    // A breach of the JSON rules is found when the Bundle text is parsed: the whole Bundle is refused.
    if (type === 'transaction' || r.jsonLevel) {
      return { ...base, mustRefuse: r.refuse };
    }
    return { ...base, mustRefuse: false, ...(r.refuse ? { refusedBatchEntry: 1 } : {}) };
  });
}

/** Bundles that are wrong as Bundles: type, entry requests, references between entries. */
function bundleShapeCases(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  const patient = '{"resourceType":"Patient","name":[{"family":"Bundel"}]}';
  const entry = (request: string, resource?: string, fullUrl?: string) =>
    `{${fullUrl ? `"fullUrl":${JSON.stringify(fullUrl)},` : ''}${resource ? `"resource":${resource},` : ''}"request":${request}}`;
  const shapes: Array<[string, string, boolean]> = [
    ['searchset posted', `{"resourceType":"Bundle","type":"searchset","entry":[${entry('{"method":"POST","url":"Patient"}', patient)}]}`, true],
    ['collection posted', `{"resourceType":"Bundle","type":"collection"}`, true],
    ['unknown type', `{"resourceType":"Bundle","type":"fuzz"}`, true],
    ['no type', `{"resourceType":"Bundle","entry":[${entry('{"method":"POST","url":"Patient"}', patient)}]}`, true],
    ['method junk', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"FUZZ","url":"Patient"}', patient)}]}`, true],
    ['method missing', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"url":"Patient"}', patient)}]}`, true],
    ['absolute foreign url', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"POST","url":"http://elders.example/fhir/Patient"}', patient)}]}`, true],
    ['dot-dot url', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"GET","url":"../Patient"}')}]}`, true],
    ['url with huge version', `{"resourceType":"Bundle","type":"transaction","entry":[${entry(`{"method":"GET","url":"Patient/${f.patientId}/_history/99999999999999999999"}`)}]}`, true],
    ['url with NUL', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"GET","url":"Patient?name=a%00b"}')}]}`, true],
    ['invalid date in a GET', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"GET","url":"Patient?birthdate=2023-02-30"}')}]}`, true],
    ['duplicate fullUrl', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"POST","url":"Patient"}', patient, 'urn:uuid:11111111-1111-4111-8111-111111111111')},${entry('{"method":"POST","url":"Patient"}', patient, 'urn:uuid:11111111-1111-4111-8111-111111111111')}]}`, true],
    ['fullUrl junk', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"POST","url":"Patient"}', patient, 'urn:uuid:not-a-uuid')}]}`, false],
    ['reference to a missing urn', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"POST","url":"Observation"}', '{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:22222222-2222-4222-8222-222222222222"}}')}]}`, true],
    ['conditional reference with an invalid date', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"POST","url":"Observation"}', '{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?birthdate=2023-02-30"}}')}]}`, true],
    ['conditional reference to nothing', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"POST","url":"Observation"}', '{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=urn:fuzz|none"}}')}]}`, true],
    ['ifNoneExist with an invalid date', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"POST","url":"Patient","ifNoneExist":"birthdate=2023-02-30"}', patient)}]}`, true],
    ['ifMatch junk', `{"resourceType":"Bundle","type":"transaction","entry":[${entry(`{"method":"PUT","url":"Patient/${f.patchTargetId}","ifMatch":"W/\\"abc\\""}`, `{"resourceType":"Patient","id":"${f.patchTargetId}"}`)}]}`, true],
    ['PATCH without Binary', `{"resourceType":"Bundle","type":"transaction","entry":[${entry(`{"method":"PATCH","url":"Patient/${f.patchTargetId}"}`, patient)}]}`, true],
    ['PATCH Binary with junk', `{"resourceType":"Bundle","type":"transaction","entry":[${entry(`{"method":"PATCH","url":"Patient/${f.patchTargetId}"}`, '{"resourceType":"Binary","contentType":"application/json-patch+json","data":"bm90IGpzb24="}')}]}`, true],
    ['nested Bundle entry', `{"resourceType":"Bundle","type":"transaction","entry":[${entry('{"method":"POST","url":"Bundle"}', '{"resourceType":"Bundle","type":"transaction"}')}]}`, false],
    ['empty transaction', '{"resourceType":"Bundle","type":"transaction"}', false],
    ['entry without request', `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":${patient}}]}`, true],
    ['many entries', `{"resourceType":"Bundle","type":"batch","entry":[${Array.from({ length: 40 }, () => entry('{"method":"GET","url":"Patient?_count=1"}')).join(',')}]}`, false],
  ];
  return anyOf(shapes).map(([what, payload, refuse]): FuzzCase => ({ category: 'bundles', label: `Bundle: ${what}`, method: 'POST', url: '/fhir', headers: FHIR_JSON, payload, mustRefuse: refuse }));
}

// ---------------------------------------------------------------------------------------------
// Search URLs.

type ParamType = 'date' | 'token' | 'string' | 'reference' | 'number' | 'quantity' | 'uri';

const SEARCH_PARAMS: Record<string, ReadonlyArray<[string, ParamType]>> = {
  Patient: [['name', 'string'], ['family', 'string'], ['birthdate', 'date'], ['gender', 'token'], ['identifier', 'token'], ['general-practitioner', 'reference'], ['active', 'token'], ['death-date', 'date']],
  Observation: [['code', 'token'], ['date', 'date'], ['subject', 'reference'], ['patient', 'reference'], ['value-quantity', 'quantity'], ['value-string', 'string'], ['status', 'token'], ['value-date', 'date']],
  Task: [['status', 'token'], ['owner', 'reference'], ['patient', 'reference'], ['authored-on', 'date'], ['modified', 'date'], ['period', 'date'], ['code', 'token']],
  CarePlan: [['date', 'date'], ['patient', 'reference'], ['status', 'token'], ['intent', 'token'], ['activity-date', 'date'], ['instantiates-canonical', 'reference']],
  QuestionnaireResponse: [['authored', 'date'], ['patient', 'reference'], ['questionnaire', 'reference'], ['status', 'token']],
  RiskAssessment: [['probability', 'number'], ['date', 'date']],
};
const COMMON: ReadonlyArray<[string, ParamType]> = [['_id', 'token'], ['_lastUpdated', 'date'], ['_profile', 'uri'], ['_tag', 'token']];

const modifiers = ['', '', '', ':missing', ':exact', ':contains', ':not', ':text', ':above', ':below', ':in', ':not-in', ':identifier', ':Patient', ':of-type', ':fuzz', ':', '::'];
const prefixes = ['', '', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', 'xx', 'EQ'];
const oddValues = ['', '%', '%zz', '%00', '%C0%AF', '%ED%A0%80', '%FF', 'a%2Cb', 'a,b', 'a\\,b', 'a$b', 'x|y|z', '|', '||', 'urn:x|', '%7C', '1e400', '-0', 'NaN', 'Infinity', '0x10', '%20', '..%2F..%2Fetc', "'%20OR%201=1--", 'Patient/', 'Patient/%00', '*'];

function valueFor(type: ParamType, f: FuzzFixture): fc.Arbitrary<{ value: string; refuse: boolean }> {
  const plain = (values: readonly string[]) => anyOf(values).map((value) => ({ value, refuse: false }));
  switch (type) {
    case 'date':
      return fc.oneof(
        fc.tuple(anyOf(prefixes), anyOf([...calendarInvalidDates, '2023-05-17T25:00', '2023-05-17T10:60', '2023-05-17T10:00:61Z', '2023-02-30T10:00:00Z'])).map(([p, d]) => ({ value: p + d, refuse: true })),
        fc.tuple(anyOf(prefixes), anyOf([...validDates, '2023-05-17T10:00', '2023-05-17T10:00:00+14:00', '2023-05-17T23:59:59.999Z', '2023-05-17T10:00:00%2B01:00'])).map(([p, d]) => ({ value: p + d, refuse: p === 'xx' || p === 'EQ' })),
        plain(oddValues)
      );
    case 'number':
      return fc.oneof(fc.tuple(anyOf(prefixes), fc.double({ noNaN: true, noDefaultInfinity: true })).map(([p, n]) => ({ value: p + String(n), refuse: false })), plain(oddValues));
    case 'quantity':
      return fc.oneof(plain(['5', 'gt5|http://unitsofmeasure.org|mg', '5||mg', 'lt-1e308', '1e400|x|y', 'ap0', '5|', '||']), plain(oddValues));
    case 'reference':
      return fc.oneof(plain([`Patient/${f.patientId}`, f.patientId, 'Patient/', 'Foo/1', 'Patient/x/_history/1', 'http://example.org/fhir/Patient/1', 'urn:uuid:x', `Patient/${'9'.repeat(70)}`]), plain(oddValues));
    case 'token':
    case 'string':
    case 'uri':
      return fc.oneof(plain(['a', 'http://x|y', 'male', 'true', 'x'.repeat(300)]), fc.string({ maxLength: 12 }).map((s) => ({ value: encodeURIComponent(s), refuse: false })), plain(oddValues));
  }
}

function searchParam(type: string, f: FuzzFixture): fc.Arbitrary<{ part: string; refuse: boolean }> {
  const params = [...(SEARCH_PARAMS[type] ?? []), ...COMMON];
  const simple = fc.tuple(anyOf(params), anyOf(modifiers)).chain(([[name, pt], modifier]) =>
    valueFor(pt, f).map(({ value, refuse }) => ({
      part: `${name}${modifier}=${value}`,
      // A refused value on a date parameter is refused whatever the modifier: a bad modifier is too.
      refuse: refuse && pt === 'date' && (modifier === '' || modifier === ':missing' || modifier === ':exact' || modifier === ':fuzz' || modifier === ':' || modifier === '::' || modifier === ':contains' || modifier === ':text'),
    }))
  );
  const chained = fc.tuple(anyOf(['subject', 'patient', 'subject:Patient', 'for', 'patient:Patient', 'fuzz', 'subject:Foo']), anyOf(['name', 'birthdate', 'gender', 'fuzz', 'general-practitioner.name', 'organization.name', '_id'])).chain(([ref, target]) =>
    (target === 'birthdate' ? valueFor('date', f) : fc.constant({ value: 'a', refuse: false })).map(({ value, refuse }) => ({ part: `${ref}.${target}=${value}`, refuse }))
  );
  const has = fc.constantFrom('_has:Observation:patient:code=x', '_has:Observation:subject:date=2023-02-30', '_has:Foo:bar:baz=1', '_has:Observation', '_has=1', '_has:Observation:patient:_has:Task:focus:status=draft').map((part) => ({ part, refuse: part.includes('2023-02-30') }));
  const control = fc.oneof(
    anyOf(['_count=-1', '_count=0', '_count=99999999999999999999', '_count=abc', '_count=1.5', '_count=', '_count=1&_count=2', '_count=1e3', '_count=10', '_offset=-1', '_offset=99999999999999999999']).map((part) => ({ part, refuse: false })),
    anyOf(['_sort=-date', '_sort=fuzz', '_sort=_id', '_sort=-_lastUpdated,birthdate', '_sort=', '_sort=,', '_sort=--date', '_sort=name:exact']).map((part) => ({ part, refuse: false })),
    anyOf(['_include=Observation:subject', '_include=*', '_include=Observation:fuzz', '_include=Foo:bar', '_include=Observation:subject:Patient', '_include=Observation:subject:Foo', '_include:iterate=Patient:general-practitioner', '_revinclude=Observation:subject', '_revinclude=*', '_include=', '_include=:', '_include=Observation:subject:Patient:x']).map((part) => ({ part, refuse: false })),
    anyOf(['_elements=name,fuzz', '_elements=', '_elements=,', '_elements=id', '_summary=true', '_summary=count', '_summary=data', '_summary=fuzz', '_total=accurate', '_total=fuzz', '_contained=true', '_format=xml', '_format=json', '_format=fuzz', '_pretty=true', '_type=Foo', '_text=x', '_content=x', '_list=x', '_query=fuzz', '_filter=name eq x']).map((part) => ({ part, refuse: false }))
  );
  return fc.oneof({ weight: 5, arbitrary: simple }, { weight: 2, arbitrary: chained }, { weight: 1, arbitrary: has }, { weight: 3, arbitrary: control });
}

function searchCases(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  return fc.tuple(anyOf(Object.keys(SEARCH_PARAMS)), fc.constantFrom('GET', 'POST'), fc.boolean()).chain(([type, method, system]) =>
    fc.array(searchParam(type, f), { minLength: 1, maxLength: 4 }).map((parts): FuzzCase => {
      const query = parts.map((p) => p.part).join('&');
      const refuse = parts.some((p) => p.refuse);
      const base = system ? `/fhir?_type=${type}&` : `/fhir/${type}?`;
      if (method === 'POST') {
        return {
          category: 'search',
          label: `POST _search ${type} ${query}`,
          method: 'POST',
          url: system ? '/fhir/_search' : `/fhir/${type}/_search`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: system ? `_type=${type}&${query}` : query,
          mustRefuse: refuse,
        };
      }
      return { category: 'search', label: `GET ${base}${query}`, method: 'GET', url: `${base}${query}`, headers: {}, mustRefuse: refuse };
    })
  );
}

// ---------------------------------------------------------------------------------------------
// Odd paths and methods.

function pathCases(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
  const segments = ['Patient', 'Observation', 'Foo', 'patient', '..', '.', '%2e%2e', '%2F', '_history', '_search', '$everything', '$fuzz', '$validate', '$progress', '$logbook', '$claim', '$evaluate-measure', '$expand', '$meta', 'metadata', '', '%00', '%ff', '%ED%A0%80', 'x'.repeat(65), '9'.repeat(25), f.patientId, '1', '-1', '$', '_', '~', 'Patient%3Fx=1', '%24everything', 'a b', '\u00e9'];
  const random = fc.tuple(anyOf(methods), fc.array(anyOf(segments), { minLength: 0, maxLength: 5 }), fc.boolean()).map(([method, parts, slash]): FuzzCase => ({
    category: 'paths',
    label: `${method} random path`,
    method,
    url: `/fhir/${parts.join('/')}${slash ? '/' : ''}`,
    headers: method === 'POST' || method === 'PUT' ? FHIR_JSON : method === 'PATCH' ? { 'content-type': 'application/json-patch+json' } : {},
    ...(method === 'POST' || method === 'PUT' ? { payload: '{"resourceType":"Basic","code":{"text":"x"}}' } : method === 'PATCH' ? { payload: '[]' } : {}),
    mustRefuse: false,
  }));
  const vread = anyOf(['99999999999999999999', '-1', '0', '1.5', 'abc', '1e3', '2', '%00', '', '9007199254740993', '2147483648']).map((vid): FuzzCase => ({
    category: 'paths',
    label: `vread version ${vid}`,
    method: 'GET',
    url: `/fhir/Patient/${f.patientId}/_history/${vid}`,
    headers: {},
    mustRefuse: vid !== '',
  }));
  const badIds = ['x'.repeat(65), '9'.repeat(100), 'a_b', 'a%00b', 'a%20b', '%E2%82%AC', 'a:b', 'a@b', "a'b"];
  const badId = fc.tuple(anyOf(['GET', 'DELETE', 'PUT', 'PATCH'] as const), anyOf(['Patient', 'Observation', 'Task']), anyOf(badIds), anyOf(['', '/_history', '/_history/1', '/$everything'])).map(([method, type, id, tail]): FuzzCase => ({
    category: 'paths',
    label: `${method} ${type} with an invalid id${tail}`,
    method,
    url: `/fhir/${type}/${id}${tail}`,
    headers: method === 'PUT' ? FHIR_JSON : method === 'PATCH' ? { 'content-type': 'application/json-patch+json' } : {},
    ...(method === 'PUT' ? { payload: JSON.stringify({ resourceType: type, id: decodeURIComponent(id) }) } : method === 'PATCH' ? { payload: '[]' } : {}),
    mustRefuse: true,
  }));
  const unknownType = fc.tuple(anyOf(['GET', 'POST', 'PUT', 'DELETE'] as const), anyOf(['Foo', 'Patients', 'PATIENT', 'Resource', 'DomainResource', 'Element']), anyOf(['', '/1', '/1/_history', '/_history', '/_search'])).map(([method, type, tail]): FuzzCase => ({
    category: 'paths',
    label: `${method} unknown type ${type}${tail}`,
    method,
    url: `/fhir/${type}${tail}`,
    headers: method === 'POST' || method === 'PUT' ? FHIR_JSON : {},
    ...(method === 'POST' || method === 'PUT' ? { payload: JSON.stringify({ resourceType: type, id: '1' }) } : {}),
    mustRefuse: true,
  }));
  const operations = fc.oneof(
    anyOf([
      [`/fhir/Patient/${f.patientId}/$everything?_since=2023-02-30T10:00:00Z`, true],
      [`/fhir/Patient/${f.patientId}/$everything?_since=2023-05-17T25:00:00Z`, true],
      [`/fhir/Patient/${f.patientId}/$everything?_since=fuzz`, true],
      [`/fhir/Patient/${f.patientId}/$everything?_count=99999999999999999999`, false],
      [`/fhir/Patient/${f.patientId}/$everything?_count=-1`, false],
      [`/fhir/Patient/${f.patientId}/$everything?_type=Foo`, false],
      [`/fhir/CarePlan/${f.carePlanId}/$progress?date=2023-02-30`, true],
      [`/fhir/CarePlan/${f.carePlanId}/$progress?date=2023-13-01`, true],
      [`/fhir/CarePlan/${f.carePlanId}/$progress?date=0001-01-01`, false],
      [`/fhir/CarePlan/${f.carePlanId}/$progress?date=9999-12-31`, false],
      [`/fhir/CarePlan/${f.carePlanId}/$logbook?date=ge2023-02-30`, true],
      [`/fhir/CarePlan/${f.carePlanId}/$logbook?_count=abc`, false],
      ['/fhir/Measure/pain-pdi-improvement/$evaluate-measure?periodStart=2023-02-30&periodEnd=2023-12-31', true],
      ['/fhir/Measure/pain-pdi-improvement/$evaluate-measure?periodStart=2023-01-01&periodEnd=2023-13-01', true],
      ['/fhir/Measure/pain-pdi-improvement/$evaluate-measure?periodStart=2023-12-31&periodEnd=2023-01-01', false],
      ['/fhir/Measure/pain-pdi-improvement/$evaluate-measure?periodStart=2023&periodEnd=2024', false],
      ['/fhir/Measure/$evaluate-measure?periodStart=2023-01-01&periodEnd=2023-12-31&measure=%00', false],
      ['/fhir/ValueSet/$expand?url=%00', false],
      ['/fhir/ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/administrative-gender&count=-1&offset=99999999999999999999', false],
      ['/fhir/ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/administrative-gender&filter=%ED%A0%80', false],
      ['/fhir/Task/fuzz-none/$claim', true],
      ['/fhir/Patient/$validate', false],
      ['/fhir/$fuzz', true],
      [`/fhir/Patient/${f.patientId}/$fuzz`, true],
    ] as Array<[string, boolean]>),
    fc.constant(['', false] as [string, boolean])
  ).filter(([url]) => url !== '').map(([url, refuse]): FuzzCase => ({ category: 'paths', label: `operation ${url}`, method: 'GET', url, headers: {}, mustRefuse: refuse }));
  const measure = '/fhir/Measure/pain-pdi-improvement/$evaluate-measure';
  const progress = `/fhir/CarePlan/${f.carePlanId}/$progress`;
  const opBodies = anyOf([
    [measure, '{"resourceType":"Parameters","parameter":[{"name":"periodStart","valueDate":"2023-02-30"},{"name":"periodEnd","valueDate":"2023-12-31"}]}', true],
    [measure, '{"resourceType":"Parameters","parameter":[{"name":"periodStart","valueDate":"2023-01-01"},{"name":"periodEnd","valueDate":"2023-13-01"}]}', true],
    [measure, '{"resourceType":"Parameters","parameter":[{"name":"periodStart","valueInteger":2147483648},{"name":"periodEnd","valueDate":"2023-12-31"}]}', true],
    [progress, '{"resourceType":"Parameters","parameter":[{"name":"date","valueDate":"2023-13-01"}]}', true],
    [progress, '{"resourceType":"Parameters","parameter":[{"name":"date","valueDate":"2023-02-29"}]}', true],
    [progress, '{"resourceType":"Parameters","parameter":[{"name":"date","valueDateTime":"2024-02-29T10:00:00Z"}]}', false],
    [progress, '{"resourceType":"Parameters"}', false],
    ['/fhir/Patient/$validate', '{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","birthDate":"2023-02-30"}}]}', false],
    ['/fhir/Patient/$validate', '{"resourceType":"Parameters","parameter":[{"name":"x"}]}', false],
    ['/fhir/Patient/$validate', '{"resourceType":"Patient","multipleBirthInteger":2147483648}', false],
    ['/fhir/PlanDefinition/fuzz/$apply', '{"resourceType":"Parameters","parameter":[{"name":"subject","valueString":"Patient/x"}]}', true],
    ['/fhir/ValueSet/$expand', '{"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":-5}]}', false],
    ['/fhir/ValueSet/$expand', '[]', true],
    [measure, '{"resourceType":"Patient"}', true],
  ] as Array<[string, string, boolean]>).map(([url, payload, refuse]): FuzzCase => ({ category: 'paths', label: `POST ${url} ${payload}`, method: 'POST', url, headers: FHIR_JSON, payload, mustRefuse: refuse }));
  const history = fc.tuple(
    anyOf(['/fhir/_history', '/fhir/Patient/_history', `/fhir/Patient/${f.patientId}/_history`]),
    anyOf<[string, boolean]>([
      ['_since=2023-02-30T10:00:00Z', true], ['_since=2023-13-01', true], ['_since=2023-05-17T25:00:00Z', true], ['_since=fuzz', true],
      ['_at=2023-02-29', true], ['_at=ge2023-01-01', false], ['_since=0001-01-01T00:00:00Z', false], ['_since=9999-12-31T23:59:59Z', false],
      ['_count=-1', false], ['_count=abc', false], ['_count=99999999999999999999', false], ['_since=2024-02-29T10:00:00%2B14:00', false],
    ])
  ).map(([url, [query, refuse]]): FuzzCase => ({ category: 'paths', label: `history ${query}`, method: 'GET', url: `${url}?${query}`, headers: {}, mustRefuse: refuse }));
  const conditional = fc.tuple(
    anyOf(['PUT', 'DELETE', 'PATCH'] as const),
    anyOf<[string, boolean]>([
      ['birthdate=2023-02-30', true], ['birthdate=2023-13-01', true], ['fuzz=1', true], ['identifier=urn:x|%00', true], ['', true],
      ['_id=does-not-exist', false], ['name:fuzz=x', true], ['_lastUpdated=gt2023-02-29', true], ['identifier=urn:fuzz|none', false],
    ])
  ).map(([method, [query, refuse]]): FuzzCase => ({
    category: 'paths',
    label: `conditional ${method} ${query}`,
    method,
    url: `/fhir/Patient?${query}`,
    headers: method === 'PATCH' ? { 'content-type': 'application/json-patch+json' } : method === 'PUT' ? FHIR_JSON : {},
    ...(method === 'PUT' ? { payload: '{"resourceType":"Patient","name":[{"family":"Voorwaarde"}]}' } : method === 'PATCH' ? { payload: '[{"op":"add","path":"/gender","value":"male"}]' } : {}),
    // A DELETE or PATCH whose criteria match nothing may succeed (http.html#cdelete); only criteria that cannot be read must fail.
    mustRefuse: refuse,
  }));
  const compartment = anyOf<[string, boolean]>([
    ['Observation?date=2023-02-30', true], ['Observation?date=ge2023-01-01', false], ['Foo', true], ['Observation?fuzz=1', true], ['Task?_count=-1', false], ['*', true], ['Observation?_include=Observation:subject', false],
  ]).map(([tail, refuse]): FuzzCase => ({ category: 'paths', label: `compartment ${tail}`, method: 'GET', url: `/fhir/Patient/${f.patientId}/${tail}`, headers: {}, mustRefuse: refuse }));
  return fc.oneof({ weight: 4, arbitrary: random }, { weight: 1, arbitrary: vread }, { weight: 2, arbitrary: badId }, { weight: 1, arbitrary: unknownType }, { weight: 2, arbitrary: operations }, { weight: 1, arbitrary: opBodies }, { weight: 1, arbitrary: history }, { weight: 1, arbitrary: conditional }, { weight: 1, arbitrary: compartment });
}

// ---------------------------------------------------------------------------------------------
// JSON Patch documents.

function patchCases(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  const paths = ['/gender', '/name/0/family', '/name/-', '/name/99', '/name/0/given/0', '/birthDate', '/a~1b', '/~0', '/~2', '/name/01', '/name/-1', '', '/', 'gender', '/extension/0/url', '/meta/versionId', '/id', '/resourceType', '/name/0/given/-', '/telecom', '/multipleBirthInteger', '/active'];
  const values: ReadonlyArray<unknown> = ['male', 'female', 'other', 'fuzz', '', null, 1, 2_147_483_648, -1, 1.5, true, [], {}, [{ family: 'X' }], { family: 'Y' }, '1990-01-01', '\ud800'];
  const value = fc.oneof(anyOf(values), anyOf(calendarInvalidDates), anyOf(validDates));
  const op = fc.record({
    op: anyOf(['add', 'remove', 'replace', 'move', 'copy', 'test', 'merge', '', 'ADD']),
    path: anyOf(paths),
    from: fc.option(anyOf(paths), { nil: undefined }),
    value: fc.option(value, { nil: undefined }),
  });
  const refuses = (o: { op: string; path: string; from: string | undefined; value: unknown }): boolean => {
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(o.op)) {
      return true;
    }
    if (o.path !== '' && !o.path.startsWith('/')) {
      return true;
    }
    const needsValue = o.op === 'add' || o.op === 'replace' || o.op === 'test';
    if (needsValue && o.value === undefined) {
      return true;
    }
    if ((o.op === 'move' || o.op === 'copy') && o.from === undefined) {
      return true;
    }
    // meta.versionId is the server's to set: a patch of it is overwritten, not refused.
    if (['/id', '/resourceType', ''].includes(o.path) && o.op !== 'test') {
      return true;
    }
    if ((o.op === 'add' || o.op === 'replace') && o.path === '/birthDate' && typeof o.value === 'string' && (calendarInvalidDates.includes(o.value) || o.value === '' || o.value === '\ud800')) {
      return true;
    }
    if ((o.op === 'add' || o.op === 'replace') && o.path === '/multipleBirthInteger' && (o.value === 2_147_483_648 || o.value === 1.5)) {
      return true;
    }
    return typeof o.value === 'string' && o.value === '\ud800';
  };
  const document = fc.array(op, { minLength: 1, maxLength: 3 }).map((ops): FuzzCase => {
    const clean = ops.map((o) => ({ op: o.op, path: o.path, ...(o.from !== undefined ? { from: o.from } : {}), ...(o.value !== undefined ? { value: o.value } : {}) }));
    return {
      category: 'patches',
      label: `PATCH ${JSON.stringify(clean)}`,
      method: 'PATCH',
      url: `/fhir/Patient/${f.patchTargetId}`,
      headers: { 'content-type': 'application/json-patch+json' },
      payload: JSON.stringify(clean),
      mustRefuse: ops.some(refuses) || ops.some((o) => o.op === 'test' && o.value === 'fuzz'),
    };
  });
  const raw = anyOf([
    '[{"op":"replace","path":"/gender","value":"male","value":"female"}]',
    '[{"op":"replace","op":"add","path":"/gender","value":"male"}]',
    '[{"op":"replace","path":"/gender","value":"\\u0000"}]',
    '[{"op":"replace","path":"/gender","value":"\\udfff"}]',
    '[{"op":"add","path":"/__proto__","value":{"x":1}}]',
    '[{"op":"add","path":"/name/0/constructor","value":1}]',
    '[{"op":"copy","from":"/name/0","path":"/name/0/given"}]',
    '[{"op":"move","from":"/name/0/family","path":"/name/0/family/x"}]',
    '[{"op":"add","path":"/name/0/family/x","value":1}]',
    '{"op":"add","path":"/gender","value":"male"}',
    '[[{"op":"add","path":"/gender","value":"male"}]]',
    '[null]',
    '',
    '[',
    '{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.gender"},{"name":"value","valueCode":"male"}]}]}',
  ]).map((payload): FuzzCase => ({
    category: 'patches',
    label: `PATCH raw ${payload}`,
    method: 'PATCH',
    url: `/fhir/Patient/${f.patchTargetId}`,
    headers: { 'content-type': 'application/json-patch+json' },
    payload,
    mustRefuse: true,
  }));
  const fhirPathPatch = fc.constant<FuzzCase>({
    category: 'patches',
    label: 'FHIRPath Patch (Parameters) with a FHIR JSON content type',
    method: 'PATCH',
    url: `/fhir/Patient/${f.patchTargetId}`,
    headers: FHIR_JSON,
    payload: '{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.birthDate"},{"name":"value","valueDate":"2023-02-30"}]}]}',
    mustRefuse: true,
  });
  return fc.oneof({ weight: 6, arbitrary: document }, { weight: 2, arbitrary: raw }, { weight: 1, arbitrary: fhirPathPatch });
}

// ---------------------------------------------------------------------------------------------
// Odd headers.

function headerCases(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  const contentTypes: Array<[string, boolean]> = [
    ['text/plain', true], ['application/xml', false], ['application/fhir+xml', false], ['application/fhir+json; charset=latin1', true], ['application/fhir+json; charset=utf-8', false],
    ['application/fhir+json;fhirVersion=3.0', false], ['multipart/form-data; boundary=x', true], ['application/x-www-form-urlencoded', true], ['application/json-patch+json', true], ['*/*', true], ['application/', true], ['fuzz', true], [';;;', true],
  ];
  const ifMatch: Array<[string, boolean]> = [['W/"abc"', true], ['*', false], ['"99999999999999999999"', true], ['W/"-1"', true], ['W/"1", W/"2"', true], ['W/""', true], ['W/"1.5"', true], ['W/"2147483648"', true], ['', false], ['W/"0"', true]];
  const noneMatch = ['*', 'W/"1"', 'W/"abc"', '"', 'fuzz', ''];
  const ifNoneExist: Array<[string, boolean]> = [['birthdate=2023-02-30', true], ['fuzz=1', true], ['identifier=x', false], ['', false], ['_id=%00', true], ['birthdate=2023-13-01', true]];
  const prefer = ['return=minimal', 'return=representation', 'return=OperationOutcome', 'return=fuzz', 'handling=strict', 'handling=lenient', 'handling=fuzz', 'respond-async', ';;;', 'return=', 'return=representation, handling=strict', 'wait=99999999999999999999'];
  const accept = ['application/fhir+xml', 'application/xml', 'text/html', 'fuzz', '*/*;q=0', 'application/fhir+json;fhirVersion=9.9', ''];
  const body = '{"resourceType":"Patient","name":[{"family":"Kop"}]}';
  return fc.oneof(
    anyOf(contentTypes).map(([ct, refuse]): FuzzCase => ({ category: 'headers', label: `create with content-type ${ct}`, method: 'POST', url: '/fhir/Patient', headers: { 'content-type': ct }, payload: body, mustRefuse: refuse })),
    fc.tuple(anyOf(ifMatch), anyOf(['PUT', 'PATCH', 'DELETE'] as const)).map(([[value, refuse], method]): FuzzCase => ({
      category: 'headers',
      label: `${method} with If-Match ${value}`,
      method,
      url: `/fhir/Patient/${f.patchTargetId}`,
      headers: { 'if-match': value, 'content-type': method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json' },
      ...(method === 'PUT' ? { payload: JSON.stringify({ resourceType: 'Patient', id: f.patchTargetId, name: [{ family: 'Kop' }] }) } : method === 'PATCH' ? { payload: '[{"op":"test","path":"/id","value":"' + f.patchTargetId + '"}]' } : {}),
      // A DELETE of the patch target would spoil the other cases: only junk that must fail is sent.
      mustRefuse: refuse,
    })).filter((c) => c.method !== 'DELETE' || c.mustRefuse),
    anyOf(noneMatch).map((value): FuzzCase => ({ category: 'headers', label: `read with If-None-Match ${value}`, method: 'GET', url: `/fhir/Patient/${f.patientId}`, headers: { 'if-none-match': value }, mustRefuse: false })),
    anyOf(ifNoneExist).map(([value, refuse]): FuzzCase => ({ category: 'headers', label: `create with If-None-Exist ${value}`, method: 'POST', url: '/fhir/Patient', headers: { ...FHIR_JSON, 'if-none-exist': value }, payload: body, mustRefuse: refuse })),
    fc.tuple(anyOf(prefer), fc.boolean()).map(([value, search]): FuzzCase => ({
      category: 'headers',
      label: `${search ? 'search' : 'create'} with Prefer ${value}`,
      method: search ? 'GET' : 'POST',
      url: search ? '/fhir/Patient?fuzz=1' : '/fhir/Patient',
      headers: search ? { prefer: value } : { ...FHIR_JSON, prefer: value },
      ...(search ? {} : { payload: body }),
      // An unknown search parameter is refused unless the client asks for lenient handling.
      mustRefuse: search && !value.includes('handling=lenient'),
    })),
    anyOf(accept).map((value): FuzzCase => ({ category: 'headers', label: `read with Accept ${value}`, method: 'GET', url: `/fhir/Patient/${f.patientId}`, headers: { accept: value }, mustRefuse: false }))
  );
}

/** Every kind of case, weighted roughly as the surface they cover. */
export function fuzzCase(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  return fc.oneof(
    { weight: 5, arbitrary: resourceCases(f) },
    { weight: 2, arbitrary: bundleCases(f) },
    { weight: 1, arbitrary: bundleShapeCases(f) },
    { weight: 4, arbitrary: searchCases(f) },
    { weight: 3, arbitrary: pathCases(f) },
    { weight: 3, arbitrary: patchCases(f) },
    { weight: 2, arbitrary: headerCases(f) }
  );
}

const STACK_FRAME = /\n\s+at \S|\bat (?:async )?\S+ \((?:file:|node:|\/)|\.(?:ts|js):\d+:\d+/;
const SQL = /\b(?:SELECT\s.+\sFROM|INSERT INTO|UPDATE\s+\S+\s+SET|DELETE FROM|syntax error at or near|relation "[^"]+" does not exist|violates (?:unique|check|foreign key) constraint|invalid input syntax for|PGlite|node_modules)\b/i;

/** What is wrong with the server's answer to a case; empty when nothing is. */
export function judge(c: FuzzCase, status: number, body: string): string[] {
  const problems: string[] = [];
  if (status >= 500) {
    problems.push(`status ${status}`);
  }
  if (STACK_FRAME.test(body)) {
    problems.push('a stack trace in the body');
  }
  if (SQL.test(body)) {
    problems.push('SQL or internals in the body');
  }
  let json: { resourceType?: string; entry?: Array<{ response?: { status?: string } }> } | undefined;
  try {
    // `_format=xml` or an XML Accept gets the answer, errors included, in FHIR XML.
    json = body === '' ? undefined : ((body.trimStart().startsWith('<') ? parseFhirXml(body, { maxDepth: 64 }) : JSON.parse(body)) as typeof json);
  } catch {
    json = undefined;
  }
  if (c.mustRefuse && !(status >= 400 && status < 500)) {
    problems.push(`accepted (${status}) though it must be refused`);
  }
  if (status >= 400 && c.method !== 'HEAD' && json?.resourceType !== 'OperationOutcome') {
    problems.push(`a ${status} without an OperationOutcome`);
  }
  if (c.refusedBatchEntry !== undefined && status === 200) {
    const entryStatus = json?.entry?.[c.refusedBatchEntry]?.response?.status ?? '';
    if (!/^4\d\d/.test(entryStatus)) {
      problems.push(`batch entry ${c.refusedBatchEntry} accepted (${entryStatus}) though it must be refused`);
    }
  }
  for (const entry of json?.entry ?? []) {
    if (/^5\d\d/.test(entry.response?.status ?? '')) {
      problems.push(`a batch entry answered ${entry.response?.status ?? ''}`);
    }
  }
  return problems;
}
