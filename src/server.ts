/**
 * Process entry: read configuration, open the database (waiting for a PostgreSQL server that is not
 * up yet, DATABASE_STARTUP_WAIT_SECONDS), load demo data on a first start, listen,
 * and on SIGINT/SIGTERM finish in-flight requests before closing the database.
 */
import { pino } from 'pino';
import { buildApp } from './app.js';
import { AuthSetupError, loadAuthSetup } from './auth/setup.js';
import { ConfigError, loadConfig } from './config/config.js';
import { loggerOptions } from './logging/logger.js';
import { seedFixtures } from './seed/fixtures.js';
import { openDatabase } from './storage/open.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let auth;
  try {
    auth = await loadAuthSetup(config);
  } catch (error) {
    if (error instanceof AuthSetupError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // The app's logger exists only once the database is open; waiting for it and later losing
  // connections are logged through this one, in the same JSON lines.
  const storageLog = pino(loggerOptions(config.logLevel));
  const db = await openDatabase(config, storageLog);
  const app = await buildApp({ config, db, auth });
  if (auth.demo) {
    app.log.warn('development mode: demo clients gp, physio, nurse, rehab, admin and auditor are registered (npm run token -- --as gp)');
  }
  if (config.seedFixtures) {
    const loaded = await seedFixtures(app.fhirContext, config.publicBaseUrl ?? `http://localhost:${config.port}${config.basePath}`);
    if (loaded > 0) {
      app.log.info({ resources: loaded }, 'loaded synthetic demo fixtures into the empty database');
    }
  }
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) {
      return;
    }
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      app.log.error('shutdown grace period over; exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error during shutdown');
        process.exit(1);
      }
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // A burst of new connections beyond the kernel's accept queue would be dropped and retried by
  // the clients seconds later; 1024 (Linux caps it at net.core.somaxconn) lets load shedding
  // answer them instead (http/load-shedding.ts).
  await app.listen({ port: config.port, host: config.host, backlog: 1024 });
  app.log.info({ engine: db.engine, basePath: config.basePath }, 'Schakel is serving FHIR R4');
}

main().catch((error: unknown) => {
  process.stderr.write(`Schakel failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
