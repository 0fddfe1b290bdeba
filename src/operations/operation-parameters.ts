/**
 * Operation input parameters (https://hl7.org/fhir/R4/operations.html#request), read by the
 * operation's own OperationDefinition: its `parameter` entries with use `in` (name, min, max, type,
 * part) are the only parameters there are. They come from the URL query, or from a Parameters body
 * when the operation is POSTed, and are checked before the handler runs (interactions/operation.ts):
 * - a name the definition does not declare: 400 `invalid` (ignored with Prefer: handling=lenient,
 *   as search does, https://hl7.org/fhir/R4/search.html#errors);
 * - a required one (min >= 1) missing: 400 `required`;
 * - more occurrences than max: 400 `invalid`;
 * - a value that is not of the declared type (integer, date, boolean…): 400 `value`;
 * each with the parameter's name as expression. A primitive value is read as text, a Reference as
 * its `reference`; a declared resource parameter takes a resource, one with parts takes parts.
 * ($validate's body is the resource itself when it is not a Parameters: resource-validate.ts.)
 */
import type { OperationDefinition, OperationDefinitionParameter, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { isCalendarDate } from '../fhir/dates.js';
import { isR4ResourceType } from '../fhir/definitions.js';
import { badRequestIssues, issue } from '../fhir/outcomes.js';
import type { FhirRequest, QueryParams } from '../fhir/request.js';

/** The checked input of one invocation: name/value pairs in order, the query's first. */
export interface OperationInput {
  /** Every pair in order (for inputs that repeat, such as search parameters). */
  readonly pairs: QueryParams;
  /** The first value of a parameter, the body's before the query's; undefined when absent. */
  value(name: string): string | undefined;
  /** Every value of a parameter, in order. */
  values(name: string): string[];
  /** A parameter carrying a resource in the Parameters body (type Resource or a resource type). */
  resource(name: string): unknown;
}

/** FHIR primitive types as text (https://hl7.org/fhir/R4/datatypes.html#primitive). */
const DATE = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;
const DATE_TIME = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d+)?)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))?)?)?)?$/;
const PRIMITIVE_TEXT: Readonly<Record<string, RegExp>> = {
  boolean: /^(true|false)$/,
  integer: /^(0|-?[1-9]\d{0,9})$/,
  unsignedInt: /^(0|[1-9]\d{0,9})$/,
  positiveInt: /^[1-9]\d{0,9}$/,
  decimal: /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/,
  date: DATE,
  // An instant is a full dateTime with a zone; a date or dateTime is taken as its start, as search does.
  dateTime: DATE_TIME,
  instant: DATE_TIME,
  time: /^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?$/,
  code: /^\S+( \S+)*$/,
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  uri: /^\S+$/,
  url: /^\S+$/,
  canonical: /^\S+$/,
  oid: /^urn:oid:[0-2](\.(0|[1-9]\d*))+$/,
  uuid: /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
};

type Occurrence = {
  readonly name: string;
  readonly text?: string;
  /** The value[x] element a body parameter used (`valueDate`); undefined for the query. */
  readonly valueKey?: string;
  readonly source: ParametersParameter | undefined;
};

/** Types whose values stand for one another in a body (all URIs). */
const URI_TYPES: ReadonlySet<string> = new Set(['uri', 'url', 'canonical', 'oid', 'uuid']);

/**
 * Whether a body parameter's value[x] fits the declared type: its own type, a string (the same
 * text a query carries), a Reference where the definition asks for a string reference
 * (`Patient/{id}`), or another kind of URI for a URI.
 */
function valueKeyFits(valueKey: string, type: string): boolean {
  const used = valueKey.slice('value'.length);
  const usedType = used.charAt(0).toLowerCase() + used.slice(1);
  return (
    usedType === type ||
    usedType === 'string' ||
    (usedType === 'reference' && type === 'string') ||
    (URI_TYPES.has(usedType) && URI_TYPES.has(type))
  );
}

function isResourceType(type: string | undefined): boolean {
  return type === 'Resource' || (type !== undefined && isR4ResourceType(type));
}

function anchored(pattern: RegExp, text: string): boolean {
  const match = pattern.exec(text);
  return match !== null && match[0] === text;
}

const DATE_TYPES: ReadonlySet<string> = new Set(['date', 'dateTime', 'instant']);

/** The text fits the primitive type; a full date must also be a day of the calendar (no 2023-02-29). */
function fitsPrimitive(type: string, text: string): boolean {
  const pattern = PRIMITIVE_TEXT[type];
  if (pattern !== undefined && !anchored(pattern, text)) {
    return false;
  }
  const day = /^\d{4}-\d{2}-\d{2}/.exec(text)?.[0];
  return !DATE_TYPES.has(type) || day === undefined || isCalendarDate(day);
}

/** A body parameter's primitive value as text, or a Reference's `reference`; undefined otherwise. */
function bodyValue(parameter: ParametersParameter): { text: string; valueKey: string } | undefined {
  for (const [key, value] of Object.entries(parameter)) {
    if (!key.startsWith('value')) {
      continue;
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return { text: String(value), valueKey: key };
    }
    const reference = key === 'valueReference' ? (value as { reference?: unknown }).reference : undefined;
    if (typeof reference === 'string') {
      return { text: reference, valueKey: key };
    }
  }
  return undefined;
}

function invalid(code: 'invalid' | 'required' | 'value', text: string, expression: string): ReturnType<typeof issue> {
  return issue({ code, text, expression });
}

