/**
 * The service's Prometheus metrics (prom-client), one registry per app so that several apps in one
 * process (tests) never share counters. Label values come from closed sets only: interaction codes
 * of fhir/request.ts, the R4 resource types (fhir/definitions.ts), HTTP status codes and the names
 * of registered event consumers; never ids, URLs or query values, so cardinality stays bounded and
 * no patient data reaches a scrape.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isR4ResourceType } from '../fhir/definitions.js';
import type { Database } from '../storage/database.js';

/**
 * Label value of a request that reached no FHIR interaction (token endpoint, health, a 401 before
 * routing) or names no known resource type.
 */
export const NONE = 'none';

/** What one finished request contributes. */
export interface RequestObservation {
  readonly interaction: string | undefined;
  readonly resourceType: string | undefined;
  readonly status: number;
  readonly seconds: number;
}

interface ConsumerLagRow {
  name: string;
  lag: string | number;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'interaction' | 'resource_type' | 'status'>;
  private readonly duration: Histogram<'interaction' | 'resource_type'>;
  private readonly auditBatch: Histogram;
  private readonly rateLimited: Counter<'key'>;
  private readonly rateLimitFaults: Counter;
  private readonly deliveries: Counter<'outcome'>;

  constructor(db: Database) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'schakel_http_requests_total',
      help: 'HTTP requests by FHIR interaction, resource type and status code',
      labelNames: ['interaction', 'resource_type', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'schakel_http_request_duration_seconds',
      help: 'Time from request to response by FHIR interaction and resource type',
      labelNames: ['interaction', 'resource_type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.auditBatch = new Histogram({
      name: 'schakel_audit_commit_batch_size',
      help: 'Audit records written by one group-commit INSERT (audit/group-commit.ts)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'schakel_rate_limited_requests_total',
      help: 'Requests refused by the rate limit (429), by key: a client system or an address before authentication',
      labelNames: ['key'],
      registers,
    });
    this.rateLimitFaults = new Counter({
      name: 'schakel_rate_limit_store_faults_total',
      help: 'Database faults met by the shared rate-limit count; the node then counts alone for a few seconds (http/rate-limit-store.ts)',
      registers,
    });
    this.deliveries = new Counter({
      name: 'schakel_subscription_deliveries_total',
      help: 'Rest-hook notifications (handshakes and event notifications) by outcome: delivered (2xx) or failed',
      labelNames: ['outcome'],
      registers,
    });
    // Both series exist from the start, so a rate() over them is defined before the first delivery.
    this.deliveries.inc({ outcome: 'delivered' }, 0);
    this.deliveries.inc({ outcome: 'failed' }, 0);
    new Gauge({
      name: 'schakel_db_waiting_statements',
      help: 'Statements waiting for a pooled connection (PostgreSQL) or for the one session (PGlite)',
      registers,
      collect() {
        this.set(db.queuedStatements?.() ?? 0);
      },
    });
    new Gauge({
      name: 'schakel_db_pool_connections',
      help: 'Connections of the PostgreSQL pool by state (absent on PGlite: one embedded session)',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = db.poolUsage?.();
        if (pool) {
          this.set({ state: 'in_use' }, pool.total - pool.idle);
          this.set({ state: 'idle' }, pool.idle);
        }
      },
    });
    new Gauge({
      name: 'schakel_event_consumer_lag',
      help: 'Committed change events a consumer has not yet handled (events/dispatcher.ts)',
      labelNames: ['consumer'],
      registers,
      // Read at scrape time: one row per registered consumer, the same on every node.
      async collect() {
        this.reset();
        try {
          const rows = await db.query<ConsumerLagRow>(
            'SELECT c.name, ec.last - c.position AS lag FROM event_consumer c CROSS JOIN event_counter ec'
          );
          for (const row of rows) {
            this.set({ consumer: row.name }, Number(row.lag));
          }
        } catch {
          // With the database away the lag is unknown: the series is left out, the scrape still answers.
        }
      },
    });
  }

  /** Counts one finished HTTP request. */
  observeRequest(observation: RequestObservation): void {
    const interaction = observation.interaction ?? NONE;
    // Only known type names become labels: a client inventing types cannot grow the series.
    const type = observation.resourceType;
    const resourceType = type !== undefined && isR4ResourceType(type) ? type : NONE;
    this.requests.inc({ interaction, resource_type: resourceType, status: String(observation.status) });
    this.duration.observe({ interaction, resource_type: resourceType }, observation.seconds);
  }

  /** Records the size of one audit group-commit batch. */
  observeAuditBatch(size: number): void {
    this.auditBatch.observe(size);
  }

  /** The rate limit's hooks into these metrics (http/rate-limit.ts). */
  rateLimitObservers(): { onRefused: (key: 'client' | 'address') => void; onStoreFault: () => void } {
    return {
      onRefused: (key) => this.rateLimited.inc({ key }),
      onStoreFault: () => this.rateLimitFaults.inc(),
    };
  }

  /** Counts one rest-hook notification attempt (subscriptions/subscription-engine.ts). */
  observeSubscriptionDelivery(outcome: 'delivered' | 'failed'): void {
    this.deliveries.inc({ outcome });
  }

  /** The Prometheus text exposition and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
