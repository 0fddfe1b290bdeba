/**
 * Test databases on the engine CI asks for: a fresh PostgreSQL database per test file when
 * DATABASE_URL is set, else a private copy of a migrated PGlite template (initdb takes ~5 s,
 * copying the template well under one).
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
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

function templateDir(): string {
  const hash = createHash('sha256');
  for (const m of listMigrations()) {
    hash.update(m.version).update(m.sql);
  }
  return join(tmpdir(), `schakel-pglite-template-${hash.digest('hex').slice(0, 16)}`);
}

/** A migrated PGlite data folder to copy from (built once per set of migrations). */
export async function pgliteTemplate(): Promise<string> {
  const dir = templateDir();
  if (existsSync(join(dir, 'PG_VERSION'))) {
    return dir;
  }
  const work = mkdtempSync(join(tmpdir(), 'schakel-pglite-build-'));
  const db = await openPglite(work);
  await migrate(db);
  await db.close();
  try {
    renameSync(work, dir);
  } catch {
    // Another test process built it first.
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

async function pgliteDatabase(): Promise<TestDatabase> {
  const template = await pgliteTemplate();
  const dir = mkdtempSync(join(tmpdir(), 'schakel-test-'));
  cpSync(template, dir, { recursive: true });
  const handles: Database[] = [];
  const open = async (): Promise<Database> => {
    const db = await openDatabase({ databaseUrl: undefined, databasePoolSize: 1, dataDir: dir });
    handles.push(db);
    return db;
  };
  return {
    db: await open(),
    reopen: open,
    async destroy() {
      for (const h of handles) {
        await h.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `schakel_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handles: Database[] = [];
  const open = async (): Promise<Database> => {
    const db = await openDatabase({ databaseUrl: url.toString(), databasePoolSize: 20, dataDir: '' });
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
