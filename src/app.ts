/**
 * Composition root: wires the concrete parts into a Fastify app. server.ts and the tests both
 * build the service through buildApp, so tests run the real thing.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import { AuthReload } from './auth/auth-reload.js';
import { referralActorOf } from './auth/referral-actor.js';
import { AuthService, type AuthSetup } from './auth/service.js';
import { EventDispatcher } from './events/dispatcher.js';
import { scheduleAuditLogMaintenance } from './audit/audit-retention.js';
import { AuditTrail } from './audit/audit-trail.js';
import { commitAuditRecord, createAuditCommit } from './audit/audit-commit.js';
import type { Config } from './config/config.js';
import type { CareWorkflowOptions } from './domain/care-workflows.js';
import { loadR4Definitions } from './fhir/definitions.js';
import { consoleClient } from './auth/demo-clients.js';
import { registerAuthorizeRoutes } from './http/authorize-routes.js';
import { registerLaunchRoutes } from './http/launch-routes.js';
import { registerAuthRoutes } from './http/auth-routes.js';
import { registerOpenApiRoute } from './http/openapi-route.js';
import { registerApiDocs } from './http/api-docs.js';
import { registerConsole } from './http/console-route.js';
import { registerAuthentication } from './http/authenticate.js';
import { registerBodyParsers } from './http/body-parsers.js';
import { registerDrain } from './http/drain.js';
import { registerTransportSecurity } from './http/security-headers.js';
import { createErrorHandler } from './http/errors.js';
import { registerFhirRoutes, registerFormatNegotiation, registerInteractionNaming } from './http/fhir-routes.js';
import { registerHealthRoutes } from './http/health.js';
import { registerLoadShedding } from './http/load-shedding.js';
import { registerMetrics } from './http/metrics-route.js';
import { trustProxyOption } from './http/trust-proxy.js';
import { NONE, ServiceMetrics } from './metrics/service-metrics.js';
import { notFound } from './fhir/outcomes.js';
import type { FhirContext } from './interactions/context.js';
import { FaultLogLimiter } from './logging/fault-log-limiter.js';
import { loggerOptions } from './logging/logger.js';
import { carePlanLogbookOperation } from './operations/careplan-logbook.js';
import { patientLogbookOperation } from './operations/patient-logbook.js';
import { carePlanProgressOperation } from './operations/careplan-progress.js';
import { operationDefinitions, OperationRegistry } from './operations/registry.js';
import { everythingOperation } from './operations/patient-everything.js';
import { versionsOperation } from './operations/server-versions.js';
import { taskClaimOperation } from './operations/task-claim.js';
import { validateOperation } from './operations/resource-validate.js';
import { subscriptionEventsOperation } from './operations/subscription-events.js';
import { questionnaireResponseExtractOperation } from './operations/questionnaire-response-extract.js';
import { subscriptionStatusOperation } from './operations/subscription-status.js';
import { SubscriptionEngine } from './subscriptions/subscription-engine.js';
import { runReminderPass, type ReminderResult } from './domain/reminders/reminder-pass.js';
import { scheduleReminders } from './domain/reminders/reminder-schedule.js';
import { SHIPPED_TOPICS } from './subscriptions/subscription-topics.js';
import { topicResource } from './subscriptions/topic-resource.js';
import { registerInteractionSpans } from './http/interaction-spans.js';
import { valueSetExpandOperation } from './operations/valueset-expand.js';
import { systemExportOperation } from './operations/server-export.js';
import { patientExportOperation } from './operations/patient-export.js';
import { groupExportOperation } from './operations/group-export.js';
import { ExportRunner, type RunOnceResult } from './bulk-export/export-runner.js';
import { registerExportRoutes } from './http/export-routes.js';
import { Repository } from './repository/repository.js';
import { createSearchService } from './search/service.js';
import type { SearchService } from './search/types.js';
import type { Database } from './storage/database.js';
import { writePipeline } from './write-pipeline.js';
import { installProfiles } from './seed/profiles.js';
import { installDefinitions, loadDefinitions } from './seed/definitions.js';
import { CUSTOM_SEARCH_PARAMETERS } from './search/custom-parameters.js';
import { applyOperation } from './operations/plan-definition-apply.js';
import { evaluateMeasureOperation } from './operations/measure-evaluate-measure.js';
import { ProfileRegistry } from './validation/profiles.js';
import { createValidator } from './validation/validator.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The transport-free FHIR services behind the routes (seeding, tests). */
    fhirContext: FhirContext;
    /** Tokens and principals (the token script and tests mint tokens through it). */
    auth: AuthService;
    /** The change-event dispatcher: consumers register here (the subscription engine; tests add their own). */
    resourceEvents: EventDispatcher;
    /** Rest-hook delivery of Subscriptions; tests drain it with drain(app.resourceEvents). */
    subscriptions: SubscriptionEngine;
    /** The reminder pass (domain/reminders/): runs on a timer; tests run one pass with runOnce. */
    reminders: { runOnce(now?: Date): Promise<ReminderResult> };
    /** Bulk Data export jobs (bulk-export/): run on a timer; tests run one pass with runOnce. */
    bulkExport: { runOnce(): Promise<RunOnceResult> };
  }
}

