/**
 * The subscription engine: the matcher (subscription-matcher.ts) on the change-event dispatcher,
 * and rest-hook delivery with retry, both after commit and off the request path.
 *
 * Lifecycle (https://hl7.org/fhir/R4/subscription.html#lifecycle and the Backport IG's handshake):
 * a `requested` Subscription gets a handshake; when the receiver accepts it the engine sets
 * `active` and sends the numbered events in order, a batch per notification. A failed delivery is
 * retried after SUBSCRIPTION_RETRY_MS, doubling each time; after SUBSCRIPTION_MAX_FAILURES in a row
 * the status becomes `error` and sending stops (the events stay available to $events). A client
 * setting `off` stops it too; setting `requested` again asks for a new handshake.
 *
 * At least once: an event is marked delivered only after the receiver's 2xx, so a crash in
 * between sends it again. One sender per Subscription at a time (a lease in
 * subscription_delivery), so its notifications leave in order; the sender reads the delivery
 * state again once it holds the lease, so two nodes never send the same events one after the
 * other. A node that stops while holding a lease holds it no longer than twice the timeout.
 *
 * Backport IG channel extensions: `backport-max-count` caps the events per notification,
 * `backport-timeout` shortens the receiver's time to answer, `backport-heartbeat-period` sends a
 * `heartbeat` notification when nothing was sent for that many seconds. Every notification that
 * names resources is audited as a read by the Subscription's owner (audit/): a standing feed
 * discloses what a read would.
 */
import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { AuditRecord } from '../audit/audit-record.js';
import { auditRecord } from '../audit/audit-record.js';
import { isOperationOutcomeError } from '../fhir/outcomes.js';
import type { SubscriptionConfig } from '../config/config.js';
import type { EventDispatcher } from '../events/dispatcher.js';
import type { Repository } from '../repository/repository.js';
import type { SearchService } from '../search/types.js';
import type { Database } from '../storage/database.js';
import { notificationBundle, type NumberedEvent } from './notification-bundle.js';
import { postNotification } from './rest-hook.js';
import { channelNumber, HEARTBEAT_PERIOD_URL, MAX_COUNT_URL, payloadContent, TIMEOUT_URL } from './subscription-channel.js';
import { subscriptionMatcher } from './subscription-matcher.js';
import {
  delivered,
  failed,
  numberedEvents,
  releaseLease,
  SubscriptionCatalog,
  type StoredSubscription,
} from './subscription-store.js';
import { topicByUrl } from './subscription-topics.js';
import type { VersionReader, VersionsReader } from './topic-match.js';
import { parseStoredJson } from '../fhir/json-parse.js';

/** Events per notification. */
const BATCH = 20;
const MAX_BACKOFF_MS = 3_600_000;

export interface EngineLog {
  warn(details: object, message: string): void;
}

export interface SubscriptionEngineOptions {
  readonly config: SubscriptionConfig;
  /** This server's FHIR base URL: references in notifications are absolute. */
  readonly baseUrl: string;
  /** Milliseconds between two delivery passes nothing woke; 0: none. */
  readonly pollMs: number;
  /** Counts each notification: delivered (2xx) or failed (metrics/service-metrics.ts). */
  readonly observeDelivery?: (outcome: 'delivered' | 'failed') => void;
  /** Stores the audit record of a delivered notification (audit/audit-commit.ts). */
  readonly audit?: (record: AuditRecord) => Promise<void>;
}

/** When a heartbeat is due (ms since epoch), or undefined when the Subscription asks for none. */
function heartbeatDue(stored: StoredSubscription): number | undefined {
  const period = channelNumber(stored.subscription, HEARTBEAT_PERIOD_URL);
  return period === undefined || stored.subscription.status !== 'active' || stored.lastSent === 0 ? undefined : stored.lastSent + period * 1000;
}

interface PassOutcome {
  readonly sentAny: boolean;
  readonly backlog: boolean;
}
const NOTHING_SENT: PassOutcome = { sentAny: false, backlog: false };

export class SubscriptionEngine {
  private readonly catalog = new SubscriptionCatalog();
  /** Owners never change (subscription-owner.ts); kept for the audit of each notification. */
  private chain: Promise<unknown> = Promise.resolve();
  private scheduled = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private log: EngineLog | undefined;

  constructor(
    private readonly db: Database,
    /** Unscoped: the engine's status writes carry no actor, which the guard reads as the server's own. */
    private readonly repo: Repository,
    private readonly search: SearchService,
    private readonly options: SubscriptionEngineOptions
  ) {}

