/**
 * An OpenAPI 3.1 description (https://spec.openapis.org/oas/v3.1.0) of the FHIR REST API, derived
 * from the CapabilityStatement object and nothing else but the OperationDefinitions it names (for
 * levels and parameters) and the scopes of the SMART configuration: what the statement claims is
 * exactly what the document describes, so the two cannot disagree. URL shapes follow
 * https://hl7.org/fhir/R4/http.html and src/fhir/routes.ts; operations follow
 * https://hl7.org/fhir/R4/operations.html#executing (GET only when nothing changes and every
 * in-parameter is primitive; POST with a Parameters body always).
 * Shared parts (path parameters, search parameters, responses) are components referenced by every
 * path, which keeps the document compact.
 */
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceOperation,
  CapabilityStatementRestResourceSearchParam,
  OperationDefinition,
  OperationDefinitionParameter,
} from '@medplum/fhirtypes';

/** A JSON object of the OpenAPI document; its shape is checked by the OpenAPI 3.1 schema in the tests. */
export type OpenApiObject = { [key: string]: unknown };

export interface OpenApiInput {
  readonly statement: CapabilityStatement;
  /** The OperationDefinition a statement's operation entry names by its canonical URL. */
  readonly operationDefinition: (url: string) => OperationDefinition | undefined;
  /** scopes_supported of /.well-known/smart-configuration. */
  readonly scopes: readonly string[];
}

const FHIR_JSON = 'application/fhir+json';
const ERROR_STATUSES = ['400', '401', '403', '404', '409', '410', '412', '422', '503'] as const;
type ErrorStatus = (typeof ERROR_STATUSES)[number];

const ERROR_TEXT: Record<ErrorStatus, string> = {
  '400': 'Bad request: malformed input or an unknown parameter',
  '401': 'No valid bearer token',
  '403': 'The token does not allow this interaction',
  '404': 'Not found, or outside the care relationship of the caller',
  '409': 'Conflict (a concurrent write or a version conflict)',
  '410': 'Gone: the resource was deleted',
  '412': 'Precondition failed (If-Match, or a conditional interaction matching more than one)',
  '422': 'The resource does not validate against its profile or a business rule',
  '503': 'Temporarily unavailable (overload, or the audit log cannot be written)',
};

/** Error statuses per kind of interaction; every one may answer 400, 401, 403 and 503. */
const COMMON_ERRORS: readonly ErrorStatus[] = ['400', '401', '403', '503'];
const ERRORS = {
  read: ['404', '410'],
  search: [],
  create: ['409', '412', '422'],
  update: ['409', '412', '422'],
  patch: ['404', '409', '410', '412', '422'],
  delete: ['404', '409', '412'],
  history: ['404', '410'],
  all: ['404', '409', '410', '412', '422'],
} as const satisfies Record<string, readonly ErrorStatus[]>;

function ref(kind: 'parameters' | 'responses' | 'schemas' | 'requestBodies', name: string): { $ref: string } {
  return { $ref: `#/components/${kind}/${name}` };
}

/** Component keys must match ^[a-zA-Z0-9.\-_]+$ (OpenAPI 3.1 §4.8.7.1). */
function componentKey(...parts: string[]): string {
  return parts.join('.').replace(/[^a-zA-Z0-9.\-_]/g, '_');
}

function responses(success: Record<string, { $ref: string }>, errors: readonly ErrorStatus[]): OpenApiObject {
  const all = new Set<ErrorStatus>([...COMMON_ERRORS, ...errors]);
  const answer: OpenApiObject = { ...success };
  for (const status of ERROR_STATUSES) {
    if (all.has(status)) {
      answer[status] = ref('responses', `Error${status}`);
    }
  }
  return answer;
}

function fhirContent(schema: string): OpenApiObject {
  return { [FHIR_JSON]: { schema: ref('schemas', schema) } };
}

