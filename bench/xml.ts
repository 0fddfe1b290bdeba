/**
 * Cost of FHIR XML per resource over the official R4 examples (`npx tsx bench/xml.ts`; the corpus
 * is ../shared/conformance/r4-examples or CONFORMANCE_DIR): JSON -> XML and XML -> JSON beside
 * JSON.stringify and the strict JSON reader, median of repeated runs. A measurement to report,
 * not a timed test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseFhirJson } from '../src/fhir/json-parse.js';
import { parseFhirXml } from '../src/fhir/xml/parse.js';
import { serialiseFhirXml } from '../src/fhir/xml/serialise.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const base = join(process.env['CONFORMANCE_DIR'] ?? join(root, '..', 'shared', 'conformance'), 'r4-examples');
const ROUNDS = 30;

const examples = readdirSync(base)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => {
    const text = readFileSync(join(base, file), 'utf8');
    const json: unknown = JSON.parse(text);
    const compact = JSON.stringify(json);
    return { file, json, compact, xml: serialiseFhirXml(json) };
  });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Median over ROUNDS of the time one pass over the whole corpus takes, in ms. */
function time(run: (e: (typeof examples)[number]) => unknown): number {
  for (let i = 0; i < 5; i++) examples.forEach(run);
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    examples.forEach(run);
    samples.push(performance.now() - start);
  }
  return median(samples);
}

const n = examples.length;
const jsonBytes = examples.reduce((s, e) => s + e.compact.length, 0);
const xmlBytes = examples.reduce((s, e) => s + e.xml.length, 0);
const rows: Array<[string, number]> = [
  ['JSON -> XML (serialiseFhirXml)', time((e) => serialiseFhirXml(e.json))],
  ['XML -> JSON (parseFhirXml)', time((e) => parseFhirXml(e.xml, { maxDepth: 64 }))],
  ['JSON.stringify (for comparison)', time((e) => JSON.stringify(e.json))],
  ['strict JSON reader (for comparison)', time((e) => parseFhirJson(e.compact, { maxDepth: 64 }))],
];
console.log(`${n} examples; ${Math.round(jsonBytes / 1024)} KiB compact JSON, ${Math.round(xmlBytes / 1024)} KiB XML`);
for (const [label, ms] of rows) {
  console.log(`${label.padEnd(38)} ${ms.toFixed(2)} ms per corpus pass, ${((ms / n) * 1000).toFixed(0)} µs per resource`);
}
const largest = [...examples].sort((a, b) => b.xml.length - a.xml.length)[0];
if (largest) {
  const one = [largest];
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) one.forEach((e) => parseFhirXml(e.xml, { maxDepth: 64 }));
  const t1 = performance.now();
  for (let i = 0; i < 50; i++) one.forEach((e) => serialiseFhirXml(e.json));
  const t2 = performance.now();
  console.log(`largest (${largest.file}, ${Math.round(largest.xml.length / 1024)} KiB XML): parse ${((t1 - t0) / 50).toFixed(2)} ms, serialise ${((t2 - t1) / 50).toFixed(2)} ms`);
}
