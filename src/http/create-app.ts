import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import express, { type Express } from 'express';
import { PROJECT_ROOT, type Config } from '../config.ts';
import type { Store } from '../store/index.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import { apiKeyAuth, apiKeyCheck } from './api-key-auth.ts';
import { parseByteSize } from './byte-size.ts';
import { BatchRenderPool } from './batch/render-pool.ts';
import { errorMiddleware, notFound } from './error-middleware.ts';
import { jsonBody, jsonBodyReader } from './json-body.ts';
import { accessLogger, createLogger, type Logger } from './logger.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { storeRender } from '../render-service/render-service.ts';
import { requestLogging } from './request-logging.ts';
import { renderFastPath } from './render-fast-path.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { healthRoutes } from './routes/health.ts';
import { renderBatchRoute } from './routes/render-batch.ts';
import { renderEndpoint } from './routes/render.ts';
import { templateRoutes } from './routes/templates.ts';
import { ampRoutes } from './amp/amp-routes.ts';
import type { Order } from '../store/orders-repository.ts';
import { customerRoutes } from './routes/customers.ts';
import { payRoutes } from './routes/pay.ts';
import { unsubscribeRoutes } from './routes/unsubscribe.ts';
import type { TwilioHttpClient } from '../channels/whatsapp/twilio-sender.ts';
import { whatsappRoutes } from './whatsapp/whatsapp-routes.ts';
import type { Schedule } from '../channels/whatsapp/reply-retry.ts';
import { createPreview } from './preview/preview-routes.ts';
import { createWebhookDispatcher } from '../channels/webhooks/webhook-dispatcher.ts';
import { orderRoutes } from './routes/orders.ts';
import { webhookDeliveryRoutes } from './routes/webhook-deliveries.ts';
import { createCampaigns } from '../campaigns/campaign-service.ts';
import { brandSender } from '../channels/email/brand-sender.ts';
import { campaignRoutes } from './routes/campaigns.ts';
import { createResultsRepository } from '../store/results-repository.ts';
import { createCampaignResults } from '../reports/campaign-results.ts';
import { reportRoutes } from './routes/reports.ts';
import { clickRoute } from './routes/click.ts';
import { createTriggers } from '../triggers/trigger-service.ts';
import { loadTriggersFile } from '../triggers/trigger-config.ts';
import { eventRoutes } from './routes/events.ts';
import { triggerRoutes } from './routes/triggers.ts';

export interface AppDeps {
  config: Config;
  store: Store;
  templates: TemplateSet;
  logger?: Logger;
  /** True once shutdown has begun: /readyz turns 503 so load balancers stop sending traffic. */
  draining?: () => boolean;
  /** twilio-node transport override for the WhatsApp routes (tests point it at a local fake API). */
  twilioHttpClient?: TwilioHttpClient;
  /** When a failed WhatsApp reply's retry runs (tests drive it). Default: an unref'd setTimeout. */
  scheduleReplyRetry?: Schedule;
  /** The clock for token expiry, offers, WhatsApp windows and queues. Default: the store's clock. */
  now?: () => Date;
  /**
   * When the webhook dispatcher's next pass runs and when an attempt times out (tests drive
   * both). Default: unref'd setTimeouts.
   */
  webhookTimers?: { wake?: Schedule; timeout?: Schedule };
}

const VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The HTTP API (see shared/DESIGN.md, "HTTP API for campaign systems"). Everything that does
 * not depend on the request — catalog cache, render dependencies, template schemas, the
 * OpenAPI document — is built here, once.
 *
 * @example
 * const app = await createApp({ config, store, templates });
 * await request(app).post('/v1/render').send(body); // supertest
 */
