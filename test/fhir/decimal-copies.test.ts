// The kept texts of decimals (src/fhir/decimal-text.ts) through the copies and readers the server
// uses: spread and rest keep them, a changed number drops its stale text, copyFhir keeps what
// structuredClone loses, and any FHIR decimal (datatypes.html#decimal regex) round-trips as written.
import t from 'tap';
import fc from 'fast-check';
import { copyFhir, decimalTextOf, storedFhirJson, stringifyFhir } from '../../src/fhir/decimal-text.js';
import { parseFhirJson, parseStoredJson } from '../../src/fhir/json-parse.js';

const parse = (text: string): Record<string, unknown> => parseFhirJson(text, { maxDepth: 64, fhirRules: false }) as Record<string, unknown>;

t.test('spread and rest copies keep the texts; a changed number is written as it now is', async (t) => {
  const quantity = parse('{"value":1.50,"unit":"mg"}');
  t.equal(quantity['value'], 1.5, 'a JS number to every reader');
  t.same(Object.keys(quantity), ['value', 'unit'], 'the table is no key');
  t.equal(JSON.stringify(quantity), '{"value":1.5,"unit":"mg"}', 'JSON.stringify does not see it');
  t.equal(stringifyFhir({ ...quantity }), '{"value":1.50,"unit":"mg"}', 'spread');
  const { unit: _unit, ...rest } = quantity;
  t.equal(stringifyFhir(rest), '{"value":1.50}', 'rest');
  t.equal(stringifyFhir({ ...quantity, value: 2 }), '{"value":2,"unit":"mg"}', 'a stale text is not used');
  t.equal(stringifyFhir(structuredClone(quantity)), '{"value":1.5,"unit":"mg"}', 'structuredClone loses the text');
  t.equal(stringifyFhir(copyFhir(quantity)), '{"value":1.50,"unit":"mg"}', 'copyFhir keeps it');
  t.equal(decimalTextOf(parse('{"value":1.5}'), 'value'), undefined, 'no text is kept where JS writes the same');
});

t.test('stored text is marked only when it holds kept decimals, and read back with them', async (t) => {
  const plain = storedFhirJson(parse('{"resourceType":"Basic","a":[1.5,100]}'));
  t.equal(plain, '{"resourceType":"Basic","a":[1.5,100]}');
  const marked = storedFhirJson(parse('{"resourceType":"Basic","a":[1.50,100],"b":{"c":-0.0}}'));
  t.equal(marked, ' {"resourceType":"Basic","a":[1.50,100],"b":{"c":-0.0}}');
  t.equal(stringifyFhir(parseStoredJson(marked), 1), '{\n "resourceType": "Basic",\n "a": [\n  1.50,\n  100\n ],\n "b": {\n  "c": -0.0\n }\n}');
});

t.test('every FHIR decimal round-trips as written through body, store, read and reply', async (t) => {
  // https://hl7.org/fhir/R4/datatypes.html#decimal: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  const decimal = fc.stringMatching(/^-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,2})?$/);
  fc.assert(
    fc.property(fc.array(decimal, { minLength: 1, maxLength: 5 }), decimal, (items, single) => {
      const text = `{"resourceType":"Basic","items":[${items.join(',')}],"quantity":{"value":${single}}}`;
      if (!items.concat(single).every((d) => Number.isFinite(Number(d)))) {
        return;
      }
      const stored = storedFhirJson(parseFhirJson(text, { maxDepth: 64 }));
      t.equal(stringifyFhir(parseStoredJson(stored)), text);
    }),
    { numRuns: 300 }
  );
});
