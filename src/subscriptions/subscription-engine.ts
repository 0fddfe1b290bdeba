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
 * subscription_delivery), so its notifications leave in order.
 */
import type { Subscription } from '@medplum/fhirtypes';
import type { SubscriptionConfig } from '../config/config.js';
import type { EventDispatcher } from '../events/dispatcher.js';
import type { Repository } from '../repository/repository.js';
import type { SearchService } from '../search/types.js';
import type { Database } from '../storage/database.js';
import { notificationBundle } from './notification-bundle.js';
import { postNotification } from './rest-hook.js';
import { payloadContent, type PayloadContent } from './subscription-channel.js';
import { subscriptionMatcher } from './subscription-matcher.js';
import { delivered, failed, lease, numberedEvents, resetFailures, subscriptionsWithStatus, type StoredSubscription } from './subscription-store.js';

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
}

export class SubscriptionEngine {
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
    await events.register(subscriptionMatcher(this.db, this.search, () => this.wake()));
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

  /** Asks for a delivery pass soon; wake-ups while one is pending merge. */
  wake(): void {
    if (this.stopped || this.scheduled) {
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.enqueue(false).catch(() => undefined);
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
      if (!(await this.enqueue(true, tried))) {
        return;
      }
    }
  }

  private enqueue(force: boolean, tried?: Set<string>): Promise<boolean> {
    const pass = this.chain.then(() => (this.stopped && !force ? false : this.pass(force, tried)));
    this.chain = pass.catch(() => undefined);
    return pass;
  }

  /** One turn for every due Subscription; true when any delivery succeeded. */
  private async pass(force: boolean, tried?: Set<string>): Promise<boolean> {
    let progress = false;
    const now = Date.now();
    const all = await subscriptionsWithStatus(this.db, ['requested', 'active']);
    for (const stored of all) {
      const id = stored.subscription.id;
      const pending = stored.subscription.status === 'requested' || stored.deliveredThrough < stored.eventsSinceStart;
      if (!pending || tried?.has(id) || (!force && stored.nextAttempt > now)) {
        continue;
      }
      if (!(await lease(this.db, id, this.options.config.timeoutMs * 2))) {
        continue;
      }
      const ok = await this.deliver(stored);
      if (ok) {
        this.options.observeDelivery?.('delivered');
        progress = true;
      } else {
        tried?.add(id);
      }
    }
    await this.scheduleRetry();
    return progress;
  }

  private async deliver(stored: StoredSubscription): Promise<boolean> {
    const { subscription } = stored;
    const content: PayloadContent = payloadContent(subscription) === 'id-only' ? 'id-only' : 'empty';
    const { config, baseUrl } = this.options;
    try {
      if (subscription.status === 'requested') {
        const bundle = notificationBundle({ baseUrl, subscription, type: 'handshake', eventsSinceStart: stored.eventsSinceStart, events: [], content });
        await postNotification(subscription, bundle, config, config.timeoutMs);
        await delivered(this.db, subscription.id, 0);
        await this.setStatus(stored, 'active');
        return true;
      }
      const events = await numberedEvents(this.db, subscription.id, stored.deliveredThrough + 1, stored.eventsSinceStart, BATCH);
      const last = events.at(-1);
      if (last === undefined) {
        return false;
      }
      const bundle = notificationBundle({ baseUrl, subscription, type: 'event-notification', eventsSinceStart: stored.eventsSinceStart, events, content });
      await postNotification(subscription, bundle, config, config.timeoutMs);
      await delivered(this.db, subscription.id, last.eventNumber);
      return true;
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
    if (status === 'active') {
      await resetFailures(this.db, subscription.id);
    }
  }

  /** A timer for the earliest retry, so it does not wait for the next write or poll. */
  private async scheduleRetry(): Promise<void> {
    clearTimeout(this.timer);
    if (this.stopped) {
      return;
    }
    const waiting = (await subscriptionsWithStatus(this.db, ['requested', 'active'])).filter((s) => s.nextAttempt > 0).map((s) => s.nextAttempt);
    if (waiting.length > 0) {
      this.timer = setTimeout(() => this.wake(), Math.max(0, Math.min(...waiting) - Date.now()));
      this.timer.unref();
    }
  }
}
