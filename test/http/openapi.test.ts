import t from 'tap';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createTestApp, engine } from '../helpers/app.js';

type Json = { [key: string]: any };

const PATHS: Record<string, { path: (type: string) => string; method: string }> = {
  read: { path: (type) => `/${type}/{id}`, method: 'get' },
  vread: { path: (type) => `/${type}/{id}/_history/{vid}`, method: 'get' },
  update: { path: (type) => `/${type}/{id}`, method: 'put' },
  patch: { path: (type) => `/${type}/{id}`, method: 'patch' },
  delete: { path: (type) => `/${type}/{id}`, method: 'delete' },
  'history-instance': { path: (type) => `/${type}/{id}/_history`, method: 'get' },
  'history-type': { path: (type) => `/${type}/_history`, method: 'get' },
  create: { path: (type) => `/${type}`, method: 'post' },
  'search-type': { path: (type) => `/${type}`, method: 'get' },
};

const SYSTEM_PATHS: Record<string, { path: string; method: string }> = {
  transaction: { path: '/', method: 'post' },
  batch: { path: '/', method: 'post' },
  'search-system': { path: '/', method: 'get' },
  'history-system': { path: '/_history', method: 'get' },
};

/** The component a `$ref` names, or the object itself. */
function resolve(doc: Json, item: Json): Json {
  if (typeof item['$ref'] !== 'string') {
    return item;
  }
  const [, kind, name] = item['$ref'].replace('#/components/', '/').split('/');
  return doc['components'][kind as string][name as string];
}

function queryParameters(doc: Json, operation: Json): Json[] {
  return ((operation['parameters'] ?? []) as Json[]).map((p) => resolve(doc, p)).filter((p) => p['in'] === 'query');
}