export interface AppDependencies {
  readonly config: Config;
  readonly db: Database;
  /** Close the database when the app closes (server.ts); tests that share a database pass false. */
  readonly closeDatabase?: boolean;
  /** Where log lines go (stdout when unset); tests capture them to check what is logged. */
  readonly logStream?: { write(line: string): void };
  /** Profiles to validate against; by default those in config.profilesDir. */
  readonly profiles?: ProfileRegistry;
  /** Token-signing key and registered clients (server.ts loads or generates them; tests make their own). */
  readonly auth: AuthSetup;
  /** Seams of the care workflows; by default the referral Task's actor is the caller of the write. */
  readonly careWorkflows?: CareWorkflowOptions;
  /**
   * Services whose profiles and definitions are already installed (server.ts does that under the
   * start-up lock, startup/prepare-database.ts); by default buildApp creates and installs them.
   */
  readonly services?: Services;
  /** The HTTP server to answer on (server.ts listens before the app exists, http/startup-gate.ts). */
  readonly serverFactory?: FastifyServerFactory;
}

export interface Services {
  readonly context: FhirContext;
  readonly search: SearchService;
  /** Questionnaires, PlanDefinitions, Measures… of profiles/, Schakel's SearchParameters and OperationDefinitions, installed at start. */
  readonly definitions: ReturnType<typeof loadDefinitions>;
  /** Delivers the change events after commit; not started until the app is (buildApp). */
  readonly events: EventDispatcher;
  /** What /metrics reports (requests, database pool, audit batches, event lag). */
  readonly metrics: ServiceMetrics;
  /** Matches change events to Subscriptions and delivers them; started with the app. */
  readonly subscriptions: SubscriptionEngine;
  /** Runs Bulk Data export jobs in the background; started with the app. */
  readonly exports: ExportRunner;
}

/**
 * The FHIR services without HTTP: what batch, seeding and tests share with the routes.
 * `profiles` defaults to the StructureDefinitions in config.profilesDir.
 */
