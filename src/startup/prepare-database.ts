/**
 * What a start writes before the app serves: pending migrations, the server's profiles and
 * definitions (profiles/, its SearchParameters), and the demo fixtures in development; all under
 * the start-up lock (storage/startup-lock.ts), so any number of nodes may start together on one
 * empty database. Each part is idempotent: a node that got the lock second writes nothing.
 */
import { createServices, type Services } from '../app.js';
import type { Config } from '../config/config.js';
import type { CareWorkflowOptions } from '../domain/care-workflows.js';
import { installDefinitions } from '../seed/definitions.js';
import { FIXTURES_DIR, seedFixtures } from '../seed/fixtures.js';
import { installProfiles } from '../seed/profiles.js';
import type { Database } from '../storage/database.js';
import { migrate } from '../storage/migrate.js';
import { withStartupLock } from '../storage/startup-lock.js';
import type { ProfileRegistry } from '../validation/profiles.js';
import type { StartupPhases } from './phases.js';

export interface PrepareOptions {
  /** Demo Bundles to load when config.seedFixtures is on; fixtures/ by default. */
  readonly fixturesDir?: string;
  readonly profiles?: ProfileRegistry;
  readonly careWorkflows?: CareWorkflowOptions;
}

/** Migrates, installs the definitions and seeds under the start-up lock; answers the services for buildApp. */
export async function prepareDatabase(
  config: Config,
  db: Database,
  phases: StartupPhases,
  options: PrepareOptions = {}
): Promise<Services> {
  const lock = { databaseUrl: config.databaseUrl, connectTimeoutMs: config.databaseConnectTimeoutMs };
  return withStartupLock(lock, phases.log, async () => {
    await phases.run('migrate', () => migrate(db), (applied) => ({ applied: applied.length }));
    const services = await phases.run(
      'definitions',
      async () => {
        const created = createServices(config, db, options.profiles, options.careWorkflows);
        const written = (await installProfiles(created.context)) + (await installDefinitions(created.context, created.definitions));
        return { created, written };
      },
      ({ written }) => ({ written })
    );
    await phases.run(
      'seed',
      async () => {
        if (!config.seedFixtures) {
          return 0;
        }
        const baseUrl = config.publicBaseUrl ?? `http://localhost:${config.port}${config.basePath}`;
        return seedFixtures(services.created.context, baseUrl, options.fixturesDir ?? FIXTURES_DIR);
      },
      (loaded) => ({ enabled: config.seedFixtures, loaded })
    );
    return services.created;
  });
}
