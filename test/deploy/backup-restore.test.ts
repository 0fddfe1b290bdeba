/**
 * Backup and restore as docs/operations.md describes them. PostgreSQL: scripts/backup.sh while the
 * server serves, scripts/restore.sh into a fresh database, a new app on it reads the same record
 * and the same audit log. PGlite: a copy of the stopped data folder is a backup.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Database } from '../../src/storage/database.js';
import { openDatabase } from '../../src/storage/open.js';
import { injector, testConfig } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { engine, pgliteTemplate } from '../helpers/database.js';

const run = promisify(execFile);
const scripts = fileURLToPath(new URL('../../scripts/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'schakel-backup-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

interface Running {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly request: ReturnType<typeof injector>;
}

async function start(db: Database): Promise<Running> {
  const app = await buildApp({ config: testConfig(), db, closeDatabase: false, auth: await testAuthSetup() });
  return { app, db, request: injector(app) };
}

async function stop(running: Running): Promise<void> {
  await running.app.close();
  await running.db.close();
}

/** A patient with an observation, read once (an audit row), through HTTP. */
async function createRecord(t: Test, { request }: Running, bsn: string): Promise<{ patientId: string; observationId: string }> {
  const patient = await request({
    method: 'POST',
    url: '/fhir/Patient',
    body: { resourceType: 'Patient', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: bsn }], name: [{ family: 'Backup' }] },
  });
  t.equal(patient.statusCode, 201, 'patient created');
  const patientId = String(patient.json().id);
  const observation = await request({
    method: 'POST',
    url: '/fhir/Observation',
    body: {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
      subject: { reference: `Patient/${patientId}` },
      valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
    },
  });
  t.equal(observation.statusCode, 201, 'observation created');
  t.equal((await request({ method: 'GET', url: `/fhir/Patient/${patientId}` })).statusCode, 200, 'patient read');
  return { patientId, observationId: String(observation.json().id) };
}

/** Checks that the record reads back as it was written, with its history and index. */
async function checkRecord(t: Test, { request }: Running, ids: { patientId: string; observationId: string }, bsn: string): Promise<void> {
  const patient = await request({ method: 'GET', url: `/fhir/Patient/${ids.patientId}` });
  t.equal(patient.statusCode, 200, 'the patient reads back');
  t.equal(patient.json().meta.versionId, '1');
  const found = await request({ method: 'GET', url: `/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|${bsn}` });
  t.same(
    found.json().entry?.map((e: { resource: { id: string } }) => e.resource.id),
    [ids.patientId],
    'the search index came along: the BSN finds the patient'
  );
  const observations = await request({ method: 'GET', url: `/fhir/Observation?subject=Patient/${ids.patientId}` });
  t.equal(observations.json().entry?.[0]?.resource?.valueQuantity?.value, 72.5, 'the observation reads back by its patient');
}

async function auditIds(db: Database, patientId: string): Promise<string[]> {
  const rows = await db.query<{ id: string }>('SELECT id::text AS id FROM audit_log WHERE $1 = ANY(patients) ORDER BY id', [patientId]);
  return rows.map((r) => r.id);
}

const onPostgres = engine === 'postgres' && process.env['DATABASE_URL'] !== undefined;
const skipOnPglite = onPostgres
  ? false
  : 'pg_dump/pg_restore back up a PostgreSQL server: runs with DATABASE_URL set (on PGlite the data-folder test below runs instead)';

