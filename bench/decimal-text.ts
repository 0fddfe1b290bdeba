/**
 * Cost of keeping decimals as written (src/fhir/decimal-text.ts) on the hot paths, in process:
 * `npx tsx bench/decimal-text.ts [--iterations N]`. Compares reading stored JSON (JSON.parse
 * against parseStoredJson), writing it (JSON.stringify against stringifyFhir) and parsing a
 * request body (parseFhirJson), for resources without and with decimals that need their text.
 * When src/fhir/json-parse-base.ts exists (the reader before this change, copied there by hand)
 * the body parse is compared with it too.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { storedFhirJson, stringifyFhir } from '../src/fhir/decimal-text.js';
import { parseFhirJson, parseStoredJson } from '../src/fhir/json-parse.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '20000' } } });
const iterations = Number(values.iterations);

function observation(value: string): string {
  const quantity = (v: string) => `{"value":${v},"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}`;
  const components = Array.from(
    { length: 8 },
    (_, i) => `{"code":{"coding":[{"system":"http://loinc.org","code":"${1000 + i}-${i}","display":"Component ${i}"}]},"valueQuantity":${quantity(value)}}`
  );
  return (
    `{"resourceType":"Observation","id":"0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9","meta":{"versionId":"3","lastUpdated":"2026-12-05T19:07:19.120Z"},` +
    `"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],` +
    `"code":{"coding":[{"system":"http://loinc.org","code":"2339-0","display":"Glucose"}]},"subject":{"reference":"Patient/p1"},` +
    `"effectiveDateTime":"2026-12-01T08:30:00+01:00","issued":"2026-12-01T10:00:00.000Z","valueQuantity":${quantity(value)},` +
    `"referenceRange":[{"low":${quantity(value)},"high":${quantity('7')}}],"component":[${components.join(',')}]}`
  );
}

function time(label: string, run: () => unknown): number {
  for (let i = 0; i < iterations / 10; i++) run();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  const micros = Number(process.hrtime.bigint() - start) / 1000 / iterations;
  console.log(`${label.padEnd(58)} ${micros.toFixed(2).padStart(8)} µs`);
  return micros;
}

const base = new URL('../src/fhir/json-parse-base.ts', import.meta.url);
const baseParse = existsSync(base) ? ((await import(base.href)) as { parseFhirJson: typeof parseFhirJson }).parseFhirJson : undefined;

for (const [name, text] of [
  ['no kept text (1.5)', observation('1.5')],
  ['kept texts (1.50)', observation('1.50')],
] as const) {
  console.log(`\nObservation, ${text.length} bytes, ${name}`);
  const body = Buffer.from(text);
  const parsed = parseFhirJson(body, { maxDepth: 64 });
  const stored = storedFhirJson(parsed);
  time('read:  JSON.parse', () => JSON.parse(stored));
  time('read:  parseStoredJson', () => parseStoredJson(stored));
  time('store: JSON.stringify', () => JSON.stringify(parsed));
  time('store: storedFhirJson', () => storedFhirJson(parsed));
  time('reply: stringifyFhir', () => stringifyFhir(parsed));
  if (baseParse) {
    time('body:  parseFhirJson before the change', () => baseParse(body, { maxDepth: 64 }));
  }
  time('body:  parseFhirJson', () => parseFhirJson(body, { maxDepth: 64 }));
}