t.test(`GET /fhir/openapi.json describes the CapabilityStatement on ${engine}`, async (t) => {
  const { app } = await createTestApp(t);
  // Public like /metadata: no token sent.
  const response = await app.inject({ method: 'GET', url: '/fhir/openapi.json' });
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^application\/json/);
  const etag = response.headers['etag'];
  t.match(etag, /^W\/".+"$/, 'a weak ETag');
  const doc = response.json<Json>();

  const validator = new Validator();
  // A copy: resolveRefs replaces the references of the object it validated.
  const result = await validator.validate(structuredClone(doc));
  t.same(result.errors, undefined, 'no schema errors');
  t.equal(result.valid, true, 'valid OpenAPI');
  t.equal(validator.version, '3.1', 'OpenAPI 3.1');
  t.doesNotThrow(() => validator.resolveRefs(), 'every $ref resolves');

  const metadata = await app.inject({ method: 'GET', url: '/fhir/metadata' });
  const cs = metadata.json<Json>();
  const rest = cs['rest'][0] as Json;
  t.same(doc['servers'], [{ url: cs['implementation']['url'] }], 'the server is the FHIR base');
  t.equal(doc['info']['version'], cs['software']['version']);

  const missing: string[] = [];
  for (const resource of rest['resource'] as Json[]) {
    const type = resource['type'] as string;
    for (const { code } of resource['interaction'] as Array<{ code: string }>) {
      const shape = PATHS[code];
      if (!shape || doc['paths'][shape.path(type)]?.[shape.method] === undefined) {
        missing.push(`${type} ${code}`);
      }
    }
    const searchNames = new Set(queryParameters(doc, doc['paths'][`/${type}`]?.['get'] ?? {}).map((p) => `${p['name']}:${p['description']}`));
    for (const param of (resource['searchParam'] ?? []) as Json[]) {
      const hit = [...searchNames].some((s) => s.startsWith(`${param['name']}:`) && s.includes(`type ${param['type']} `));
      if (!hit) {
        missing.push(`${type}?${param['name']}`);
      }
    }
    for (const op of (resource['operation'] ?? []) as Json[]) {
      const item = doc['paths'][`/${type}/$${op['name']}`] ?? doc['paths'][`/${type}/{id}/$${op['name']}`];
      if (item?.['post'] === undefined) {
        missing.push(`${type}/$${op['name']}`);
      }
    }
  }
  for (const { code } of rest['interaction'] as Array<{ code: string }>) {
    const shape = SYSTEM_PATHS[code];
    if (!shape || doc['paths'][shape.path]?.[shape.method] === undefined) {
      missing.push(`system ${code}`);
    }
  }
  for (const op of (rest['operation'] ?? []) as Json[]) {
    if (doc['paths'][`/$${op['name']}`]?.['post'] === undefined) {
      missing.push(`/$${op['name']}`);
    }
  }
  t.same(missing, [], 'every interaction, search parameter and operation of the CapabilityStatement has its path');
  t.ok((rest['resource'] as Json[]).some((r) => (r['searchParam'] ?? []).length > 0), 'search parameters were checked');

  // OpenAPI 3.1 §4.8.10.1: a parameter is unique by name and location within an operation.
  const duplicates: string[] = [];
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries(doc['paths'] as Record<string, Json>)) {
    for (const [method, operation] of Object.entries(item).filter(([key]) => key !== 'parameters') as Array<[string, Json]>) {
      const seen = [...(item['parameters'] ?? []), ...(operation['parameters'] ?? [])].map((p: Json) => resolve(doc, p)).map((p: Json) => `${p['in']}:${p['name']}`);
      if (new Set(seen).size !== seen.length || operationIds.has(operation['operationId'])) {
        duplicates.push(`${method} ${path}`);
      }
      operationIds.add(operation['operationId']);
    }
  }
  t.same(duplicates, [], 'parameters and operationIds are unique');

  // Spot checks.
  const read = doc['paths']['/Patient/{id}']['get'];
  t.ok(read, 'Patient read');
  t.same(resolve(doc, doc['paths']['/Patient/{id}']['parameters'][0]), { ...resolve(doc, { $ref: '#/components/parameters/id' }) }, 'the id path parameter');
  t.equal(resolve(doc, read['responses']['200'])['content']['application/fhir+json']['schema']['$ref'], '#/components/schemas/Resource');
  for (const status of ['401', '403', '404', '410']) {
    t.equal(resolve(doc, read['responses'][status])['content']['application/fhir+json']['schema']['$ref'], '#/components/schemas/OperationOutcome', `read answers ${status} with an OperationOutcome`);
  }
  const owner = queryParameters(doc, doc['paths']['/Task']['get']).find((p) => p['name'] === 'owner');
  t.ok(owner, 'Task search has owner');
  t.match(owner?.['description'], /reference/, 'with its FHIR type');
  const everything = doc['paths']['/Patient/{id}/$everything'];
  t.ok(everything?.['post'], '$everything by POST');
  t.same(
    queryParameters(doc, everything['get']).map((p) => p['name']).sort(),
    ['_count', '_cursor', '_since', '_type', 'end', 'start'],
    '$everything by GET with its in-parameters as query parameters'
  );
  t.notOk(doc['paths']['/Patient/$everything'], '$everything is an instance operation only');
  t.notOk(doc['paths']['/Task/$claim']?.['get'], 'an operation that changes data has no GET');
  t.equal(doc['paths']['/metadata']['get']['security'].length, 0, '/metadata needs no token');

  // Security: the token URL of the CapabilityStatement and the scopes of the SMART configuration.
  const smart = (await app.inject({ method: 'GET', url: '/.well-known/smart-configuration' })).json<Json>();
  const flow = doc['components']['securitySchemes']['smart']['flows']['clientCredentials'];
  const oauth = (rest['security']['extension'] as Json[]).find((e) => e['url'] === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
  t.equal(flow['tokenUrl'], (oauth?.['extension'] as Json[]).find((e) => e['url'] === 'token')?.['valueUri']);
  t.equal(new URL(flow['tokenUrl']).pathname, new URL(smart['token_endpoint']).pathname, 'the token endpoint of the SMART configuration');
  t.same(Object.keys(flow['scopes']).sort(), [...smart['scopes_supported']].sort(), 'the scopes of the SMART configuration');
  t.same(doc['security'], [{ smart: [] }]);

  // Cached: the same content and tag; If-None-Match answers 304.
  const again = await app.inject({ method: 'GET', url: '/fhir/openapi.json' });
  t.equal(again.headers['etag'], etag);
  t.equal(again.body, response.body);
  const notModified = await app.inject({ method: 'GET', url: '/fhir/openapi.json', headers: { 'if-none-match': String(etag) } });
  t.equal(notModified.statusCode, 304);
  t.equal(notModified.body, '');
  t.equal(notModified.headers['etag'], etag);
  t.ok(response.body.length < 3_000_000, `compact enough (${response.body.length} bytes)`);
});
