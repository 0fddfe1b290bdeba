/**
 * Search criteria parsing (https://hl7.org/fhir/R4/search.html): parameter names with modifiers,
 * chains (`subject:Patient.name`, `subject.name`) and reverse chains (`_has:Task:focus:status`).
 * Values stay text here; the SQL builders parse them by type. Repeated parameters are separate
 * criteria (AND), a comma separates alternatives of one criterion (OR).
 */
import { isR4ResourceType } from '../fhir/definitions.js';
import { badRequest, notSupported } from '../fhir/outcomes.js';
import { paramForTypes, searchParam, type SearchParam } from './parameters.js';
import { splitEscaped } from './text.js';

export interface Leaf {
  readonly kind: 'leaf';
  /** The parameter name as the client wrote it, for errors. */
  readonly name: string;
  readonly param: SearchParam;
  readonly modifier: string | undefined;
  /** Alternatives (OR), still escaped except for commas. */
  readonly values: readonly string[];
}

export interface Chain {
  readonly kind: 'chain';
  readonly name: string;
  readonly param: SearchParam;
  /** One branch per target type on which the rest of the chain is defined. */
  readonly branches: ReadonlyArray<{ readonly type: string; readonly next: Criterion }>;
}

export interface Has {
  readonly kind: 'has';
  readonly name: string;
  /** The type that holds the reference (`Task` in `_has:Task:focus:status`). */
  readonly sourceType: string;
  readonly param: SearchParam;
  readonly next: Criterion;
}

export type Criterion = Leaf | Chain | Has;

/** Modifiers each parameter type accepts (search.html#modifiers), besides :missing. */
const MODIFIERS: Record<string, readonly string[]> = {
  string: ['exact', 'contains'],
  token: ['not', 'text', 'of-type', 'in', 'not-in'],
  reference: ['identifier'],
  uri: ['below', 'above'],
  date: [],
  number: [],
  quantity: [],
  composite: [],
};

/** Modifiers the spec defines that this server does not implement: 400 not-supported. */
const UNSUPPORTED_MODIFIERS = new Set(['below', 'above', 'type', 'iterate']);

function unknownParameter(name: string, types: readonly string[] | undefined): never {
  const where = types === undefined ? 'every resource type' : types.join(', ');
  throw badRequest(`Unknown search parameter "${name}" for ${where}`, name);
}

function checkModifier(param: SearchParam, modifier: string | undefined, name: string, value: string): void {
  if (modifier === undefined) {
    return;
  }
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') {
      throw badRequest(`${name} takes true or false`, name);
    }
    return;
  }
  if (param.column === 'id') {
    throw notSupported(`Modifier :${modifier} is not supported on _id`, name);
  }
  if (param.type === 'reference' && isR4ResourceType(modifier)) {
    if (param.targets.length > 0 && !param.targets.includes(modifier)) {
      throw badRequest(`${param.code} cannot refer to ${modifier}`, name);
    }
    return;
  }
  if ((MODIFIERS[param.type] ?? []).includes(modifier)) {
    return;
  }
  if (UNSUPPORTED_MODIFIERS.has(modifier)) {
    throw notSupported(`Modifier :${modifier} is not supported on ${param.type} parameter ${param.code}`, name);
  }
  throw badRequest(`Unknown modifier :${modifier} on ${param.type} parameter ${param.code}`, name);
}

function parseHas(types: readonly string[] | undefined, name: string, rest: string, value: string): Has {
  // _has:Type:reference-param:rest (search.html#has)
  const [sourceType, refCode, ...tail] = rest.split(':');
  if (!sourceType || !refCode || tail.length === 0 || !isR4ResourceType(sourceType)) {
    throw badRequest(`${name} must read _has:Type:reference:parameter`, name);
  }
  const param = searchParam(sourceType, refCode);
  if (!param || param.type !== 'reference') {
    throw badRequest(`${sourceType} has no reference parameter "${refCode}"`, name);
  }
  if (types !== undefined && param.targets.length > 0 && !types.some((t) => param.targets.includes(t))) {
    throw badRequest(`${sourceType}.${refCode} cannot refer to ${types.join(', ')}`, name);
  }
  return { kind: 'has', name, sourceType, param, next: parseName([sourceType], tail.join(':'), value, name) };
}

function parseChain(types: readonly string[] | undefined, head: string, tail: string, value: string, fullName: string): Chain {
  const [code, modifier] = head.split(':', 2) as [string, string | undefined];
  const param = paramForTypes(types, code);
  if (!param) {
    unknownParameter(code, types);
  }
  if (param.type !== 'reference') {
    throw badRequest(`${code} is not a reference parameter and cannot be chained`, fullName);
  }
  if (modifier !== undefined && (!isR4ResourceType(modifier) || (param.targets.length > 0 && !param.targets.includes(modifier)))) {
    throw badRequest(`${code} cannot refer to ${modifier}`, fullName);
  }
  const targets = modifier !== undefined ? [modifier] : param.targets.filter(isR4ResourceType);
  const branches: Array<{ type: string; next: Criterion }> = [];
  let lastError: Error | undefined;
  for (const type of targets) {
    try {
      branches.push({ type, next: parseName([type], tail, value, fullName) });
    } catch (error) {
      // Untyped chains search every target type on which the rest is defined.
      lastError = error instanceof Error ? error : lastError;
    }
  }
  if (branches.length === 0) {
    throw lastError ?? badRequest(`${code} has no target types`, fullName);
  }
  return { kind: 'chain', name: fullName, param, branches };
}

function parseName(types: readonly string[] | undefined, name: string, value: string, fullName: string): Criterion {
  if (name.startsWith('_has:')) {
    return parseHas(types, fullName, name.slice(5), value);
  }
  const dot = name.indexOf('.');
  if (dot !== -1) {
    return parseChain(types, name.slice(0, dot), name.slice(dot + 1), value, fullName);
  }
  const colon = name.indexOf(':');
  const code = colon === -1 ? name : name.slice(0, colon);
  const modifier = colon === -1 ? undefined : name.slice(colon + 1);
  const param = paramForTypes(types, code);
  if (!param) {
    unknownParameter(code, types);
  }
  checkModifier(param, modifier, fullName, value);
  return { kind: 'leaf', name: fullName, param, modifier, values: splitEscaped(value, ',') };
}

/** One query parameter as a criterion over resources of the given types (all when undefined). */
export function parseCriterion(types: readonly string[] | undefined, name: string, value: string): Criterion {
  return parseName(types, name, value, name);
}