export async function createApp(deps: AppDeps): Promise<Express> {
  const { config, store, templates } = deps;
  const now = deps.now ?? store.now;
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const { catalog, contentSids, render } = await storeRender({ config, templates, store, now, warn: (message, err) => logger.warn({ err }, message) });
  // Batch render threads open the same store and templates; they start with the first batch
  // (start-service.ts starts them at start-up). Shutdown and tests call `app.locals.batchPool.close()`.
  const { onPoolError: _notCloneable, now: _clock, ...storeOptions } = store.openedWith;
  const batchPool =
    config.batchThreads > 0
      ? new BatchRenderPool({ size: config.batchThreads, logger, init: { config, templates: templates.source, store: { ...storeOptions, pgPoolSize: 2 }, clockOffsetMs: now().getTime() - Date.now() } })
      : undefined;
  if (batchPool) catalog.onPut((products) => batchPool.putProducts(products));
  const json = jsonBody(config.jsonBodyLimit);
  const jsonLimit = parseByteSize(config.jsonBodyLimit);
  const eml = brandSender(templates.shared.brand);
  const openapi = JSON.stringify(buildOpenApiDocument({ serverUrl: config.publicBaseUrl, version: VERSION }));
  const health = healthRoutes({ store, templates, draining: deps.draining });
  const tpl = templateRoutes(templates);

  const app = express();
  app.disable('x-powered-by');
  // Render responses are unique per call (message ids, tokens): hashing 80 kB bodies for an ETag is wasted work.
  app.set('etag', false);
  // POST /v1/render does its own logging, key check and body reading (routes/render.ts), so
  // the fast path in front of Express (below) runs exactly what this route runs.
  const renderApi = renderEndpoint({
    render,
    templates,
    eml,
    checkKey: apiKeyCheck(config.apiKeys),
    readBody: jsonBodyReader(jsonLimit),
    logger,
    access: accessLogger(logger),
  });
  app.post('/v1/render', (req, res) => renderApi(req, res));
  app.use(requestLogging(app, logger));
  app.get('/healthz', health.health);
  app.get('/readyz', health.ready);

  const v1 = express.Router();
  const auth = apiKeyAuth(config.apiKeys);
  if (auth) v1.use(auth);
  v1.post(
    '/render/batch',
    renderBatchRoute({ render, limit: parseByteSize(config.batchBodyLimit), maxLineBytes: jsonLimit, pool: () => batchPool }),
  );
  v1.get('/templates', tpl.list);
  v1.get('/templates/:name', tpl.get);
  // The triggers (built below, after the campaigns they start) record what a catalog write causes in its transaction.
  const products = catalogRoutes({ store, catalog, write: (items) => triggers.writeCatalog(items) });
  v1.put('/catalog/products', json, products.upsert);
  v1.get('/catalog/products/:sku', products.get);
  const customers = customerRoutes({ store });
  v1.put('/customers', json, customers.upsert);
  v1.get('/customers/:id', customers.get);
  v1.put('/customers/:id/consents', json, customers.setConsents);
  // The loop with the shop: orders out (feed, webhooks), their status back.
  let sendOrderUpdate: ((order: Order) => void) | undefined;
  const orders = orderRoutes({ store, render, catalog, now, sendOrderUpdate: (order) => sendOrderUpdate?.(order) });
  v1.get('/orders', orders.list);
  v1.get('/orders/:id', orders.get);
  v1.post('/orders/:id/status', json, orders.setStatus);
  v1.get('/orders/:id/confirmation', orders.confirmation);
  const deliveries = webhookDeliveryRoutes({ store, now });
  v1.get('/webhooks/deliveries', deliveries.list);
  v1.post('/webhooks/deliveries/:id/retry', deliveries.retry);
  // Chunk jobs run where start-service.ts (WORKER=on) or `npm run worker` starts them; shutdown and tests call `app.locals.campaigns.close()`.
  const campaigns = createCampaigns({ config, store, templates, render, logger, now, twilioHttpClient: deps.twilioHttpClient });
  app.locals.campaigns = campaigns;
  const campaignApi = campaignRoutes({ campaigns, uploadLimit: parseByteSize(config.batchBodyLimit), maxLineBytes: jsonLimit });
  v1.post('/campaigns', campaignApi.upload, json, campaignApi.create);
  v1.get('/campaigns/:id', campaignApi.get);
  for (const action of ['pause', 'resume', 'cancel'] as const) v1.post(`/campaigns/:id/${action}`, campaignApi.action(action));
  const results = createResultsRepository(store.db, now);
  const campaignResults = createCampaignResults({ campaigns: campaigns.repo, results, templates });
  v1.get('/reports/campaigns/:campaignId', reportRoutes({ results: campaignResults }).campaign);
  // Triggered journeys: events in, causes from catalog writes and the scheduled tick (start-service.ts
  // starts it with the worker); shutdown and tests call `app.locals.triggers.close()`.
  const triggers = createTriggers({ config, store, templates, campaigns, logger, now, fromFile: loadTriggersFile(config.triggers.file) });
  app.locals.triggers = triggers;
  const events = eventRoutes({ triggers, limit: jsonLimit, maxLineBytes: jsonLimit });
  v1.post('/events', events.ndjson, json, events.json);
  const triggerApi = triggerRoutes({ triggers, store, templates, config });
  v1.get('/triggers', triggerApi.list);
  v1.get('/triggers/:name', triggerApi.get);
  v1.put('/triggers/:name', json, triggerApi.update);
  v1.get('/triggers/:name/runs', triggerApi.runs);
  v1.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.use('/v1', v1);

  // The AMP endpoints authenticate with the message token, not the API key.
  // An email order is confirmed on WhatsApp too (DESIGN: one customer, one cart); the WhatsApp
  // routes are built below, so the AMP routes reach them through this late binding.
  let confirmOnWhatsApp: ((order: Order) => void) | undefined;
  app.use('/amp/v1', ampRoutes({ config, store, templates, catalog, logger, now, results, onOrderPlaced: (order) => confirmOnWhatsApp?.(order) }));
  // Tracked product links of campaign emails: the signed token is the authentication.
  app.get('/c/:token', clickRoute({ keys: config.tokenKeys, store, results, shopUrl: templates.shared.brand.shopUrl, now, logger }));
  app.get('/pay/:orderId', payRoutes({ config, store, brand: templates.shared.brand, locales: templates.shared.locales }));
  // The unsubscribe links of emails authenticate with their own signed token.
  app.use('/u', unsubscribeRoutes({ config, store, brand: templates.shared.brand, locales: templates.shared.locales, logger, now }));

  // Twilio's webhooks authenticate with X-Twilio-Signature, not the API key.
  const whatsapp = whatsappRoutes({
    config,
    store,
    templates,
    logger,
    catalog,
    contentSids,
    now,
    httpClient: deps.twilioHttpClient,
    replyLeaseMs: config.whatsappReplies.leaseMs,
    replyRecoveryMs: config.whatsappReplies.recoveryEveryMs,
    scheduleRetry: deps.scheduleReplyRetry,
  });
  confirmOnWhatsApp = (order) => whatsapp.confirmElsewhereOrder(order);
  sendOrderUpdate = (order) => whatsapp.sendOrderUpdate(order);
  app.use('/whatsapp/v1', whatsapp.router);
  // Background WhatsApp replies: shutdown and tests await `app.locals.whatsapp.idle()`.
  app.locals.whatsapp = whatsapp;
  app.locals.batchPool = batchPool;

  // Webhooks leave from the outbox in the background: shutdown and tests await `app.locals.webhooks.idle()`.
  // Without WEBHOOK_SECRET nothing is signed, so nothing is sent (config requires it with WEBHOOK_URL).
  const secret = config.webhooks.secret;
  app.locals.webhooks = secret
    ? createWebhookDispatcher({
        webhooks: store.webhooks,
        secret,
        timeoutMs: config.webhooks.timeoutMs,
        logger,
        now,
        userAgent: `inboxcart/${VERSION} (webhooks)`,
        schedule: deps.webhookTimers?.wake,
        scheduleTimeout: deps.webhookTimers?.timeout,
      })
    : undefined;

  // Designers' preview: its own template set, reloaded from disk; off in production unless PREVIEW=on.
  if (config.previewEnabled) {
    const preview = createPreview({ config, logger, draining: deps.draining, campaigns, results: campaignResults, triggers: triggers.settings });
    app.use('/preview', preview.router);
    // Shutdown and tests call `app.locals.preview.close()`: it ends open event streams and the file watcher.
    app.locals.preview = preview;
  }

  app.use(notFound);
  app.use(errorMiddleware);

  // POST /v1/render goes around Express (render-fast-path.ts says why). Express calls
  // `app.handle` for every request it is given, through `app.listen`, `http.createServer(app)`
  // and supertest alike, so the fast path sits in front of it there.
  const fast = renderFastPath(renderApi);
  const handled = app as unknown as { handle: (req: IncomingMessage, res: ServerResponse, next?: () => void) => void };
  const expressHandle = handled.handle.bind(app);
  handled.handle = (req, res, next) => {
    if (!fast(req, res)) expressHandle(req, res, next);
  };
  return app;
}
