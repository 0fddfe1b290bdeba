/**
 * Outcome-measurement benchmark (docs/outcome-questionnaires.md): a synthetic chronic-pain cohort (scripts/pain-cohort.ts)
 * of --patients patients. Organisations, patients, treatments, NDP Tasks and most responses are
 * bulk-loaded together with what the server would have derived from those responses (score
 * Observations computed with the Questionnaires' own score definitions, completed Tasks), which
 * takes seconds instead of the minutes of writing each response. The responses of the last
 * tenth of the patients then go through the real write path in transaction Bundles, each
 * validated, scored and matched to its Task among the whole cohort: that gives the cost per
 * response. Then every indicator Measure is evaluated --iterations times (p50, p99), the overdue
 * search is timed, and the indicator statements are run under EXPLAIN ANALYZE: the run fails when
 * a plan scans a big table sequentially.
 */
import { readFileSync } from 'node:fs';
import type { Observation, Questionnaire, QuestionnaireResponse, Resource, Task } from '@medplum/fhirtypes';
import { computeScore } from '../src/domain/questionnaires/compute-score.js';
import { scoreDefinitions } from '../src/domain/questionnaires/score-definitions.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { loadR4Definitions } from '../src/fhir/definitions.js';
import type { EngineName } from '../src/storage/database.js';
import { generateCohort, transactionBundle } from '../scripts/pain-cohort.js';
import { benchAuth, benchToken } from './bench-auth.js';
import { bulkLoad } from './bulk-load.js';
import { createScratchDatabase } from '../test/helpers/database.js';
import { recording } from './search.js';

interface Options {
  readonly patients: number;
  readonly iterations: number;
  readonly engines: EngineName[];
}

const MEASURES = ['pain-pdi-change', 'pain-pdi-improvement', 'pain-ndp-completeness', 'pain-ndp-follow-up'];
const PERIOD = 'periodStart=2024-01-01&periodEnd=2025-12-31';
const RESPONSES_PER_BUNDLE = 500;

const QUESTIONNAIRES = new Map(
  ['questionnaire-pdi.json', 'questionnaire-nrs-pijn.json'].map((file) => {
    const q = JSON.parse(readFileSync(new URL(`../profiles/${file}`, import.meta.url), 'utf8')) as Questionnaire;
    return [`${q.url ?? ''}|${q.version ?? ''}`, q];
  })
);

type Stored = Resource & { id: string };

/**
 * What the server derives from bulk-loaded responses, computed the way the write path does: the
 * first open Task of the same patient and Questionnaire whose window holds the authored date
 * completes, and each score is an Observation.
 */