/** The issues of the occurrences of one declared parameter; `path` names it (part.name for parts). */
function checkDeclared(declared: OperationDefinitionParameter, found: readonly Occurrence[], path: string, problems: ReturnType<typeof issue>[]): void {
  if (found.length < declared.min) {
    problems.push(invalid('required', `Parameter ${path} is required`, path));
  }
  // Counted per source: a POST may repeat a query parameter in its body, and the body's value
  // counts (as it did before the definition was the source; resource-validate.ts relies on it).
  const inQuery = found.filter((o) => o.source === undefined).length;
  if (declared.max !== '*' && Math.max(inQuery, found.length - inQuery) > Number(declared.max)) {
    problems.push(invalid('invalid', `Parameter ${path} may occur at most ${declared.max} time(s)`, path));
  }
  for (const occurrence of found) {
    if (declared.part !== undefined && declared.part.length > 0) {
      if (occurrence.source?.part === undefined) {
        problems.push(invalid('invalid', `Parameter ${path} takes parts (${declared.part.map((p) => p.name).join(', ')})`, path));
      } else {
        checkAll(declared.part, occurrence.source.part.map(fromBody), path, false, problems);
      }
      continue;
    }
    if (isResourceType(declared.type)) {
      const resource = occurrence.source?.resource;
      if (resource === undefined || (declared.type !== 'Resource' && resource.resourceType !== declared.type)) {
        problems.push(invalid('value', `Parameter ${path} takes a ${declared.type ?? 'Resource'} resource`, path));
      }
      continue;
    }
    if (occurrence.text === undefined) {
      problems.push(invalid('invalid', `Parameter ${path} needs a primitive or Reference value`, path));
      continue;
    }
    const type = declared.type;
    const fits = type === undefined || ((occurrence.valueKey === undefined || valueKeyFits(occurrence.valueKey, type)) && fitsPrimitive(type, occurrence.text));
    if (!fits || occurrence.text === '') {
      problems.push(invalid('value', `Parameter ${path} must be of type ${declared.type ?? 'string'}`, path));
    }
  }
}

function fromBody(parameter: ParametersParameter): Occurrence {
  const value = bodyValue(parameter);
  return { name: parameter.name, ...(value ?? {}), source: parameter };
}

function checkAll(
  declared: readonly OperationDefinitionParameter[],
  found: readonly Occurrence[],
  prefix: string,
  lenient: boolean,
  problems: ReturnType<typeof issue>[]
): void {
  const names = new Set(declared.map((p) => p.name));
  for (const occurrence of found) {
    if (!names.has(occurrence.name) && !lenient) {
      const path = prefix === '' ? occurrence.name : `${prefix}.${occurrence.name}`;
      problems.push(invalid('invalid', `Unknown parameter ${path}`, path));
    }
  }
  for (const parameter of declared) {
    const path = prefix === '' ? parameter.name : `${prefix}.${parameter.name}`;
    checkDeclared(parameter, found.filter((o) => o.name === parameter.name), path, problems);
  }
}

/**
 * The Parameters body of the request, when it carries the operation's inputs. A body of another
 * type is refused, except the resource of an operation whose input is a resource parameter named
 * `resource` ($validate), and a Parameters posted to Parameters/$validate without a `resource`
 * parameter, which is that resource.
 */
function parametersBody(request: FhirRequest, definition: OperationDefinition): Parameters | undefined {
  const body = request.body as { resourceType?: string } | undefined;
  if (body === undefined) {
    return undefined;
  }
  const takesResource = (definition.parameter ?? []).some((p) => p.use === 'in' && p.name === 'resource' && isResourceType(p.type));
  if (body.resourceType !== 'Parameters') {
    if (takesResource) {
      return undefined;
    }
    throw badRequestIssues([issue({ code: 'invalid', text: `$${definition.code} takes a Parameters body` })]);
  }
  const parameters = body as Parameters;
  if (takesResource && request.resourceType === 'Parameters' && !(parameters.parameter ?? []).some((p) => p.name === 'resource')) {
    return undefined;
  }
  return parameters;
}

/** Reads and checks the input parameters of an invocation against its OperationDefinition. */
export function operationInput(request: FhirRequest, definition: OperationDefinition): OperationInput {
  const declared = (definition.parameter ?? []).filter((p) => p.use === 'in');
  const body = parametersBody(request, definition);
  const found: Occurrence[] = [
    ...request.query.map(([name, value]): Occurrence => ({ name, text: value, source: undefined })),
    ...(body?.parameter ?? []).map(fromBody),
  ];
  const problems: ReturnType<typeof issue>[] = [];
  checkAll(declared, found, '', request.prefer.handling === 'lenient', problems);
  if (problems.length > 0) {
    throw badRequestIssues(problems);
  }
  const known = new Set(declared.map((p) => p.name));
  const usable = found.filter((o): o is Occurrence & { text: string } => known.has(o.name) && o.text !== undefined);
  const pairs: QueryParams = usable.map((o) => [o.name, o.text] as const);
  const fromBodyFirst = [...usable.filter((o) => o.source !== undefined), ...usable.filter((o) => o.source === undefined)].map(
    (o) => [o.name, o.text] as const
  );
  return {
    pairs,
    value: (name) => fromBodyFirst.find(([key]) => key === name)?.[1],
    values: (name) => pairs.filter(([key]) => key === name).map(([, value]) => value),
    resource: (name) => found.find((o) => o.name === name)?.source?.resource,
  };
}
