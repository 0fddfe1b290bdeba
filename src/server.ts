/**
 * Process entry. The port is bound first (http/startup-gate.ts): a busy port fails within a
 * second, /healthz answers at once and everything else 503 until the app is ready. Then, one log
 * line per phase: keys, connect (waiting for a PostgreSQL server that is not up yet,
 * DATABASE_STARTUP_WAIT_SECONDS), migrate, definitions and seed (under one advisory lock, so
 * nodes may start together, storage/startup-lock.ts), app. With HEALTH_PORT set, a worker
 * thread answers /healthz on that port from the start (http/health-listener.ts). On SIGINT/SIGTERM
 * in-flight requests finish before the database closes.
 *
 * Only light modules are imported up front; the app and its FHIR definitions (seconds of module
 * loading) are imported once the port is bound.
 */
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { StartupGate } from './http/startup-gate.js';
import { loggerOptions } from './logging/logger.js';
import { StartupPhases } from './startup/phases.js';
import type { Database } from './storage/database.js';

/** Exit codes: 2 for configuration an operator must fix, 1 for any other failed start. */
const EXIT_CONFIG = 2;
const EXIT_FAILED = 1;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  // The app's logger exists only once the app is built; the start, waiting for the database and
  // later lost connections are logged through this one, in the same JSON lines.
  const log = pino(loggerOptions(config.logLevel));
  const gate = new StartupGate();
  const phases = new StartupPhases(log, (phase) => {
    gate.phase = phase;
  });
  let app: FastifyInstance | undefined;
  let db: Database | undefined;

  try {
    // A burst of new connections beyond the kernel's accept queue would be dropped and retried by
    // the clients seconds later; 1024 (Linux caps it at net.core.somaxconn) lets load shedding
    // answer them instead (http/load-shedding.ts).
    await phases.run('listen', () => gate.listen({ port: config.port, host: config.host, backlog: 1024 }), () => ({ host: config.host, port: config.port }));
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : undefined;
    log.fatal({ phase: 'listen', code, host: config.host, port: config.port }, `cannot listen on ${config.host}:${config.port}${code === 'EADDRINUSE' ? ': the port is in use by another process' : ''}; exiting`);
    process.exit(EXIT_FAILED);
  }
  const { healthPort } = config;
  if (healthPort !== undefined) {
    // Liveness answered by a worker thread, beside the FHIR port (http/health-listener.ts).
    const { startHealthListener } = await import('./http/health-listener.js');
    try {
      await phases.run('listen-health', () => startHealthListener({ port: healthPort, host: config.host, maxStallMs: config.healthMaxStallMs }), () => ({ port: healthPort }));
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : undefined;
      log.fatal({ phase: 'listen-health', code, host: config.host, port: healthPort }, `cannot listen on ${config.host}:${healthPort} (HEALTH_PORT)${code === 'EADDRINUSE' ? ': the port is in use by another process' : ''}; exiting`);
      process.exit(EXIT_FAILED);
    }
  }

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) {
      return;
    }
    closing = true;
    if (app === undefined) {
      // Nothing is served yet; migrations run in transactions, the start-up lock ends with the process.
      log.info({ signal, phase: gate.phase }, 'shutting down during start-up');
      gate.server.close();
      process.exit(0);
    }
    const running = app;
    running.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      running.log.error('shutdown grace period over; exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        running.log.error({ err: error }, 'error during shutdown');
        process.exit(1);
      }
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  try {
    const { AuthSetupError, loadAuthSetup } = await import('./auth/setup.js');
    const auth = await phases.run('keys', () => loadAuthSetup(config)).catch((error: unknown) => {
      if (error instanceof AuthSetupError) {
        process.stderr.write(`Configuration error: ${error.message}\n`);
        process.exit(EXIT_CONFIG);
      }
      throw error;
    });
    const { connectDatabase } = await import('./storage/open.js');
    const opened = await phases.run('connect', () => connectDatabase(config, log), (d) => ({ engine: d.engine }));
    db = opened;
    const { prepareDatabase } = await import('./startup/prepare-database.js');
    const services = await prepareDatabase(config, opened, phases);
    const { buildApp } = await import('./app.js');
    app = await phases.run('app', () => buildApp({ config, db: opened, auth, services, serverFactory: gate.serverFactory }));
    if (auth.demo) {
      app.log.warn('development mode: demo clients gp, physio, nurse, rehab, admin and auditor are registered (npm run token -- --as gp)');
    }
    gate.open();
    log.info({ engine: opened.engine, basePath: config.basePath, durationMs: phases.total() }, 'Schakel is serving FHIR R4');
  } catch (error) {
    log.fatal({ phase: gate.phase }, `Schakel failed to start in phase ${gate.phase}: ${error instanceof Error ? error.message : String(error)}`);
    gate.server.close();
    await db?.close().catch(() => undefined);
    process.exit(EXIT_FAILED);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`Schakel failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(EXIT_FAILED);
});