  /** Registers the matcher on the dispatcher and starts delivering in the background. */
  async start(events: EventDispatcher, log?: EngineLog): Promise<void> {
    this.log = log;
    await events.register(subscriptionMatcher(this.db, this.search, this.readVersion, this.readVersions, this.catalog, () => this.wake(), this.options.config.matchIntervalMs));
    if (this.options.pollMs > 0) {
      this.poll = setInterval(() => this.wake(), this.options.pollMs);
      this.poll.unref();
    }
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.timer);
    await this.chain;
  }

  /** One version as stored (unscoped: need-to-know is the matcher's), or undefined. */
  private readonly readVersion: VersionReader = async (resourceType, id, versionId) => {
    try {
      const version = await this.repo.vread(resourceType, id, String(versionId));
      return version.json === undefined ? undefined : parseStoredJson<Resource>(version.json);
    } catch (error) {
      if (isOperationOutcomeError(error)) {
        return undefined;
      }
      throw error;
    }
  };

  /** Several versions in one statement (topic matching of a run of events). */
  private readonly readVersions: VersionsReader = async (keys) =>
    new Map([...(await this.repo.versionJson(keys))].map(([key, json]): [string, Resource] => [key, parseStoredJson<Resource>(json)]));

  /** Asks for a delivery pass soon; wake-ups while one is pending merge. */
  wake(): void {
    if (this.stopped || this.scheduled) {
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      // A pass sends one notification per Subscription: while that moved, a backlog may remain.
      // Events numbered later wake the engine themselves (the matcher's callback): again only for a backlog.
      this.enqueue(false).then(
        (outcome) => (outcome.backlog ? this.wake() : undefined),
        () => undefined
      );
    });
  }

  /**
   * Tests: hands out every event and delivers until nothing moves, trying each Subscription in
   * backoff at once and a failing one once per drain.
   */
  async drain(events: EventDispatcher): Promise<void> {
    const tried = new Set<string>();
    for (let round = 0; round < 20; round += 1) {
      await events.drain();
      if (!(await this.enqueue(true, tried)).sentAny) {
        return;
      }
    }
  }

  private enqueue(force: boolean, tried?: Set<string>): Promise<PassOutcome> {
    const pass = this.chain.then(() => (this.stopped && !force ? NOTHING_SENT : this.pass(force, tried)));
    this.chain = pass.catch(() => undefined);
    return pass;
  }

  /** One turn for every due Subscription: whether anything was sent, and whether some had more to send than one notification holds. */
  private async pass(force: boolean, tried?: Set<string>): Promise<PassOutcome> {
    let sentAny = false;
    let backlog = false;
    let failures = false;
    const now = Date.now();
    const all = await this.catalog.withStatus(this.db, ['requested', 'active']);
    for (const listed of all) {
      const id = listed.subscription.id;
      if (!this.due(listed, now) || tried?.has(id) || (!force && listed.nextAttempt > now)) {
        continue;
      }
      // What was listed may be stale: another node may have delivered since; the lease answers it as it is now.
      const stored = await this.catalog.lease(this.db, id, this.leaseMs(listed));
      if (stored === undefined) {
        continue;
      }
      if (!['requested', 'active'].includes(stored.subscription.status ?? '') || !this.due(stored, Date.now())) {
        await releaseLease(this.db, id);
        continue;
      }
      const sent = await this.deliver(stored);
      if (sent !== false) {
        this.options.observeDelivery?.('delivered');
        sentAny = true;
        backlog ||= sent < stored.eventsSinceStart;
      } else {
        tried?.add(id);
        failures = true;
      }
    }
    // The list read at the start still holds every retry and heartbeat time unless a delivery failed (it set one).
    await this.scheduleRetry(failures ? undefined : all);
    return { sentAny, backlog };
  }

  private due(stored: StoredSubscription, now: number): boolean {
    const heartbeat = heartbeatDue(stored);
    return stored.subscription.status === 'requested' || stored.deliveredThrough < stored.eventsSinceStart || (heartbeat !== undefined && heartbeat <= now);
  }

  private timeoutMs(subscription: Subscription): number {
    const seconds = channelNumber(subscription, TIMEOUT_URL);
    return Math.min(this.options.config.timeoutMs, seconds === undefined ? Infinity : seconds * 1000);
  }

  private leaseMs(stored: StoredSubscription): number {
    return this.timeoutMs(stored.subscription) * 2;
  }

  /** Sends one notification; answers the event number delivered through, or false when nothing was. */
  private async deliver(stored: StoredSubscription): Promise<number | false> {
    const { subscription } = stored;
    const content = payloadContent(subscription) ?? 'empty';
    const { config, baseUrl } = this.options;
    const timeoutMs = this.timeoutMs(subscription);
    const topic = topicByUrl(subscription.criteria)?.url;
    const base = { baseUrl, subscription, eventsSinceStart: stored.eventsSinceStart, content, ...(topic !== undefined ? { topic } : {}) };
    try {
      if (subscription.status === 'requested') {
        await postNotification(subscription, notificationBundle({ ...base, type: 'handshake', events: [] }), config, timeoutMs);
        // Active before the lease is given back: another node must not find it `requested` still.
        await this.setStatus(stored, 'active');
        await delivered(this.db, subscription.id, 0);
        return stored.deliveredThrough;
      }
      if (stored.deliveredThrough >= stored.eventsSinceStart) {
        await postNotification(subscription, notificationBundle({ ...base, type: 'heartbeat', events: [] }), config, timeoutMs);
        await delivered(this.db, subscription.id, 0);
        return stored.deliveredThrough;
      }
      const batch = Math.min(BATCH, channelNumber(subscription, MAX_COUNT_URL) ?? BATCH);
      let events = await numberedEvents(this.db, subscription.id, stored.deliveredThrough + 1, stored.eventsSinceStart, batch);
      const last = events.at(-1);
      if (last === undefined) {
        await releaseLease(this.db, subscription.id);
        return false;
      }
      if (content === 'full-resource') {
        events = await Promise.all(events.map((e) => this.withResource(e)));
      }
      await postNotification(subscription, notificationBundle({ ...base, type: 'event-notification', events }), config, timeoutMs);
      await delivered(this.db, subscription.id, last.eventNumber);
      if (content !== 'empty') {
        await this.audit(subscription.id, events);
      }
      return last.eventNumber;
    } catch (error) {
      this.options.observeDelivery?.('failed');
      const failures = await failed(this.db, subscription.id, (n) => Math.min(config.retryMs * 2 ** (n - 1), MAX_BACKOFF_MS));
      // The Subscription's id and the error's kind only: the endpoint may carry a token in its URL.
      this.log?.warn({ subscription: subscription.id, failures, error: error instanceof Error ? error.name : typeof error }, 'subscription delivery failed');
      if (failures >= config.maxFailures) {
        await this.setStatus(stored, 'error', `Delivery failed ${failures} times in a row`);
      }
      return false;
    }
  }

  private async withResource(event: NumberedEvent): Promise<NumberedEvent> {
    if (event.interaction === 'delete') {
      return event;
    }
    const resource = await this.readVersion(event.resourceType, event.id, event.versionId);
    return resource === undefined ? event : { ...event, resource };
  }

  /** A delivered notification that named resources, recorded as the owner's read of them. */
  private async audit(subscriptionId: string, events: readonly NumberedEvent[]): Promise<void> {
    if (this.options.audit === undefined) {
      return;
    }
    const record = auditRecord({
      event: 'read',
      action: 'R',
      principal: await this.catalog.owner(this.db, subscriptionId),
      address: undefined,
      operation: 'subscription-notification',
      ...(events[0] !== undefined ? { resourceType: events[0].resourceType } : {}),
    });
    record.status = 200;
    record.query = `Subscription/${subscriptionId}`;
    for (const event of events) {
      record.entities.push(`${event.resourceType}/${event.id}/_history/${event.versionId}`);
      event.patients.forEach((p) => record.patients.add(p));
    }
    try {
      await this.options.audit(record);
    } catch (error) {
      // Delivered already: a failed audit write is logged, not retried by sending again.
      this.log?.warn({ subscription: subscriptionId, error: error instanceof Error ? error.name : typeof error }, 'subscription notification not audited');
    }
  }

  /** The engine's own write: If-Match, so a client's concurrent `off` is never overwritten (412 is ignored). */
  private async setStatus(stored: StoredSubscription, status: Subscription['status'], error?: string): Promise<void> {
    const { subscription } = stored;
    const next: Subscription & { id: string } = { ...subscription, status };
    if (error !== undefined) {
      next.error = error;
    } else {
      delete next.error;
    }
    try {
      await this.repo.transaction((repo) => repo.update(next, { ifMatch: stored.versionId }));
    } catch (failure) {
      this.log?.warn({ subscription: subscription.id, error: failure instanceof Error ? failure.name : typeof failure }, 'subscription status not changed');
    }
    // Failures are cleared by delivered(), which also gives the lease back: clearing them here
    // would give the lease away while this node is still recording the handshake.
  }

  /** A timer for the earliest retry or heartbeat, so it does not wait for the next write or poll; `listed`: a list still current. */
  private async scheduleRetry(listed?: readonly StoredSubscription[]): Promise<void> {
    clearTimeout(this.timer);
    if (this.stopped) {
      return;
    }
    const waiting = (listed ?? (await this.catalog.withStatus(this.db, ['requested', 'active']))).flatMap((s) => [
      ...(s.nextAttempt > 0 ? [s.nextAttempt] : []),
      ...(heartbeatDue(s) !== undefined ? [heartbeatDue(s) ?? 0] : []),
    ]);
    if (waiting.length > 0) {
      this.timer = setTimeout(() => this.wake(), Math.max(0, Math.min(...waiting) - Date.now()));
      this.timer.unref();
    }
  }
}