export function createServices(
  config: Config,
  db: Database,
  profiles: ProfileRegistry = ProfileRegistry.fromFolder(config.profilesDir),
  careWorkflows: CareWorkflowOptions = {}
): Services {
  loadR4Definitions();
  const search = createSearchService(
    { defaultCount: config.defaultPageSize, maxCount: config.maxPageSize, maxIncludes: config.overload.maxIncludes },
    { exactLimit: config.searchTotalExactLimit, engine: db.engine }
  );
  const operations = new OperationRegistry()
    .register(validateOperation)
    .register(everythingOperation)
    .register(carePlanLogbookOperation)
    .register(patientLogbookOperation)
    .register(carePlanProgressOperation)
    .register(applyOperation)
    .register(evaluateMeasureOperation)
    .register(valueSetExpandOperation)
    .register(taskClaimOperation)
    .register(versionsOperation)
    .register(subscriptionStatusOperation)
    .register(subscriptionEventsOperation)
    .register(questionnaireResponseExtractOperation);
  const exportDeps = { db, retentionHours: config.bulkExport.retentionHours, pseudonymsAvailable: config.bulkExport.pseudonymKey !== undefined };
  operations.register(systemExportOperation(exportDeps)).register(patientExportOperation(exportDeps)).register(groupExportOperation(exportDeps));
  const definitions = [
    ...CUSTOM_SEARCH_PARAMETERS.map((sp) => ({ ...sp, id: sp.id as string })),
    // The OperationDefinition of every registered operation, so the CapabilityStatement's links resolve.
    ...operationDefinitions(operations),
    ...loadDefinitions(config.profilesDir),
    // The SubscriptionTopics the server ships, as Basic resources (subscriptions/topic-resource.ts).
    ...SHIPPED_TOPICS.map(topicResource),
  ];
  const workflows: CareWorkflowOptions = { ...careWorkflows, referral: { actorOf: referralActorOf, ...careWorkflows.referral } };
  const events = new EventDispatcher(db, { pollMs: config.eventPollMs });
  const repo = new Repository(db, {
    // The phases of a write, in order (write-pipeline.ts).
    ...writePipeline({ config, search, profiles, definitions, workflows, events }),
    resolveCriteria: (tx, type, criteria, access) => search.findIds(tx, type, criteria, 2, access),
    checkReferencesOnWrite: config.enforceReferentialIntegrityOnWrite,
    checkReferencesOnDelete: config.enforceReferentialIntegrityOnDelete,
    versionUnchangedUpdates: config.updateNoopNewVersion,
  });
  const auditTrail = new AuditTrail(config.publicBaseUrl ?? 'schakel');
  const metrics = new ServiceMetrics(db);
  const auditCommit = createAuditCommit(db, auditTrail, config.auditGroupCommit, (records) => metrics.observeAuditBatch(records));
  const context: FhirContext = {
    config,
    repo,
    validator: createValidator(profiles),
    search,
    operations,
    auditTrail,
    auditCommit,
    ...(db.reads !== undefined ? { reads: db.reads } : {}),
  };
  const subscriptions = new SubscriptionEngine(db, repo, search, {
    config: config.subscriptions,
    baseUrl: config.publicBaseUrl ?? tokenIdentity(config).audience,
    pollMs: config.eventPollMs,
    observeDelivery: (outcome) => metrics.observeSubscriptionDelivery(outcome),
    audit: (record) => commitAuditRecord(auditCommit, record),
  });
  const exports = new ExportRunner(db, search, config.bulkExport);
  return { context, search, definitions, events, metrics, subscriptions, exports };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** `iss` of Schakel's tokens and their audience (the FHIR base URL). */
export function tokenIdentity(config: Config): { issuer: string; audience: string } {
  const issuer = config.auth.issuer ?? (config.publicBaseUrl ? new URL(config.publicBaseUrl).origin : `http://localhost:${config.port}`);
  return { issuer, audience: `${issuer}${config.basePath}` };
}

async function installedServices(config: Config, db: Database, deps: AppDependencies): Promise<Services> {
  const services = createServices(config, db, deps.profiles, deps.careWorkflows);
  await installProfiles(services.context);
  await installDefinitions(services.context, services.definitions);
  return services;
}

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, db } = deps;
  const services = deps.services ?? (await installedServices(config, db, deps));
  const app = Fastify({
    ...(deps.serverFactory !== undefined ? { serverFactory: deps.serverFactory } : {}),
    logger: deps.logStream ? { ...loggerOptions(config.logLevel), stream: deps.logStream } : loggerOptions(config.logLevel),
    bodyLimit: config.bodyLimit,
    // TRUST_PROXY (config.ts): which senders' X-Forwarded-For names the client's address (request.ip).
    trustProxy: trustProxyOption(config.trustProxy),
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // http/drain.ts answers requests that arrive while closing with a FHIR OperationOutcome.
    return503OnClosing: false,
    // Errors the router raises before any route or hook (a malformed path) become OperationOutcomes too.
    // The handler is the one setErrorHandler installs below (requests arrive only after that).
    frameworkErrors: (error, request, reply) => {
      app.errorHandler(error, request, reply);
    },
  });
  // First of all hooks: during shutdown nothing else (authentication, rate limit) runs.
  // A second of the grace period is left for closing the database (server.ts exits at its end).
  registerDrain(app, { graceMs: Math.max(0, config.shutdownGraceMs - 1000) });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // One log line per request: ids and timings, never the URL (it can hold a BSN) or a body.
  // The client id names the calling system (a registered client, auth/clients.ts), not a person.
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        clientId: request.principal?.clientId,
        interaction: request.fhirInteraction?.code ?? NONE,
        resourceType: request.fhirInteraction?.resourceType,
        operation: request.fhirInteraction?.operation,
        route: request.routeOptions.url,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed'
    );
  });

  // Development registers the professionals' console as a public SMART app (auth/demo-clients.ts).
  const appClients = config.mode === 'development' ? [consoleClient(tokenIdentity(config).issuer)] : [];
  const auth = new AuthService({ ...deps.auth, config: config.auth, ...tokenIdentity(config), appClients });
  // A rotated key file and a changed clients file are taken up without a restart (auth/auth-reload.ts).
  const authReload = new AuthReload(deps.auth, { config: config.auth, mode: config.mode, log: app.log });
  authReload.start();
  app.addHook('onClose', async () => authReload.stop());
  app.decorate('fhirContext', services.context);
  app.decorate('auth', auth);
  app.decorate('resourceEvents', services.events);
  app.decorate('subscriptions', services.subscriptions);
  const reminderOptions = { feedbackDueDays: config.referralFeedbackDueDays };
  app.decorate('bulkExport', { runOnce: () => services.exports.runOnce() });
  app.decorate('reminders', { runOnce: (now?: Date) => runReminderPass(services.context.repo, reminderOptions, now) });
  registerFormatNegotiation(app, config.basePath);
  registerInteractionNaming(app, config.basePath);
  registerInteractionSpans(app);
  registerBodyParsers(app, { bodyLimit: config.bodyLimit, maxJsonDepth: config.maxJsonDepth });
  const faultLog = new FaultLogLimiter(app.log, config.databaseFaultLogIntervalSeconds * 1000);
  app.addHook('onClose', async () => faultLog.flush());
  app.setErrorHandler(createErrorHandler(faultLog));
  app.setNotFoundHandler(async () => {
    throw notFound('Unknown path');
  });
  const rateLimit = { perMinute: config.rateLimitPerMinute, store: config.rateLimitStore, db, ...services.metrics.rateLimitObservers() };
  await registerTransportSecurity(app, { corsOrigins: config.corsOrigins, rateLimit });
  registerHealthRoutes(app, db);
  registerMetrics(app, { metrics: services.metrics, token: config.metricsToken, mode: config.mode });
  const auditCommit = services.context.auditCommit;
  registerAuthRoutes(app, { auth, db, auditCommit, basePath: config.basePath, publicBaseUrl: config.publicBaseUrl });
  // SMART App Launch: authorization endpoint and login, EHR launch contexts, revocation.
  registerAuthorizeRoutes(app, { auth, db, mode: config.mode });
  registerLaunchRoutes(app, { auth, db });
  registerOpenApiRoute(app, { basePath: config.basePath, publicBaseUrl: config.publicBaseUrl, context: services.context, auth });
  await registerApiDocs(app, { basePath: config.basePath, publicBaseUrl: config.publicBaseUrl, context: services.context, auth, mode: config.mode });
  // The professionals' console at /app: static files of a SMART app that calls the API with the user's token.
  await registerConsole(app, { basePath: config.basePath });
  // The protected scope: every FHIR route but the CapabilityStatement needs a bearer token.
  // Load shedding comes first in it, before any token check or database work; the health routes
  // above stay outside it, answered even when the node sheds everything else.
  await app.register(async (scope) => {
    await registerLoadShedding(scope, { overload: config.overload, db });
    registerAuthentication(scope, { auth, db, auditCommit, basePath: config.basePath });
    registerFhirRoutes(scope, {
      basePath: config.basePath,
      publicBaseUrl: config.publicBaseUrl,
      context: services.context,
      bodyLimit: config.bodyLimit,
      binaryMaxBytes: config.binaryMaxBytes,
    });
    registerExportRoutes(scope, { basePath: config.basePath, publicBaseUrl: config.publicBaseUrl, db, auditCommit });
  });

  const auditUpkeep = scheduleAuditLogMaintenance(
    db,
    { retentionMonths: config.auditRetentionMonths, intervalSeconds: config.auditMaintenanceIntervalSeconds },
    app.log
  );
  const reminderTimer = scheduleReminders(() => runReminderPass(services.context.repo, reminderOptions), config.reminderIntervalSeconds, app.log);
  // Every request has ended (http/drain.ts): the change-event dispatcher stops, then the audit
  // records still queued are written before the database closes. One hook, so the order cannot
  // change with Fastify's hook order.
  app.addHook('onClose', async () => {
    await auditUpkeep.stop();
    await reminderTimer.stop();
    await services.exports.stop();
    await services.events.stop();
    await services.subscriptions.stop();
    await auditCommit.close();
    if (deps.closeDatabase !== false) {
      await db.close();
    }
  });
  await app.ready();
  await services.subscriptions.start(services.events, app.log);
  services.events.start(app.log);
  services.exports.start(app.log);
  return app;
}