function schemas(types: readonly string[]): OpenApiObject {
  return {
    // A FHIR resource in JSON (https://hl7.org/fhir/R4/json.html); its full structure is the
    // profile the CapabilityStatement names per type.
    Resource: {
      type: 'object',
      required: ['resourceType'],
      properties: { resourceType: { type: 'string', enum: [...types] }, id: { type: 'string' }, meta: { type: 'object' } },
      additionalProperties: true,
    },
    Bundle: {
      type: 'object',
      required: ['resourceType', 'type'],
      properties: {
        resourceType: { const: 'Bundle' },
        type: { type: 'string' },
        total: { type: 'integer' },
        link: { type: 'array', items: { type: 'object' } },
        entry: { type: 'array', items: { type: 'object' } },
      },
      additionalProperties: true,
    },
    OperationOutcome: {
      type: 'object',
      required: ['resourceType', 'issue'],
      properties: {
        resourceType: { const: 'OperationOutcome' },
        issue: {
          type: 'array',
          items: {
            type: 'object',
            required: ['severity', 'code'],
            properties: { severity: { type: 'string' }, code: { type: 'string' }, diagnostics: { type: 'string' }, expression: { type: 'array', items: { type: 'string' } } },
          },
        },
      },
      additionalProperties: true,
    },
    Parameters: {
      type: 'object',
      required: ['resourceType'],
      properties: { resourceType: { const: 'Parameters' }, parameter: { type: 'array', items: { type: 'object' } } },
      additionalProperties: true,
    },
    // RFC 6902, the patch format of the CapabilityStatement (patchFormat).
    JsonPatch: {
      type: 'array',
      items: { type: 'object', required: ['op', 'path'], properties: { op: { type: 'string' }, path: { type: 'string' }, from: { type: 'string' }, value: {} } },
    },
  };
}

function sharedResponses(): OpenApiObject {
  const answer: OpenApiObject = {
    Resource: { description: 'The resource', headers: { ETag: { description: 'W/"versionId"', schema: { type: 'string' } } }, content: fhirContent('Resource') },
    Created: {
      description: 'Created (the body follows Prefer: return)',
      headers: { Location: { schema: { type: 'string' } }, ETag: { schema: { type: 'string' } } },
      content: fhirContent('Resource'),
    },
    Bundle: { description: 'A Bundle (searchset, history, batch-response or transaction-response)', content: fhirContent('Bundle') },
    OperationOutcome: { description: 'Done; the outcome describes it', content: fhirContent('OperationOutcome') },
    OperationResult: { description: 'The result of the operation (a resource, a Bundle or Parameters)', content: fhirContent('Resource') },
    NoContent: { description: 'Done, nothing to return' },
    NotModified: { description: 'The copy named by If-None-Match is current' },
  };
  for (const status of ERROR_STATUSES) {
    answer[`Error${status}`] = { description: ERROR_TEXT[status], content: fhirContent('OperationOutcome') };
  }
  return answer;
}

