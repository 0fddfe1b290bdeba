/**
 * Test databases on the engine CI asks for, each a private copy of a template that holds what a
 * server writes before its first request (the migrated schema, the profiles and definitions of
 * profiles/): on PostgreSQL a database created `TEMPLATE` from a template database, on PGlite a
 * copy of a template data folder. A start on such a copy migrates and installs nothing, which is
 * most of what building a test app costs (initdb takes ~5 s, the migrations and the installs
 * seconds more; copying a folder or a database well under one).
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Database, EngineName } from '../../src/storage/database.js';
import { listMigrations } from '../../src/storage/migrate.js';
import { openDatabase } from '../../src/storage/open.js';
import { openPglite } from '../../src/storage/pglite.js';
import { migrate } from '../../src/storage/migrate.js';

export const engine: EngineName = process.env['DATABASE_URL'] ? 'postgres' : 'pglite';

export interface TestDatabase {
  readonly db: Database;
  /** Opens the same database again (restart tests); the previous handle must be closed. */
  reopen(): Promise<Database>;
  /** Closes every handle and removes the database. */
  destroy(): Promise<void>;
}

const ROOT = new URL('../../', import.meta.url);

/** Every file under a folder of the repository, in a stable order. */
function filesUnder(relative: string): string[] {
  const dir = new URL(relative, ROOT);
  const out: string[] = [];
  const walk = (path: string): void => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) {
        walk(full);
      } else {
        out.push(full);
      }
    }
  };
  walk(dir.pathname);
  return out;
}

/**
 * Names the template by everything its content comes from: the migrations, the profiles and
 * definitions, and the code that installs them. A stale template would still be correct (a start
 * installs what differs) but slow; a changed input makes a new one.
 */
function templateKey(): string {
  const hash = createHash('sha256');
  for (const m of listMigrations()) {
    hash.update(m.version).update(m.sql);
  }
  for (const file of [...filesUnder('profiles/'), ...filesUnder('src/seed/'), ...filesUnder('src/search/')]) {
    hash.update(file).update(readFileSync(file));
  }
  // Templates built before they were analyzed last hold the statistics of an empty database.
  hash.update('analyzed when built');
  return hash.digest('hex').slice(0, 16);
}

/**
 * Where test data folders go: a memory filesystem where the machine has one, since copying the
 * template's files to a disk and deleting them again costs more than the rest of a test app's database.
 */
function scratchRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

let key: string | undefined;
const templateName = (): string => (key ??= templateKey());

/** Runs a server start on a migrated database, so that it holds the profiles and definitions. */
async function installServerContent(db: Database): Promise<void> {
  // Imported here: app.ts (the test app helper) imports this module.
  const { buildApp } = await import('../../src/app.js');
  const { testConfig } = await import('./app.js');
  const { testAuthSetup } = await import('./auth.js');
  const app = await buildApp({ config: testConfig(), db, closeDatabase: false, auth: await testAuthSetup() });
  await app.close();
}

/** Templates of earlier code, unused for a day, would otherwise pile up in memory. */
function removeStaleTemplates(): void {
  const root = scratchRoot();
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (name.startsWith('schakel-pglite-template-') && Date.now() - statSync(path).mtimeMs > 86_400_000) {
      rmSync(path, { recursive: true, force: true });
    }
  }
}

/** A PGlite data folder holding a started server's database, to copy from (built once per template key). */
export async function pgliteTemplate(): Promise<string> {
  const dir = join(scratchRoot(), `schakel-pglite-template-${templateName()}`);
  if (existsSync(join(dir, 'PG_VERSION'))) {
    const now = new Date();
    utimesSync(dir, now, now);
    return dir;
  }
  removeStaleTemplates();
  const work = mkdtempSync(join(scratchRoot(), 'schakel-pglite-build-'));
  const db = await openPglite(work);
  await migrate(db);
  await installServerContent(db);
  // Statistics of the content as installed, so that a copy need not ANALYZE when opened.
  await db.exec('ANALYZE');
  await db.close();
  try {
    renameSync(work, dir);
  } catch {
    // Another test process built it first.
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

/** A private copy of the template folder. */
async function pgliteDatabase(): Promise<TestDatabase> {
  const template = await pgliteTemplate();
  const dir = mkdtempSync(join(scratchRoot(), 'schakel-test-'));
  cpSync(template, dir, { recursive: true });
  const handles: Database[] = [];
  const open = async (): Promise<Database> => {
    const db = await openDatabase({ databaseUrl: undefined, databasePoolSize: 1, dataDir: dir });
    handles.push(db);
    return db;
  };
  // The copy holds the template's statistics, gathered when it was built: an ANALYZE at its first
  // open (a few hundred ms of every test process) would find the same. Reopening analyzes as a
  // server start does (test/storage/persistence.test.ts).
  const first = await openPglite(dir, { analyzeAtOpen: false });
  handles.push(first);
  await migrate(first);
  return {
    db: first,
    reopen: open,
    async destroy() {
      for (const h of handles) {
        await h.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The template database on this server (built once per template key and server, under an
 * advisory lock so that parallel test files build it once). It is built under a scratch name and
 * renamed when complete, so its final name never names a half-built database.
 */
async function postgresTemplate(adminUrl: string): Promise<string> {
  const name = `schakel_template_${templateName()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      const scratch = `schakel_template_build_${randomBytes(6).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${scratch}`);
      const db = await openDatabase({ databaseUrl: databaseUrl(adminUrl, scratch), databasePoolSize: 4, dataDir: '' });
      await installServerContent(db);
      await db.close();
      await admin.query(`ALTER DATABASE ${scratch} RENAME TO ${name}`);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => undefined);
    await admin.end();
  }
  return name;
}

/** A new database on the server, a copy of the template database. */
export async function createPostgresCopy(adminUrl: string): Promise<{ name: string; url: string }> {
  const template = await postgresTemplate(adminUrl);
  const name = `schakel_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.end();
  }
  return { name, url: databaseUrl(adminUrl, name) };
}

async function postgresDatabase(adminUrl: string): Promise<TestDatabase> {
  const { name, url } = await createPostgresCopy(adminUrl);
  const handles: Database[] = [];
  const open = async (): Promise<Database> => {
    const db = await openDatabase({ databaseUrl: url, databasePoolSize: 20, dataDir: '' });
    handles.push(db);
    return db;
  };
  return {
    db: await open(),
    reopen: open,
    async destroy() {
      for (const h of handles) {
        await h.close().catch(() => undefined);
      }
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

/** A private, migrated database on the engine the environment selects (DATABASE_URL or PGlite). */
export async function createTestDatabase(): Promise<TestDatabase> {
  return createScratchDatabase(engine);
}

/** A private, migrated database on the given engine; PostgreSQL needs DATABASE_URL (tests, benchmarks). */
export async function createScratchDatabase(on: EngineName): Promise<TestDatabase> {
  if (on === 'pglite') {
    return pgliteDatabase();
  }
  const url = process.env['DATABASE_URL'];
  if (!url) {
    throw new Error('a PostgreSQL scratch database needs DATABASE_URL (a server where it may create databases)');
  }
  return postgresDatabase(url);
}
