/**
 * storage/migrate.ts on its own (scripts and tests call it without the start-up lock): several
 * callers at once on one empty PostgreSQL database each end with every migration applied once.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import t from 'tap';
import type { Database } from '../../src/storage/database.js';
import { listMigrations, migrate } from '../../src/storage/migrate.js';
import { connectDatabase } from '../../src/storage/open.js';
import { engine } from '../helpers/database.js';

t.test('concurrent migrate() calls on an empty database', { skip: engine === 'pglite' ? 'PGlite is one process\'s database' : false }, async (t) => {
  const adminUrl = process.env['DATABASE_URL'] ?? '';
  for (let round = 1; round <= 3; round++) {
    const name = `schakel_migrate_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const dbs: Database[] = [];
    try {
      for (let n = 0; n < 4; n++) {
        dbs.push(await connectDatabase({ databaseUrl: url.toString(), databasePoolSize: 1, dataDir: '' }));
      }
      const results = await Promise.allSettled(dbs.map((db) => migrate(db)));
      t.same(results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason)), [], `round ${round}: every caller succeeds`);
      const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      t.equal(applied.length, listMigrations().length, `round ${round}: each migration applied by exactly one caller`);
    } finally {
      for (const db of dbs) {
        await db.close();
      }
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }
});
