/**
 * Writes the synthetic chronic-pain cohort fixtures (scripts/pain-cohort.ts):
 *   fixtures/scenario-pain-cohort-1-schedules.json  organisations, patients, treatments, NDP Tasks
 *   fixtures/scenario-pain-cohort-2-responses.json  the PDI and NRS responses, in the order given
 * Two files because a transaction takes at most MAX_BUNDLE_ENTRIES (1000) entries, and the
 * responses must find their Tasks stored: loaded in file-name order, each response completes its
 * Task and is scored by the server as it is written.
 *
 *   npx tsx scripts/generate-pain-cohort.ts [patients=60]
 * The output is committed, so a start is deterministic; rerun only to change the cohort.
 */
import { writeFileSync } from 'node:fs';
import { generateCohort, transactionBundle } from './pain-cohort.js';

const patients = Number(process.argv[2] ?? 60);
const cohort = generateCohort(patients);
const dir = new URL('../fixtures/', import.meta.url);
/** One entry per line: compact, and a change to the cohort shows as changed entries in a diff. */
const write = (name: string, bundle: { entry: unknown[] }): void => {
  const { entry, ...head } = bundle;
  const opening = JSON.stringify(head).slice(0, -1);
  writeFileSync(new URL(name, dir), `${opening},"entry":[\n${entry.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`);
};
write('scenario-pain-cohort-1-schedules.json', transactionBundle('scenario-pain-cohort-1-schedules', cohort.schedules));
write('scenario-pain-cohort-2-responses.json', transactionBundle('scenario-pain-cohort-2-responses', cohort.responses));
console.log(`${patients} patients: ${cohort.schedules.length} schedule resources, ${cohort.responses.length} responses`);
