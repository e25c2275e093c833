import { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Campaigns } from '../campaigns/campaign-service.ts';
import type { Product } from '../commerce/product-schema.ts';
import type { Config } from '../config.ts';
import type { Store } from '../store/index.ts';
import type { CatalogProduct } from '../store/products-repository.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import { writeCatalog } from './catalog-write.ts';
import { customerEventQueries, recordCustomerEvents } from './customer-events.ts';
import { dispatchFire } from './dispatch-fire.ts';
import type { CustomerEvent } from './event-schema.ts';
import { createPurchases } from './purchases.ts';
import { abandonedCartCauses, birthdayCauses, winBackCauses } from './scheduled-causes.ts';
import type { TriggerSettings } from './trigger-config.ts';
import { triggerFires, type Cause } from './trigger-fires.ts';
import { triggerSettings } from './trigger-settings.ts';

export const TICK_QUEUE = 'trigger-tick';

/** Pending fires dispatched per read: a backlog is worked through in slices. */
const DISPATCH_PAGE = 50;

export interface TriggersDeps {
  config: Config;
  store: Store;
  templates: TemplateSet;
  campaigns: Pick<Campaigns, 'create'>;
  logger: Pick<Logger, 'error' | 'warn' | 'info'>;
  /** triggers.json, read at start (trigger-config.ts `loadTriggersFile`). */
  fromFile: TriggerSettings;
  now?: () => Date;
}

export type Triggers = ReturnType<typeof createTriggers>;

/**
 * Triggered journeys (shared/DESIGN.md, "Campaigns and triggers"): events in, causes recorded
 * once each (trigger_fires), and every fire turned into campaigns of the campaign engine.
 *
 * Causes come from two places. A catalog write records its price drops and restocks in its own
 * transaction (catalog-write.ts); the scheduled tick records the time-based ones (abandoned
 * carts, birthdays, win-backs) as of the clock it is given. Dispatch runs after each of them,
 * and every tick dispatches what is still pending, so a fire left by a process that died is
 * sent by the next tick of any instance.
 */
export function createTriggers(deps: TriggersDeps) {
  const { config, store } = deps;
  const now = deps.now ?? store.now;
  const settings = triggerSettings(store.db, deps.fromFile);
  const fires = triggerFires(store.db);
  const events = customerEventQueries(store.db);
  const purchases = createPurchases(store.db, events);
  let dispatching: Promise<number> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let tickQueue: Queue | undefined;
  let tickWorker: Worker | undefined;
  let ticking: Promise<unknown> | undefined;

  async function dispatchAll(): Promise<number> {
    let done = 0;
    const current = await settings.current();
    for (;;) {
      const page = await fires.pending(DISPATCH_PAGE);
      for (const fire of page) {
        try {
          await dispatchFire(fire, current, { store, campaigns: deps.campaigns, templates: deps.templates, fires, events, purchases, now, logger: deps.logger });
          done++;
        } catch (err) {
          // Left pending: the next tick tries again.
          deps.logger.error({ err, trigger: fire.trigger, fire: fire.id }, 'trigger fire could not be dispatched; the next tick tries again');
          return done;
        }
      }
      if (page.length < DISPATCH_PAGE) return done;
    }
  }

  /** Dispatches every pending fire; a call while one runs makes it look once more at the end. */
  function dispatchPending(): Promise<number> {
    if (dispatching) {
      again = true;
      return dispatching;
    }
    dispatching = (async () => {
      let total = 0;
      do {
        again = false;
        total += await dispatchAll();
      } while (again);
      return total;
    })().finally(() => {
      dispatching = undefined;
    });
    return dispatching;
  }

  /**
   * Records the causes of `at` (default now) for the time-based triggers that are on, then
   * dispatches every pending fire. Returns the causes that were new.
   */
  async function tick(at: Date = now()): Promise<{ fired: Cause[]; dispatched: number }> {
    const current = await settings.current();
    const causeDeps = { db: store.db, events, purchases };
    const causes: Cause[] = [];
    if (current['abandoned-cart'].enabled) causes.push(...(await abandonedCartCauses(at, config.triggers.cartAbandonHours, current['abandoned-cart'], causeDeps)));
    if (current.birthday.enabled) causes.push(...(await birthdayCauses(at, current.birthday, causeDeps)));
    if (current['win-back'].enabled) causes.push(...(await winBackCauses(at, config.thresholds.atRiskDays, causeDeps)));
    const fired: Cause[] = [];
    for (const cause of causes) if (await fires.record(cause, at)) fired.push(cause);
    return { fired, dispatched: await dispatchPending() };
  }

  function safeTick(): void {
    ticking ??= tick()
      .catch((err: unknown) => deps.logger.error({ err }, 'trigger tick failed; the next one tries again'))
      .finally(() => {
        ticking = undefined;
      });
  }

  return {
    settings,
    fires,
    events,
    tick,
    dispatchPending,

    /** POST /v1/events: stored in one transaction (throws EventIdConflict, storing nothing). */
    async recordEvents(list: readonly CustomerEvent[]): Promise<void> {
      await store.transaction((tx) => recordCustomerEvents(tx.db, list, now()));
    },

    /** PUT /v1/catalog/products: the write and its fires commit together; the fires are dispatched after. */
    async writeCatalog(products: readonly Product[]): Promise<CatalogProduct[]> {
      if (!config.triggers.enabled) return store.products.upsertMany(products);
      const { stored, fired } = await writeCatalog(store, products, settings);
      if (fired.length) void dispatchPending().catch((err: unknown) => deps.logger.error({ err }, 'trigger dispatch failed; the next tick tries again'));
      return stored;
    },

    /**
     * Starts the scheduled tick in this process: a BullMQ job scheduler with REDIS_URL (one tick
     * per period across every instance), else a timer here. Either way the first look dispatches
     * what a dead process left pending. Nothing with TRIGGERS=off.
     */
    start(): void {
      if (!config.triggers.enabled) return;
      const every = config.triggers.tickMs;
      if (config.campaigns.redisUrl) {
        const connection = { url: config.campaigns.redisUrl, maxRetriesPerRequest: null };
        tickQueue = new Queue(TICK_QUEUE, { connection, prefix: config.campaigns.queuePrefix });
        tickQueue.on('error', (err) => deps.logger.warn({ err }, 'trigger tick queue: Redis error'));
        void tickQueue
          .upsertJobScheduler('trigger-tick', { every }, { name: 'tick', opts: { removeOnComplete: true, removeOnFail: true } })
          .catch((err: unknown) => deps.logger.warn({ err }, 'could not schedule the trigger tick; retrying on the next start'));
        tickWorker = new Worker(TICK_QUEUE, async () => void (await tick()), { connection, prefix: config.campaigns.queuePrefix, concurrency: 1 });
        tickWorker.on('error', (err) => deps.logger.warn({ err }, 'trigger tick worker: Redis error'));
      } else {
        timer = setInterval(safeTick, every);
        timer.unref();
      }
      void dispatchPending().catch((err: unknown) => deps.logger.error({ err }, 'trigger dispatch failed; the next tick tries again'));
    },

    /** Resolves when no dispatch or tick runs in this process (tests, shutdown). */
    async idle(): Promise<void> {
      while (dispatching || ticking) await (dispatching ?? ticking);
    },

    async close(): Promise<void> {
      if (timer) clearInterval(timer);
      await tickWorker?.close();
      await tickQueue?.close();
      while (dispatching || ticking) await (dispatching ?? ticking)?.catch(() => undefined);
    },
  };
}