t.test('PostgreSQL: backup.sh while serving, restore.sh into a fresh database, the record and its audit log come back', { skip: skipOnPglite }, async (t) => {
  const adminUrl = process.env['DATABASE_URL'] ?? '';
  const suffix = randomBytes(6).toString('hex');
  const source = `schakel_backup_src_${suffix}`;
  const target = `schakel_backup_dst_${suffix}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${source}`);
  await admin.query(`CREATE DATABASE ${target}`);
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${source} WITH (FORCE)`);
    await admin.query(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
    await admin.end();
  });
  const urlOf = (name: string): string => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const open = (name: string): Promise<Database> => openDatabase({ databaseUrl: urlOf(name), databasePoolSize: 4, dataDir: '' });
  const scriptEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'], ...extra });

  const bsn = '999911120';
  const before = await start(await open(source));
  const ids = await createRecord(t, before, bsn);
  const audited = await auditIds(before.db, ids.patientId);
  t.ok(audited.length >= 3, 'the writes and the read left audit rows');

  const dump = join(tmp, 'schakel.dump');
  // Online: the source app is still serving while pg_dump runs.
  await run('bash', [join(scripts, 'backup.sh'), dump], { env: scriptEnv({ DATABASE_URL: urlOf(source) }) });
  await stop(before);

  // The target's URL from a file, as a Docker secret would give it.
  const secret = join(tmp, 'database-url');
  writeFileSync(secret, `${urlOf(target)}\n`);
  await run('bash', [join(scripts, 'restore.sh'), dump], { env: scriptEnv({ DATABASE_URL_FILE: secret }) });

  const after = await start(await open(target));
  t.teardown(() => stop(after));
  await checkRecord(t, after, ids, bsn);
  const restored = await auditIds(after.db, ids.patientId);
  t.same(restored.filter((id) => audited.includes(id)), audited, 'every audit row of the patient is there');
  const auditEvents = await after.request({ method: 'GET', url: `/fhir/AuditEvent?patient=Patient/${ids.patientId}&_count=100`, as: 'auditor' });
  t.equal(auditEvents.statusCode, 200);
  const eventIds = new Set(auditEvents.json().entry?.map((e: { resource: { id: string } }) => e.resource.id) ?? []);
  t.ok(audited.every((id) => eventIds.has(id)), 'and the AuditEvent view shows them');

  const again = await after.request({ method: 'POST', url: '/fhir/Observation', body: {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
    subject: { reference: `Patient/${ids.patientId}` },
  } });
  t.equal(again.statusCode, 201, 'the restored database takes new writes (identity sequences came along)');

  const refused = await run('bash', [join(scripts, 'restore.sh'), dump], { env: scriptEnv({ DATABASE_URL: urlOf(target) }) }).then(
    () => 0,
    (error: { code?: number }) => error.code ?? -1
  );
  t.equal(refused, 3, 'restore.sh refuses a database that already has tables');
  t.equal((await checkCount(after.db, ids.patientId)), 2, 'and left it as it was');
});

async function checkCount(db: Database, patientId: string): Promise<number> {
  const rows = await db.query<{ n: string | number }>(
    `SELECT count(*) AS n FROM resource WHERE resource_type = 'Observation' AND NOT deleted AND content::jsonb -> 'subject' ->> 'reference' = $1`,
    [`Patient/${patientId}`]
  );
  return Number(rows[0]?.n ?? 0);
}

t.test('PGlite: a copy of the stopped data folder is a backup', async (t) => {
  const original = join(tmp, 'pglite-data');
  cpSync(await pgliteTemplate(), original, { recursive: true });
  const open = (dir: string): Promise<Database> => openDatabase({ databaseUrl: undefined, databasePoolSize: 1, dataDir: dir });
  const bsn = '999990019';
  const before = await start(await open(original));
  const ids = await createRecord(t, before, bsn);
  const audited = await auditIds(before.db, ids.patientId);
  await stop(before);

  const copy = join(tmp, 'pglite-copy');
  cpSync(original, copy, { recursive: true });
  rmSync(original, { recursive: true, force: true });

  const after = await start(await open(copy));
  t.teardown(() => stop(after));
  await checkRecord(t, after, ids, bsn);
  const restored = await auditIds(after.db, ids.patientId);
  // The reads above add rows of their own; every row from before the copy must be among them.
  t.same(restored.filter((id) => audited.includes(id)), audited, 'the audit rows came along');
});