export function deriveForBench(schedules: readonly Stored[], responses: ReadonlyArray<QuestionnaireResponse & Stored>): Stored[] {
  const tasks = new Map<string, Task & Stored>();
  const open = new Map<string, Array<Task & Stored>>();
  for (const resource of schedules) {
    if (resource.resourceType === 'Task') {
      const task = { ...resource } as Task & Stored;
      tasks.set(task.id, task);
      const key = `${task.for?.reference ?? ''} ${task.focus?.reference ?? ''}`;
      open.set(key, [...(open.get(key) ?? []), task]);
    }
  }
  const observations: Stored[] = [];
  for (const response of responses) {
    const questionnaire = QUESTIONNAIRES.get(response.questionnaire ?? '') as Questionnaire;
    const day = (response.authored ?? '').slice(0, 10);
    const candidates = (open.get(`${response.subject?.reference ?? ''} Questionnaire/${questionnaire.id ?? ''}`) ?? [])
      .filter((t) => t.status === 'requested' && (t.restriction?.period?.start ?? '') <= day && day <= (t.restriction?.period?.end ?? ''))
      .sort((a, b) => (a.restriction?.period?.start ?? '').localeCompare(b.restriction?.period?.start ?? ''));
    const task = candidates[0];
    if (task) {
      task.status = 'completed';
      task.output = [{ type: { text: 'Ingevulde vragenlijst' }, valueReference: { reference: `QuestionnaireResponse/${response.id}` } }];
    }
    for (const definition of scoreDefinitions(questionnaire)) {
      const score = computeScore(definition, response, questionnaire);
      const observation: Observation & Stored = {
        resourceType: 'Observation',
        id: `score-${response.id}-${definition.code.code}`,
        identifier: [{ system: 'http://schakel.nl/fhir/NamingSystem/questionnaire-score', value: `${response.id}#${definition.code.code}` }],
        status: 'final',
        code: { coding: [definition.code] },
        ...(response.subject ? { subject: response.subject as Observation['subject'] } : {}),
        ...(response.authored ? { effectiveDateTime: response.authored } : {}),
        ...(score.kind === 'value'
          ? { valueQuantity: { value: score.value, unit: 'score', system: 'http://unitsofmeasure.org', code: '{score}' } }
          : { dataAbsentReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'unknown' }] } }),
        derivedFrom: [{ reference: `QuestionnaireResponse/${response.id}` }],
      };
      observations.push(observation);
    }
  }
  return [...schedules.map((r) => (r.resourceType === 'Task' ? (tasks.get(r.id) as Stored) : r)), ...responses, ...observations];
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export async function measuresBench(options: Options): Promise<void> {
  loadR4Definitions();
  const cohort = generateCohort(options.patients);
  for (const engine of options.engines) {
    const opened = await createScratchDatabase(engine);
    try {
      const recorder = recording(opened.db);
      const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', SEED_FIXTURES: 'false', DATA_DIR: 'memory://' }), db: recorder.db, closeDatabase: false, auth: await benchAuth() });
      const authorization = await benchToken(app);
      // The responses of the last patients are written through the server; the rest is bulk-loaded.
      const sampleFrom = `pain-patient-${String(Math.floor(options.patients * 0.9) + 1).padStart(Math.max(3, String(options.patients).length), '0')}`;
      const sampled = (r: Resource): boolean => ((r as QuestionnaireResponse).subject?.reference ?? '') >= `Patient/${sampleFrom}`;
      const responses = cohort.responses as Array<QuestionnaireResponse & Stored>;
      const bulk = deriveForBench(cohort.schedules, responses.filter((r) => !sampled(r)));
      const written = responses.filter(sampled);
      let started = performance.now();
      for (let i = 0; i < bulk.length; i += 2000) {
        await bulkLoad(opened.db, bulk.slice(i, i + 2000));
      }
      await opened.db.exec('ANALYZE');
      print({ engine, patients: options.patients, bulk_loaded: bulk.length, bulk_load_s: +((performance.now() - started) / 1000).toFixed(1) });

      started = performance.now();
      for (let i = 0; i < written.length; i += RESPONSES_PER_BUNDLE) {
        const bundle = transactionBundle(`responses-${i}`, written.slice(i, i + RESPONSES_PER_BUNDLE));
        const response = await app.inject({ method: 'POST', url: '/fhir', headers: { authorization, 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, payload: JSON.stringify(bundle) });
        if (response.statusCode !== 200) {
          throw new Error(`responses ${i}: ${response.statusCode} ${response.body.slice(0, 500)}`);
        }
        process.stderr.write(`\r  ${Math.min(i + RESPONSES_PER_BUNDLE, written.length)} responses written`);
      }
      process.stderr.write('\n');
      const seconds = (performance.now() - started) / 1000;
      await opened.db.exec('ANALYZE');
      const counts = await opened.db.query<{ t: string; n: string }>(
        `SELECT resource_type AS t, count(*)::text AS n FROM resource WHERE resource_type IN ('Observation', 'Task', 'QuestionnaireResponse') GROUP BY 1 ORDER BY 1`
      );
      print({
        engine,
        responses_written: written.length,
        write_s: +seconds.toFixed(1),
        ms_per_response: +((seconds * 1000) / written.length).toFixed(2),
        stored: Object.fromEntries(counts.map((c) => [c.t, Number(c.n)])),
      });

      const timed = async (name: string, url: string): Promise<void> => {
        for (let i = 0; i < 3; i++) {
          await app.inject({ method: 'GET', url, headers: { authorization } });
        }
        const times: number[] = [];
        for (let i = 0; i < options.iterations; i++) {
          const t0 = performance.now();
          const response = await app.inject({ method: 'GET', url, headers: { authorization } });
          times.push(performance.now() - t0);
          if (response.statusCode !== 200) {
            throw new Error(`${name}: ${response.statusCode} ${response.body.slice(0, 300)}`);
          }
        }
        times.sort((a, b) => a - b);
        print({ engine, patients: options.patients, request: name, p50_ms: +percentile(times, 50).toFixed(1), p99_ms: +percentile(times, 99).toFixed(1) });
      };
      for (const measure of MEASURES) {
        await timed(`$evaluate-measure ${measure}`, `/fhir/Measure/${measure}/$evaluate-measure?${PERIOD}`);
      }
      await timed('$evaluate-measure pain-pdi-change reporter', `/fhir/Measure/pain-pdi-change/$evaluate-measure?${PERIOD}&reporter=Organization/pain-rc-noord`);
      await timed('overdue: Task?status=requested&restriction-period=eb2025-06-01&_count=50', '/fhir/Task?status=requested&restriction-period=eb2025-06-01&_count=50');

      const report = (await app.inject({ method: 'GET', url: `/fhir/Measure/pain-pdi-change/$evaluate-measure?${PERIOD}`, headers: { authorization } })).json<{ group: Array<{ population: Array<{ count: number }>; measureScore?: { value: number } }> }>();
      print({ engine, patients: options.patients, pdi_change: report.group[0]?.measureScore?.value, populations: report.group[0]?.population.map((p) => p.count) });

      let seqScans = 0;
      for (const measure of MEASURES) {
        recorder.start();
        await app.inject({ method: 'GET', url: `/fhir/Measure/${measure}/$evaluate-measure?${PERIOD}`, headers: { authorization } });
        // The request's AuditEvent INSERT also starts WITH; EXPLAIN ANALYZE would write it twice.
        const statements = recorder.stop().filter((s) => s.sql.startsWith('WITH') && !/\bINSERT INTO\b/i.test(s.sql));
        for (const statement of statements) {
          const plan = await opened.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS off) ${statement.sql}`, statement.params);
          const text = plan.map((row) => row['QUERY PLAN']).join('\n');
          const scans = text.match(/Seq Scan on (resource|resource_history|search_\w+)\b/g) ?? [];
          seqScans += scans.length;
          const total = /Execution Time: ([\d.]+) ms/.exec(text)?.[1];
          print({ engine, measure, execution_ms: total === undefined ? undefined : Number(total), sequential_scans: scans });
          if (scans.length > 0 || process.env['BENCH_PLANS']) {
            process.stdout.write(`${text}\n`);
          }
        }
      }
      process.stdout.write(`${engine}: sequential scans on big tables: ${seqScans}\n\n`);
      await app.close();
      if (seqScans > 0) {
        process.exitCode = 1;
      }
    } finally {
      await opened.destroy();
    }
  }
}