function sharedParameters(): OpenApiObject {
  const path = (name: string, description: string): OpenApiObject => ({ name, in: 'path', required: true, description, schema: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' } });
  const header = (name: string, description: string): OpenApiObject => ({ name, in: 'header', required: false, description, schema: { type: 'string' } });
  const query = (name: string, description: string): OpenApiObject => ({ name, in: 'query', required: false, description, schema: { type: 'string' } });
  return {
    id: path('id', 'Logical id of the resource'),
    vid: path('vid', 'Version id (meta.versionId)'),
    _format: query('_format', 'json, xml, application/fhir+json or application/fhir+xml (overrides Accept)'),
    _pretty: { ...query('_pretty', 'Indent the answer'), schema: { type: 'boolean' } },
    _summary: query('_summary', 'true, text, data, count or false (search.html#summary)'),
    _elements: query('_elements', 'Comma-separated elements to return (search.html#elements)'),
    _count: { ...query('_count', 'Page size'), schema: { type: 'integer', minimum: 0 } },
    _since: query('_since', 'Only versions after this instant (history)'),
    _at: query('_at', 'Only versions current at this instant (history)'),
    _sort: query('_sort', 'Sort order: comma-separated search parameters, - for descending'),
    _include: query('_include', 'Also return resources these references point to (SourceType:param[:TargetType])'),
    _revinclude: query('_revinclude', 'Also return resources that point to the matches (SourceType:param[:TargetType])'),
    _total: query('_total', 'none, estimate or accurate'),
    'If-Match': header('If-Match', 'Only when the current version has this ETag (412 otherwise)'),
    'If-None-Match': header('If-None-Match', 'Answers 304 when the copy with this ETag is current'),
    'If-None-Exist': header('If-None-Exist', 'Conditional create: search parameters (a query string) that must match nothing'),
    Prefer: header('Prefer', 'return=minimal, return=representation or return=OperationOutcome'),
  };
}

function searchParameterKey(param: CapabilityStatementRestResourceSearchParam): string {
  return componentKey('search', param.name, param.type);
}

function searchParameter(param: CapabilityStatementRestResourceSearchParam): OpenApiObject {
  return {
    name: param.name,
    in: 'query',
    required: false,
    // Several resource types share the component; the definition per type is in the CapabilityStatement.
    description: `FHIR search parameter of type ${param.type} (https://hl7.org/fhir/R4/search.html#${param.type})`,
    schema: { type: 'string' },
  };
}

const RESULT_PARAMETERS = ['_sort', '_count', '_include', '_revinclude', '_summary', '_elements', '_total'];
const HISTORY_PARAMETERS = ['_count', '_since', '_at'];

function refs(names: readonly string[]): Array<{ $ref: string }> {
  return names.map((name) => ref('parameters', name));
}

function operationSummary(op: CapabilityStatementRestResourceOperation, definition: OperationDefinition | undefined): string {
  return definition?.title ?? definition?.name ?? `$${op.name}`;
}

/** https://hl7.org/fhir/R4/operations.html#executing: GET only for operations that change nothing, with primitive in-parameters. */
function allowsGet(definition: OperationDefinition): boolean {
  const isPrimitive = (p: OperationDefinitionParameter): boolean => p.part === undefined && p.type !== undefined && /^[a-z]/.test(p.type);
  return definition.affectsState !== true && (definition.parameter ?? []).filter((p) => p.use === 'in').every(isPrimitive);
}

function operationParameter(p: OperationDefinitionParameter): OpenApiObject {
  return {
    name: p.name,
    in: 'query',
    required: (p.min ?? 0) > 0,
    description: `Operation parameter of type ${p.type ?? 'string'} (${p.min ?? 0}..${p.max ?? '*'})${p.documentation ? `: ${p.documentation}` : ''}`,
    schema: p.max === '1' ? { type: 'string' } : { type: 'array', items: { type: 'string' } },
    ...(p.max === '1' ? {} : { style: 'form', explode: true }),
  };
}

function operationPathItem(
  op: CapabilityStatementRestResourceOperation,
  definition: OperationDefinition | undefined,
  tag: string,
  idOperationId: string,
  instance: boolean
): OpenApiObject {
  const summary = operationSummary(op, definition);
  const description = `$${op.name}, defined by ${op.definition}`;
  const post = {
    operationId: `${idOperationId}-post`,
    tags: [tag],
    summary,
    description,
    requestBody: ref('requestBodies', 'Parameters'),
    responses: responses({ '200': ref('responses', 'OperationResult') }, ERRORS.all),
  };
  const item: OpenApiObject = { ...(instance ? { parameters: [ref('parameters', 'id')] } : {}), post };
  if (definition && allowsGet(definition)) {
    item['get'] = {
      operationId: `${idOperationId}-get`,
      tags: [tag],
      summary,
      description,
      parameters: (definition.parameter ?? []).filter((p) => p.use === 'in').map(operationParameter),
      responses: responses({ '200': ref('responses', 'OperationResult') }, ERRORS.all),
    };
  }
  return item;
}

interface Built {
  readonly paths: OpenApiObject;
  readonly searchParameters: OpenApiObject;
}

function addResource(resource: CapabilityStatementRestResource, input: OpenApiInput, built: Built): void {
  const type = resource.type;
  const codes = new Set((resource.interaction ?? []).map((i) => i.code));
  const op = (interaction: string, summary: string, rest: OpenApiObject): OpenApiObject => ({
    operationId: `${type}-${interaction}`,
    tags: [type],
    summary,
    ...rest,
  });
  const formatParams = refs(['_format', '_pretty']);
  const typePath: OpenApiObject = {};
  if (codes.has('search-type')) {
    const params = resource.searchParam ?? [];
    for (const param of params) {
      built.searchParameters[searchParameterKey(param)] ??= searchParameter(param);
    }
    const searchRefs = params.map((p) => ref('parameters', searchParameterKey(p)));
    typePath['get'] = op('search-type', `Search ${type}`, {
      parameters: [...searchRefs, ...refs(RESULT_PARAMETERS), ...formatParams],
      responses: responses({ '200': ref('responses', 'Bundle') }, ERRORS.search),
    });
    built.paths[`/${type}/_search`] = {
      post: op('search-type-post', `Search ${type} (parameters in a form body)`, {
        requestBody: ref('requestBodies', 'SearchForm'),
        responses: responses({ '200': ref('responses', 'Bundle') }, ERRORS.search),
      }),
    };
  }
  if (codes.has('create')) {
    typePath['post'] = op('create', `Create a ${type}`, {
      parameters: refs(['If-None-Exist', 'Prefer', ...['_format', '_pretty']]),
      requestBody: ref('requestBodies', 'Resource'),
      responses: responses({ '200': ref('responses', 'Resource'), '201': ref('responses', 'Created') }, ERRORS.create),
    });
  }
  if (resource.conditionalUpdate === true) {
    typePath['put'] = op('conditional-update', `Conditional update of a ${type} (the query's search parameters select it)`, {
      parameters: refs(['If-Match', 'Prefer']),
      requestBody: ref('requestBodies', 'Resource'),
      responses: responses({ '200': ref('responses', 'Resource'), '201': ref('responses', 'Created') }, ERRORS.update),
    });
  }
  if (resource.conditionalDelete !== undefined && resource.conditionalDelete !== 'not-supported') {
    typePath['delete'] = op('conditional-delete', `Conditional delete of a ${type} (the query's search parameters select it)`, {
      responses: responses({ '200': ref('responses', 'OperationOutcome'), '204': ref('responses', 'NoContent') }, ERRORS.delete),
    });
  }
  if (Object.keys(typePath).length > 0) {
    built.paths[`/${type}`] = typePath;
  }
  if (codes.has('history-type')) {
    built.paths[`/${type}/_history`] = {
      get: op('history-type', `History of all ${type} resources`, {
        parameters: [...refs(HISTORY_PARAMETERS), ...formatParams],
        responses: responses({ '200': ref('responses', 'Bundle') }, ERRORS.search),
      }),
    };
  }
  const instancePath: OpenApiObject = {};
  if (codes.has('read')) {
    instancePath['get'] = op('read', `Read a ${type}`, {
      parameters: [...refs(['If-None-Match', '_summary', '_elements']), ...formatParams],
      responses: responses({ '200': ref('responses', 'Resource'), '304': ref('responses', 'NotModified') }, ERRORS.read),
    });
  }
  if (codes.has('update')) {
    instancePath['put'] = op('update', `Update (or create with this id) a ${type}`, {
      parameters: [...refs(['If-Match', 'Prefer']), ...formatParams],
      requestBody: ref('requestBodies', 'Resource'),
      responses: responses({ '200': ref('responses', 'Resource'), '201': ref('responses', 'Created') }, ERRORS.update),
    });
  }
  if (codes.has('patch')) {
    instancePath['patch'] = op('patch', `Patch a ${type} (JSON Patch)`, {
      parameters: [...refs(['If-Match', 'Prefer']), ...formatParams],
      requestBody: ref('requestBodies', 'JsonPatch'),
      responses: responses({ '200': ref('responses', 'Resource') }, ERRORS.patch),
    });
  }
  if (codes.has('delete')) {
    instancePath['delete'] = op('delete', `Delete a ${type}`, {
      parameters: refs(['If-Match']),
      responses: responses({ '200': ref('responses', 'OperationOutcome'), '204': ref('responses', 'NoContent') }, ERRORS.delete),
    });
  }
  if (Object.keys(instancePath).length > 0) {
    built.paths[`/${type}/{id}`] = { parameters: refs(['id']), ...instancePath };
  }
  if (codes.has('history-instance')) {
    built.paths[`/${type}/{id}/_history`] = {
      parameters: refs(['id']),
      get: op('history-instance', `History of one ${type}`, {
        parameters: [...refs(HISTORY_PARAMETERS), ...formatParams],
        responses: responses({ '200': ref('responses', 'Bundle') }, ERRORS.history),
      }),
    };
  }
  if (codes.has('vread')) {
    built.paths[`/${type}/{id}/_history/{vid}`] = {
      parameters: refs(['id', 'vid']),
      get: op('vread', `Read one version of a ${type}`, {
        parameters: formatParams,
        responses: responses({ '200': ref('responses', 'Resource') }, ERRORS.read),
      }),
    };
  }
  for (const entry of resource.operation ?? []) {
    const definition = input.operationDefinition(entry.definition);
    // Without its definition the level is unknown; both shapes are routed (fhir/routes.ts).
    if (definition?.type !== false) {
      built.paths[`/${type}/$${entry.name}`] = operationPathItem(entry, definition, type, `${type}-type-${entry.name}`, false);
    }
    if (definition?.instance !== false) {
      built.paths[`/${type}/{id}/$${entry.name}`] = operationPathItem(entry, definition, type, `${type}-instance-${entry.name}`, true);
    }
  }
}

function tokenUrl(statement: CapabilityStatement): string | undefined {
  const oauth = statement.rest?.[0]?.security?.extension?.find((e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
  return oauth?.extension?.find((e) => e.url === 'token')?.valueUri;
}

function addSystem(input: OpenApiInput, built: Built): void {
  const rest = input.statement.rest?.[0];
  const codes = new Set((rest?.interaction ?? []).map((i) => i.code));
  const tag = 'System';
  const root: OpenApiObject = {};
  if (codes.has('transaction') || codes.has('batch')) {
    root['post'] = {
      operationId: 'transaction-batch',
      tags: [tag],
      summary: 'Process a transaction or batch Bundle',
      requestBody: { required: true, content: fhirContent('Bundle') },
      responses: responses({ '200': ref('responses', 'Bundle') }, ERRORS.all),
    };
  }
  if (codes.has('search-system')) {
    root['get'] = {
      operationId: 'search-system',
      tags: [tag],
      summary: 'Search across all resource types (_type names them)',
      parameters: [ref('parameters', 'search._type.token'), ...refs(RESULT_PARAMETERS), ...refs(['_format', '_pretty'])],
      responses: responses({ '200': ref('responses', 'Bundle') }, ERRORS.search),
    };
    built.searchParameters['search._type.token'] ??= searchParameter({ name: '_type', type: 'token' });
    built.paths['/_search'] = {
      post: { operationId: 'search-system-post', tags: [tag], summary: 'Search across all resource types (form body)', requestBody: ref('requestBodies', 'SearchForm'), responses: responses({ '200': ref('responses', 'Bundle') }, ERRORS.search) },
    };
  }
  if (Object.keys(root).length > 0) {
    built.paths['/'] = root;
  }
  if (codes.has('history-system')) {
    built.paths['/_history'] = {
      get: { operationId: 'history-system', tags: [tag], summary: 'History of all resources', parameters: refs([...HISTORY_PARAMETERS, '_format', '_pretty']), responses: responses({ '200': ref('responses', 'Bundle') }, ERRORS.search) },
    };
  }
  // GET [base]/metadata is public (SMART discovery), as is this document.
  built.paths['/metadata'] = {
    get: {
      operationId: 'capabilities',
      tags: [tag],
      summary: 'The CapabilityStatement this document is generated from',
      security: [],
      parameters: refs(['If-None-Match', '_summary', '_elements', '_format', '_pretty']),
      responses: { '200': { description: 'The CapabilityStatement', content: fhirContent('Resource') }, '304': ref('responses', 'NotModified'), '400': ref('responses', 'Error400') },
    },
  };
  for (const entry of rest?.operation ?? []) {
    built.paths[`/$${entry.name}`] = operationPathItem(entry, input.operationDefinition(entry.definition), tag, `system-${entry.name}`, false);
  }
  if ((rest?.operation ?? []).some((op) => op.name === 'export')) {
    addExportStatus(built);
  }
}

/** The status and file URLs of Bulk Data export (http/export-routes.ts): routes of their own, not FHIR interactions. */
function addExportStatus(built: Built): void {
  const tag = 'Bulk Data export';
  const job = { name: 'job', in: 'path', required: true, schema: { type: 'string' }, description: 'The export job, as the kick-off Content-Location names it' };
  built.paths['/_export/{job}'] = {
    parameters: [job],
    get: {
      operationId: 'export-status',
      tags: [tag],
      summary: 'Status of a Bulk Data export: 202 while it runs, the manifest when complete',
      responses: {
        '200': { description: 'The manifest (transactionTime, request, requiresAccessToken, output, error)', content: { 'application/json': { schema: { type: 'object' } } } },
        '202': { description: 'In progress; X-Progress tells how far, Retry-After when to ask again' },
        '500': { description: 'The export failed', content: fhirContent('OperationOutcome') },
        ...responses({}, ['404']),
      },
    },
    delete: {
      operationId: 'export-cancel',
      tags: [tag],
      summary: 'Cancel a Bulk Data export and delete its files',
      responses: { '202': { description: 'Cancelled' }, ...responses({}, ['404']) },
    },
  };
  built.paths['/_export/{job}/{kind}/{file}'] = {
    parameters: [
      job,
      { name: 'kind', in: 'path', required: true, schema: { type: 'string', enum: ['output', 'error'] } },
      { name: 'file', in: 'path', required: true, schema: { type: 'string' }, description: '<resource type>.ndjson' },
    ],
    get: {
      operationId: 'export-file',
      tags: [tag],
      summary: 'One NDJSON file of a complete Bulk Data export (only for the client that started it)',
      responses: { '200': { description: 'One resource per line', content: { 'application/fhir+ndjson': { schema: { type: 'string' } } } }, ...responses({}, ['404']) },
    },
  };
}

export function buildOpenApi(input: OpenApiInput): OpenApiObject {
  const { statement } = input;
  const built: Built = { paths: {}, searchParameters: {} };
  addSystem(input, built);
  const resources = statement.rest?.[0]?.resource ?? [];
  for (const resource of resources) {
    addResource(resource, input, built);
  }
  const scopes: Record<string, string> = {};
  for (const scope of input.scopes) {
    scopes[scope] = 'SMART scope (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html)';
  }
  const sortedSearch = Object.fromEntries(Object.entries(built.searchParameters).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: `${statement.software?.name ?? 'FHIR'} FHIR R4 API`,
      version: statement.software?.version ?? '0.0.0',
      description: `${statement.implementation?.description ?? ''}. Generated from the CapabilityStatement at GET /metadata (FHIR ${statement.fhirVersion}); ${statement.rest?.[0]?.security?.description ?? ''}`,
    },
    ...(statement.implementation?.url !== undefined ? { servers: [{ url: statement.implementation.url }] } : {}),
    security: [{ smart: [] }],
    tags: [{ name: 'System' }, ...resources.map((r) => ({ name: r.type, ...(r.documentation !== undefined ? { description: r.documentation } : {}) }))],
    paths: built.paths,
    components: {
      securitySchemes: {
        smart: {
          type: 'oauth2',
          description: 'SMART Backend Services: client_credentials with a private_key_jwt client assertion. Discovery: /.well-known/smart-configuration.',
          flows: { clientCredentials: { tokenUrl: tokenUrl(statement) ?? '/auth/token', scopes } },
        },
      },
      parameters: { ...sharedParameters(), ...sortedSearch },
      responses: sharedResponses(),
      requestBodies: {
        Resource: { required: true, content: { ...fhirContent('Resource'), 'application/fhir+xml': { schema: { type: 'string' } } } },
        Parameters: { required: false, content: fhirContent('Parameters') },
        JsonPatch: { required: true, content: { 'application/json-patch+json': { schema: ref('schemas', 'JsonPatch') } } },
        SearchForm: { required: false, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', additionalProperties: { type: 'string' } } } } },
      },
      schemas: schemas(resources.map((r) => r.type)),
    },
  };
}
