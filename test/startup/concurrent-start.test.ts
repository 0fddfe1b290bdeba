/**
 * Nodes starting together on one empty database (startup/prepare-database.ts under
 * storage/startup-lock.ts): no deadlock, migrations and definitions once, demo fixtures exactly
 * once in development and never in production. In-process "nodes" (each its own connection pool,
 * as two processes would have) keep this cheap enough for every push; a small fixture folder
 * stands in for fixtures/.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import t from 'tap';
import { loadConfig, type Config } from '../../src/config/config.js';
import { StartupPhases } from '../../src/startup/phases.js';
import { prepareDatabase } from '../../src/startup/prepare-database.js';
import type { Database } from '../../src/storage/database.js';
import { connectDatabase } from '../../src/storage/open.js';
import { engine, pgliteTemplate } from '../helpers/database.js';

const work = mkdtempSync(join(tmpdir(), 'schakel-startup-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const profilesDir = join(work, 'profiles');
const fixturesDir = join(work, 'fixtures') + '/';
mkdirSync(profilesDir);
mkdirSync(fixturesDir);

const BSNS = ['999911120', '999990019'];
// PUT by id, as fixtures/ does: loaded twice, every Patient would get a version 2.
writeFileSync(
  join(fixturesDir, 'patients.json'),
  JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: BSNS.map((bsn, n) => ({
      resource: {
        resourceType: 'Patient',
        id: `startup-patient-${n + 1}`,
        identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: bsn }],
        name: [{ family: `Startproef${n + 1}`, given: ['Test'] }],
        meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST' }] },
      },
      request: { method: 'PUT', url: `Patient/startup-patient-${n + 1}` },
    })),
  })
);

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function nodeConfig(env: Record<string, string>, production: boolean): Config {
  return loadConfig({
    LOG_LEVEL: 'silent',
    PROFILES_DIR: profilesDir,
    DATABASE_POOL_SIZE: '2',
    AUTH_TOKEN_LIFETIME: '3600',
    ...env,
    ...(production ? { SCHAKEL_MODE: 'production', PUBLIC_BASE_URL: 'https://schakel.example.org/fhir' } : { SCHAKEL_MODE: 'development' }),
  });
}

/** One node's start up to the app build; answers its database handle for the counts. */
async function startNode(config: Config, phases = new StartupPhases(silent)): Promise<Database> {
  const db = await connectDatabase(config);
  try {
    await prepareDatabase(config, db, phases, { fixturesDir });
    return db;
  } catch (error) {
    await db.close();
    throw error;
  }
}

async function patientVersions(db: Database): Promise<{ patients: number; versions: number; migrations: number }> {
  const [row] = await db.query<{ patients: string; versions: string; migrations: string }>(
    `SELECT (SELECT count(*) FROM resource WHERE resource_type = 'Patient') AS patients,
            (SELECT count(*) FROM resource_history WHERE resource_type = 'Patient') AS versions,
            (SELECT count(*) FROM schema_migrations) AS migrations`
  );
  return { patients: Number(row?.patients), versions: Number(row?.versions), migrations: Number(row?.migrations) };
}

t.test(`a restart on ${engine} loads the demo fixtures once in development, never in production`, async (t) => {
  const dataDir = join(work, 'restart');
  const adminUrl = process.env['DATABASE_URL'];
  // PGlite: a copy of the migrated template (initdb costs seconds); PostgreSQL: a fresh database.
  if (!adminUrl) {
    cpSync(await pgliteTemplate(), dataDir, { recursive: true });
  }
  const env: Record<string, string> = { DATA_DIR: dataDir };
  let drop = async (): Promise<void> => undefined;
  if (adminUrl) {
    const created = await freshDatabase(adminUrl);
    env['DATABASE_URL'] = created.url;
    drop = created.drop;
  }
  t.teardown(() => drop());
  const lines: Array<{ phase?: string; durationMs?: number }> = [];
  const log = { info: (d: object) => lines.push(d), warn: () => undefined, error: (d: object) => lines.push(d) };
  for (let start = 1; start <= 2; start++) {
    const db = await startNode(nodeConfig(env, false), new StartupPhases(log));
    t.same(await patientVersions(db).then((c) => [c.patients, c.versions]), [BSNS.length, BSNS.length], `start ${start}: each Patient once, at version 1`);
    await db.close();
  }
  t.same(
    [...new Set(lines.map((l) => l.phase))],
    ['migrate', 'definitions', 'seed'],
    'one line per phase, in order'
  );
  t.ok(lines.every((l) => typeof l.durationMs === 'number'), 'each with its duration');
  if (!adminUrl) {
    // PGlite: one data folder per process; production gets a fresh one.
    env['DATA_DIR'] = join(work, 'restart-production');
    cpSync(await pgliteTemplate(), env['DATA_DIR'], { recursive: true });
  } else {
    await drop();
    const created = await freshDatabase(adminUrl);
    env['DATABASE_URL'] = created.url;
    drop = created.drop;
  }
  const db = await startNode(nodeConfig(env, true));
  t.equal((await patientVersions(db)).patients, 0, 'production loads no demo data');
  await db.close();
});

t.test('nodes starting together on one empty PostgreSQL database: no deadlock, fixtures once', { skip: engine === 'pglite' ? 'PGlite is one process\'s database: nodes cannot share it' : false }, async (t) => {
  const adminUrl = process.env['DATABASE_URL'] ?? '';
  const rounds = [...Array.from({ length: 10 }, () => false), true, true];
  for (const [n, production] of rounds.entries()) {
    const { url, drop } = await freshDatabase(adminUrl);
    try {
      const config = nodeConfig({ DATABASE_URL: url, DATA_DIR: join(work, `round-${n}`) }, production);
      const results = await Promise.allSettled([startNode(config), startNode(config)]);
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
      t.same(failures, [], `round ${n + 1}: both nodes started`);
      const dbs = results.filter((r): r is PromiseFulfilledResult<Database> => r.status === 'fulfilled').map((r) => r.value);
      const [db] = dbs;
      if (db) {
        const counts = await patientVersions(db);
        const expected = production ? 0 : BSNS.length;
        t.same([counts.patients, counts.versions], [expected, expected], `round ${n + 1} (${production ? 'production' : 'development'}): ${expected} Patients, each at version 1`);
      }
      for (const handle of dbs) {
        await handle.close();
      }
    } finally {
      await drop();
    }
  }
});

async function freshDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `schakel_startup_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) {
        return;
      }
      dropped = true;
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}
