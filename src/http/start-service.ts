import { existsSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { seedFixtureCatalog } from '../shop/seed-catalog.ts';
import { seedFixtureCustomers } from '../shop/seed-customers.ts';
import { openStore, type Store } from '../store/index.ts';
import { loadTemplateSet, type TemplateSet } from '../templates/template-registry.ts';
import { createApp } from './create-app.ts';
import type { BatchRenderPool } from './batch/render-pool.ts';
import type { Logger } from './logger.ts';
import type { WhatsAppRoutes } from './whatsapp/whatsapp-routes.ts';
import type { Preview } from './preview/preview-routes.ts';
import type { WebhookDispatcher } from '../channels/webhooks/webhook-dispatcher.ts';
import type { Campaigns } from '../campaigns/campaign-service.ts';
import type { Triggers } from '../triggers/trigger-service.ts';

export interface RunningService {
  server: Server;
  /** Base URL the server listens on, e.g. http://127.0.0.1:3000. */
  url: string;
  store: Store;
  templates: TemplateSet;
  /** The Express app, for what hangs off `app.locals` (the preview, WhatsApp replies). */
  app: Express;
  /**
   * Graceful stop: /readyz turns 503, the listener closes, in-flight requests finish (connections
   * still busy after `shutdownTimeoutMs` are cut), queued WhatsApp replies are sent, webhook
   * attempts in flight finish, then the database closes.
   */
  close(): Promise<void>;
}

export interface StartOptions {
  shutdownTimeoutMs?: number;
  /**
   * Seed an empty catalog and customer table (outside production). A cluster worker passes
   * false: the primary ran `prepareStore` once before forking, so workers do not race to seed.
   */
  seed?: boolean;
}

/**
 * Idle sockets are dropped after this long. The per-request timeout is off instead, because a
 * batch legitimately streams for as long as it has lines (with backpressure the upload takes
 * as long as the rendering); a stalled connection still trips the idle timeout.
 */
const SOCKET_IDLE_MS = 120_000;

/** Opens the store, seeds a fresh catalog, compiles templates and listens: what `npm start` runs. */
export async function startService(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningService> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, webhookUrls: config.webhooks.urls });
  try {
    if (options.seed !== false) await seedStore(store, config, logger);

    const started = performance.now();
    const templates = await loadTemplateSet({ root: config.templatesDir, cacheDir: config.templateCacheDir });
    for (const [name, errors] of templates.failures) {
      logger.error({ template: name, errors: errors.map((e) => e.message) }, `template '${name}' failed to compile; /readyz reports not ready until it is fixed`);
    }
    logger.info({ templates: [...templates.templates.keys()], ms: Math.round(performance.now() - started) }, 'templates compiled');

    let draining = false;
    const app = await createApp({ config, store, templates, logger, draining: () => draining });
    // Batch render threads load templates and the catalog before the service takes requests.
    const batchPool = app.locals.batchPool as BatchRenderPool | undefined;
    if (batchPool) {
      const threadsStarted = performance.now();
      await batchPool.start();
      logger.info({ threads: batchPool.size, ms: Math.round(performance.now() - threadsStarted), available: batchPool.available }, 'batch render threads started');
    }
    const campaigns = app.locals.campaigns as Campaigns;
    // WORKER=on (the default): this process runs campaign chunk jobs too, in-process without REDIS_URL.
    if (config.campaigns.worker) {
      campaigns.startWorker();
      // The scheduled trigger tick (abandoned carts, birthdays, win-backs, and fires left pending).
      (app.locals.triggers as Triggers).start();
      logger.info({ mode: config.campaigns.redisUrl ? 'bullmq' : 'embedded' }, 'campaign worker started');
    }
    const server = app.listen(config.port, config.host);
    server.requestTimeout = 0;
    server.setTimeout(SOCKET_IDLE_MS);
    // server.close() ends the keep-alive connections idle at that moment; these two hooks end the
    // rest as soon as their last response is out instead of after the keep-alive timeout.
    server.on('request', (_req, res: ServerResponse) => {
      if (draining) res.setHeader('Connection', 'close');
      res.once('close', () => {
        if (draining) setImmediate(() => server.closeIdleConnections());
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const url = serviceUrl(config.host, (server.address() as AddressInfo).port);
    logger.info({ url, publicBaseUrl: config.publicBaseUrl }, 'inboxcart listening');

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        draining = true;
        // Preview pages hold event streams open; end them now so server.close() is not kept waiting.
        (app.locals.preview as Preview | undefined)?.close();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            logger.warn('shutdown timeout: closing connections that are still busy');
            server.closeAllConnections();
          }, options.shutdownTimeoutMs ?? 10_000);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
        });
        // WhatsApp replies accepted before the stop still go out; they need the database. Webhook
        // attempts in flight finish (within WEBHOOK_TIMEOUT_MS); the rest stay queued for the next instance.
        const webhooks = app.locals.webhooks as WebhookDispatcher | undefined;
        (app.locals.whatsapp as WhatsAppRoutes | undefined)?.close();
        webhooks?.close();
        await (app.locals.whatsapp as WhatsAppRoutes | undefined)?.idle();
        await webhooks?.idle();
        await batchPool?.close();
        // A chunk in progress finishes (or, killed, is taken again by another worker).
        await (app.locals.triggers as Triggers).close();
        await campaigns.close();
        await store.close();
      })());
    return { server, url, store, templates, app, close };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** The base URL to reach a server listening on host:port (a wildcard host is reached as localhost). */
export function serviceUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

/**
 * Opens the database (which migrates it), seeds it and closes it: what a cluster primary does
 * once before forking workers, so migrations and seeding never run in several processes at once.
 */
export async function prepareStore(config: Config, logger: Logger): Promise<void> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await seedStore(store, config, logger);
  } finally {
    await store.close();
  }
}

async function seedStore(store: Store, config: Config, logger: Logger): Promise<void> {
  logger.info({ dialect: store.dialect, dataDir: store.dialect === 'sqlite' ? config.dataDir : undefined }, 'database open and migrated');
  await seedCatalog(store, config, logger);
  // Like the catalog: sample customers (addresses, payment tokens) so demo emails can be bought from, never in production.
  if (!config.production) {
    const customers = await seedFixtureCustomers(store, config.fixturesDir);
    if (customers) logger.info({ count: customers }, 'empty customer table seeded with the sample customers');
  }
}

/**
 * A fresh database gets the sample catalog, with its price history, so the demo and preview
 * work out of the box. Never in production: demo products in a real shop's catalog would be sold.
 */
async function seedCatalog(store: Store, config: Config, logger: Logger): Promise<void> {
  if (config.production) return;
  const any = await store.db.selectFrom('products').select('sku').limit(1).executeTakeFirst();
  if (any) return;
  const file = join(config.fixturesDir, 'catalog.json');
  if (!existsSync(file)) {
    logger.warn({ file }, 'catalog is empty and there is no sample catalog; PUT /v1/catalog/products to add products');
    return;
  }
  // Validates every product and the history, and names the bad one.
  const count = await seedFixtureCatalog(store, config.fixturesDir);
  if (count) logger.info({ count, file }, 'empty catalog seeded with the sample products');
}
