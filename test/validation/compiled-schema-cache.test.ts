/**
 * The compiled-schema cache (src/validation/compiled-schema-cache.ts): validators loaded from the
 * cached standalone code judge exactly as freshly compiled ones, and a damaged or missing cache
 * only means compiling again.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { _, Ajv, type KeywordCxt } from 'ajv';
import { cacheFiles, cacheKey, loadCompiled, storeCompiled } from '../../src/validation/compiled-schema-cache.js';

const SCHEMA = {
  $id: 'http://example.org/test',
  definitions: {
    Visit: {
      type: 'object',
      additionalProperties: false,
      required: ['count'],
      properties: { count: { type: 'number', even: true }, note: { type: 'string' } },
    },
  },
};

/** A code keyword calling a function from `scope`, as schema.ts does for FHIR primitives. */
function compile(scope: { isEven: (n: number) => boolean }): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, code: { source: true, lines: false } });
  ajv.addKeyword({
    keyword: 'even',
    schemaType: 'boolean',
    code(cxt: KeywordCxt) {
      const check = cxt.gen.scopeValue('func', { ref: scope.isEven, code: _`scope.isEven` });
      cxt.fail(_`!${check}(${cxt.data})`);
    },
  });
  ajv.addSchema(SCHEMA);
  return ajv;
}

const REFS = { Visit: 'http://example.org/test#/definitions/Visit' };
const CASES = [{ count: 2 }, { count: 3 }, { count: 2, extra: true }, {}, { count: 'x', note: 4 }];

t.test('cached validators judge as freshly compiled ones, with the scope passed in', async (t) => {
  const key = cacheKey(SCHEMA, `test-${randomUUID()}`);
  t.teardown(() => Object.values(cacheFiles(key)).forEach((f) => rmSync(f, { force: true })));
  const scope = { isEven: (n: number) => n % 2 === 0 };
  t.equal(loadCompiled(key, scope), undefined, 'nothing cached under a new key');
  const ajv = compile(scope);
  const fresh = ajv.getSchema(REFS.Visit)!;
  storeCompiled(key, ajv, REFS);
  t.ok(existsSync(cacheFiles(key).code), 'the standalone code is stored');
  const loaded = loadCompiled(key, scope)?.get('Visit');
  t.ok(loaded, 'loaded from the cache');
  t.ok(existsSync(cacheFiles(key).v8), "V8's code cache is stored on the first load");
  for (const input of CASES) {
    const expected = fresh(input);
    const expectedErrors = JSON.stringify(fresh.errors ?? null);
    t.equal(loaded!(input), expected, `same verdict for ${JSON.stringify(input)}`);
    t.equal(JSON.stringify(loaded!.errors ?? null), expectedErrors, `same errors for ${JSON.stringify(input)}`);
  }
  const again = loadCompiled(key, scope)?.get('Visit');
  t.equal(again?.({ count: 3 }), false, 'a second load uses the code cache and still checks');
});

t.test('a damaged cache is passed over', async (t) => {
  const key = cacheKey(SCHEMA, `test-${randomUUID()}`);
  t.teardown(() => Object.values(cacheFiles(key)).forEach((f) => rmSync(f, { force: true })));
  const scope = { isEven: (n: number) => n % 2 === 0 };
  storeCompiled(key, compile(scope), REFS);
  writeFileSync(cacheFiles(key).code, 'exports.Visit = (');
  t.equal(loadCompiled(key, scope), undefined, 'code that does not parse loads nothing');
  storeCompiled(key, compile(scope), REFS);
  writeFileSync(cacheFiles(key).v8, 'not a code cache');
  t.equal(loadCompiled(key, scope)?.get('Visit')?.({ count: 4 }), true, 'a rejected V8 code cache only costs parsing');
});

t.test('the key changes with the schema and with the generator', async (t) => {
  t.not(cacheKey(SCHEMA, 'a'), cacheKey(SCHEMA, 'b'));
  t.not(cacheKey(SCHEMA, 'a'), cacheKey({ ...SCHEMA, $id: 'http://example.org/other' }, 'a'));
  t.equal(cacheKey(SCHEMA, 'a'), cacheKey(structuredClone(SCHEMA), 'a'));
});
