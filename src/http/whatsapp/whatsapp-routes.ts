import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import twilio from 'twilio';
import type { Config } from '../../config.ts';
import type { ContentSidCache } from '../../channels/whatsapp/content-sid-cache.ts';
import { createConversationEngine, type HandleResult } from '../../channels/whatsapp/conversation-engine.ts';
import { confirmsOnWhatsApp, ORDER_CONFIRMATION_KIND, ORDER_UPDATE_KIND, orderConfirmationKey, orderUpdateKey, updatesOnWhatsApp } from '../../shop/confirmation-queue.ts';
import { createWhatsAppOutbox, type WhatsAppOutbox } from '../../channels/whatsapp/outbox.ts';
import type { Order, OrderStatus } from '../../store/orders-repository.ts';
import { createTwilioSender, type SendResult, type TwilioHttpClient, type WhatsAppSender } from '../../channels/whatsapp/twilio-sender.ts';
import type { MessageCreateParams } from '../../render/whatsapp/render-whatsapp.ts';
import { createRenderDeps } from '../../render/create-renderer.ts';
import { MESSAGE_STATUSES, type MessageStatus, type Repositories, type Store } from '../../store/index.ts';
import type { TemplateSet } from '../../templates/template-registry.ts';
import type { CatalogCache } from '../../render-service/catalog-cache.ts';
import { HttpError } from '../http-error.ts';
import type { Logger } from '../logger.ts';
import { retryDelayMs, unrefTimeout, type Schedule } from '../../channels/whatsapp/reply-retry.ts';

export interface WhatsAppRouteDeps {
  config: Config;
  store: Store;
  templates: TemplateSet;
  logger: Logger;
  catalog: CatalogCache;
  contentSids: ContentSidCache;
  /** twilio-node transport override (tests point it at a local fake API). */
  httpClient?: TwilioHttpClient;
  /** A sender built elsewhere; otherwise one on the real Twilio API from config. */
  sender?: WhatsAppSender;
  /** Judges the 24-hour window, stamps inbound messages and expires conversations. Default: the store's clock. */
  now?: () => Date;
  /** How often queued replies are looked for (default 30 s). */
  replyRecoveryMs?: number;
  /** Runs a failed reply's next attempt at its retry time (tests drive it). Default: an unref'd setTimeout. */
  scheduleRetry?: Schedule;
  /** How long sending an event's replies may take before another instance takes them over (default 60 s). */
  replyLeaseMs?: number;
}

/** What a queued item carries besides the message: a reply's kind and window, or the order to confirm or update. */
interface QueuedMeta {
  kind: string;
  template?: string;
  lastInboundAt?: string;
  orderId?: string;
  /** An order update: the status it announces. */
  status?: OrderStatus;
}

/** Sending an event's replies takes seconds; another instance may take them over after this. */
const REPLY_LEASE_MS = 60_000;
/** A reply still queued this long after it was written was not sent by the instance that wrote it. */
const REPLY_RECOVER_AFTER_MS = 10_000;
const REPLY_RECOVERY_EVERY_MS = 30_000;

export interface WhatsAppRoutes {
  router: Router;
  outbox: WhatsAppOutbox;
  /** The content sids renders and replies use; `reload()` after a sync in this process. */
  contentSids: ContentSidCache;
  /** Resolves when every reply accepted so far has been handed to Twilio (tests, shutdown). */
  idle(): Promise<void>;
  /** Sends the queued replies that are due now (what the periodic recovery does). */
  recoverReplies(): Promise<void>;
  /** Stops the periodic recovery and the pending retries of queued replies (shutdown); they stay queued for the next instance. */
  close(): void;
  /**
   * Sends the WhatsApp confirmation of an order placed in another channel (an AMP checkout),
   * which the order's transaction queued (confirmation-queue.ts); in the background, tracked
   * by idle(). Asking twice sends it once.
   */
  confirmElsewhereOrder(order: Order): void;
  /**
   * Sends the WhatsApp update of an order's status change that the change's transaction queued
   * (confirmation-queue.ts `queueOrderUpdate`); in the background, tracked by idle().
   */
  sendOrderUpdate(order: Order): void;
}

/** `<?xml …?><Response/>`: Twilio needs TwiML with an XML content type, even when empty (facts §1, error 12300). */
const EMPTY_TWIML = new twilio.twiml.MessagingResponse().toString();

type Params = Record<string, string | string[] | undefined>;

function param(params: Params, name: string): string | undefined {
  const v = params[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Rejects requests Twilio did not sign. The URL is the public one from config, never
 * rebuilt from Host/X-Forwarded-* headers: behind a proxy or TLS terminator those differ from
 * what Twilio called and every signature would fail (twilio-node issues #321, #505). All
 * parameters take part, as Twilio adds new ones without notice
 * (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
 */
export function verifyTwilioSignature(config: Pick<Config, 'publicBaseUrl' | 'twilio'>, logger: Pick<Logger, 'warn'>) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const token = config.twilio.authToken;
    if (!token) {
      next(new HttpError(503, 'whatsapp_not_configured', 'WhatsApp webhooks need TWILIO_AUTH_TOKEN to verify Twilio signatures; set it and restart.'));
      return;
    }
    const signature = req.header('x-twilio-signature');
    const q = req.originalUrl.indexOf('?');
    const url = `${config.publicBaseUrl}${req.baseUrl}${req.path}${q >= 0 ? req.originalUrl.slice(q) : ''}`;
    const params = (req.body ?? {}) as Record<string, unknown>;
    if (!signature || !twilio.validateRequest(token, signature, url, params)) {
      logger.warn({ path: req.path, signed: Boolean(signature) }, `rejected a WhatsApp webhook without a valid Twilio signature for ${url}`);
      next(new HttpError(403, 'invalid_signature', 'The X-Twilio-Signature header is missing or does not match this request. Twilio signs with the account auth token over PUBLIC_BASE_URL + path + all parameters.'));
      return;
    }
    next();
  };
}

/**
 * Twilio's WhatsApp webhooks (shared/DESIGN.md, "WhatsApp: two-way commerce"):
 * `POST /inbound` for customers' messages and `POST /status` for delivery callbacks.
 *
 * An inbound message is claimed by its MessageSid first, so a webhook Twilio retries never
 * advances the conversation or places an order twice. The conversation step is stored before
 * answering; Twilio gets an empty `<Response/>` at once and the replies go out through
 * `messages.create` right after (Twilio allows a webhook 15 s, facts §1).
 */
export function whatsappRoutes(deps: WhatsAppRouteDeps): WhatsAppRoutes {
  const { config, store, templates, logger } = deps;
  const now = deps.now ?? store.now;
  const renderDeps = createRenderDeps({ config, templates, catalog: (sku) => deps.catalog.get(sku), contentSid: deps.contentSids.get, now });
  const sender = deps.sender ?? createTwilioSender(config, { messages: store.messages, logger, httpClient: deps.httpClient, now });
  const outbox = createWhatsAppOutbox({ sender, store, renderDeps, now });
  // The engine is bound to each message's transaction (see /inbound); the rest is shared.
  const engineDeps = {
    templates,
    keys: config.tokenKeys,
    publicBaseUrl: config.publicBaseUrl,
    contentSid: deps.contentSids.get,
    renderDeps,
    logger,
    now,
  };

  const pending = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  const replies = store.whatsappReplies;

  /** Queues an inbound message's replies in its transaction; they leave the queue once Twilio has them. */
  function queueReplies(tx: Pick<Repositories, 'whatsappReplies'>, eventKey: string, result: HandleResult): Promise<void> {
    return tx.whatsappReplies.enqueue(
      eventKey,
      result.replies.map((reply) => ({
        ...(result.customerId ? { customerId: result.customerId } : {}),
        message: { ...reply.message },
        meta: { kind: reply.kind, ...(reply.template ? { template: reply.template } : {}), ...(result.lastInboundAt ? { lastInboundAt: result.lastInboundAt } : {}) },
      })),
      now(),
    );
  }

  /**
   * Sends an event's queued replies, one after the other: a chat shows messages in the order
   * they arrive, so a reply that must be retried holds back the ones after it.
   * `retryAt`: this is the attempt scheduled for then. A timer may fire a little before the
   * clock reads that time (libuv judges timers on the loop's cached time), so the claim is
   * judged at `retryAt` at the earliest rather than missed until the recovery.
   */
  async function sendQueued(eventKey: string, retryAt?: Date): Promise<void> {
    const claimAt = retryAt && retryAt > now() ? retryAt : now();
    for (const reply of await replies.claim(eventKey, deps.replyLeaseMs ?? REPLY_LEASE_MS, claimAt)) {
      const meta = reply.meta as unknown as QueuedMeta;
      const outcome = await attempt(reply.message as unknown as MessageCreateParams, meta, reply.customerId);
      if (outcome.ok) {
        await replies.sent(eventKey, reply.seq, now());
        continue;
      }
      const attempts = reply.attempts + 1;
      const delay = retryDelayMs(attempts, outcome.retryable);
      logger.warn({ customerId: reply.customerId, kind: meta.kind, attempts }, `WhatsApp reply not sent${delay === undefined ? '' : `, will retry in ${Math.round(delay / 1000)} s`}: ${outcome.reason}`);
      if (delay === undefined) {
        await replies.failed(eventKey, reply.seq, outcome.reason, now());
        continue;
      }
      const at = now();
      const nextAttemptAt = new Date(at.getTime() + delay);
      await replies.retryLater(eventKey, reply.seq, outcome.reason, nextAttemptAt, at);
      scheduleRetry(eventKey, nextAttemptAt);
      return;
    }
  }

  // The instance that failed a reply tries it again at its retry time; the periodic recovery
  // below only covers an instance that died meanwhile (it waits for the same retry time).
  const schedule = deps.scheduleRetry ?? unrefTimeout;
  const retryTimers = new Map<string, () => void>();
  let closed = false;
  function scheduleRetry(eventKey: string, retryAt: Date): void {
    if (closed) return;
    retryTimers.get(eventKey)?.();
    const cancel = schedule(() => {
      retryTimers.delete(eventKey);
      track(sendQueued(eventKey, retryAt).catch((err: unknown) => logger.warn({ err }, 'could not retry a WhatsApp reply now; it stays queued')));
    }, Math.max(0, retryAt.getTime() - now().getTime()));
    retryTimers.set(eventKey, cancel);
  }

  /**
   * One try at a queued item. A throw (the database, a render bug) is a failure like Twilio's,
   * retried as often and no more: the cap in `retryDelayMs` must hold for every path.
   */
  async function attempt(message: MessageCreateParams, meta: QueuedMeta, customerId: string | undefined): Promise<{ ok: true } | { ok: false; reason: string; retryable: boolean }> {
    try {
      const sent = await deliver(message, meta, customerId);
      return sent.ok ? { ok: true } : { ok: false, reason: `${sent.error.code}: ${sent.error.message}`, retryable: sent.error.retryable };
    } catch (error) {
      logger.error({ err: error, kind: meta.kind }, 'sending a queued WhatsApp reply threw');
      return { ok: false, reason: `error: ${error instanceof Error ? error.message : String(error)}`, retryable: true };
    }
  }

  /** A queued item goes out: a conversation reply as written, an order confirmation or update rendered now. */
  async function deliver(message: MessageCreateParams, meta: QueuedMeta, customerId: string | undefined): Promise<SendResult> {
    const update = meta.kind === ORDER_UPDATE_KIND;
    if (meta.kind !== ORDER_CONFIRMATION_KIND && !update) return outbox.reply(message, { customerId, kind: meta.kind, template: meta.template, lastInboundAt: meta.lastInboundAt });
    const order = meta.orderId ? await store.orders.get(meta.orderId) : undefined;
    const customer = order && (await store.customers.get(order.customerId));
    // Checked again at send time: the customer may have sent STOP since it was queued.
    const decision = customer && (await store.consents.get(customer.id, 'whatsapp'));
    if (!order || !customer || !(update ? updatesOnWhatsApp(order, customer, decision) : confirmsOnWhatsApp(customer, decision))) {
      return { ok: false, error: { code: 'no_consent', message: 'the customer has no WhatsApp number or consent (or the order is gone)', retryable: false } };
    }
    // An update tells of the status it was queued for, even if the order has moved on since.
    return outbox.sendOrderConfirmation(update && meta.status ? { ...order, status: meta.status } : order);
  }

  // Replies a crashed instance left queued (never sent, or failed and not retried) are picked up
  // here, by whichever instance gets there first: the lease in `claim` keeps two from sending
  // the same reply, and a retry time holds for the recovery as for the instance's own timer.
  const recoverReplies = async () => {
    for (const eventKey of await replies.due(REPLY_RECOVER_AFTER_MS, 50, now())) await sendQueued(eventKey);
  };
  const recovery = setInterval(
    () => track(recoverReplies().catch((err: unknown) => logger.warn({ err }, 'could not send queued WhatsApp replies'))),
    deps.replyRecoveryMs ?? REPLY_RECOVERY_EVERY_MS,
  );
  recovery.unref();

  // Expired conversations are only read as "start over"; the rows are swept now and then, by
  // whichever instance gets a message, so the table does not grow with every customer ever.
  const SWEEP_EVERY_MS = 3_600_000;
  let sweptAt = 0;
  const sweep = () => {
    const at = now();
    if (at.getTime() - sweptAt < SWEEP_EVERY_MS) return;
    sweptAt = at.getTime();
    track(
      store.conversations.deleteExpired(at).then(
        (n) => {
          if (n) logger.info({ removed: n }, 'expired WhatsApp conversations removed');
        },
        (err: unknown) => logger.warn({ err }, 'could not remove expired WhatsApp conversations'),
      ),
    );
  };

  const router = express.Router();
  // Twilio posts application/x-www-form-urlencoded; repeated fields arrive as arrays and are
  // signed as such. The signature check needs the parsed body, so parsing comes first.
  router.use(express.urlencoded({ extended: false, limit: '256kb', parameterLimit: 2_000 }));
  router.use(verifyTwilioSignature(config, logger));

  router.post('/inbound', async (req, res) => {
    const params = (req.body ?? {}) as Params;
    const sid = param(params, 'MessageSid');
    const from = param(params, 'From');
    if (!sid || !from) {
      logger.warn({ hasSid: Boolean(sid), hasFrom: Boolean(from) }, 'signed WhatsApp webhook without MessageSid or From; ignored');
      res.type('text/xml').send(EMPTY_TWIML);
      return;
    }
    const key = `twilio:inbound:${sid}`;
    // Quick-reply taps come back as ButtonPayload (the button id). List-picker selections:
    // ListId carries the row id in public Twilio integrations; some report the id in
    // ButtonPayload instead, so both are read. ButtonText/ListTitle are never trusted.
    const tapId = param(params, 'ButtonPayload') || param(params, 'ListId') || undefined;
    const inbound = { messageSid: sid, from, body: param(params, 'Body') ?? '', ...(tapId ? { tapId } : {}), receivedAt: now() };
    // The claim, the conversation step (state, consents, the order) and the queued replies are
    // one transaction. A crash or a throw before the commit leaves none of them, and the answer
    // is then no answer or a 500, so Twilio's retry, however soon, is processed in full. A
    // duplicate that arrives while the first is in flight waits for its commit (PostgreSQL: on
    // the claim's key; SQLite: transactions are serialised) and finds it handled, or handles
    // it if the first rolled back. No network call happens inside; replies go after the commit.
    const result = await store.transaction(async (tx) => {
      if (!(await tx.events.claimInTransaction(key, 'whatsapp.inbound'))) return undefined;
      const handled = await createConversationEngine({ ...engineDeps, store: tx }).handle(inbound);
      await queueReplies(tx, key, handled);
      await tx.events.complete(key, { customerId: handled.customerId ?? null, replies: handled.replies.length, order: handled.order?.number ?? null });
      return handled;
    });
    if (!result) {
      logger.info({ messageSid: sid }, 'WhatsApp message already handled (its replies are queued or sent); this repeated delivery is not processed again');
      res.type('text/xml').send(EMPTY_TWIML);
      return;
    }
    res.type('text/xml').send(EMPTY_TWIML);
    // A failure here (the database, say) leaves the replies queued for the recovery.
    track(sendQueued(key).catch((err: unknown) => logger.warn({ err }, 'could not send WhatsApp replies now; they stay queued')));
    sweep();
  });

  router.post('/status', async (req, res) => {
    const params = (req.body ?? {}) as Params;
    const sid = param(params, 'MessageSid');
    const status = param(params, 'MessageStatus');
    // receiving/received/partially_delivered describe inbound or other channels: nothing to record.
    if (sid && status && (MESSAGE_STATUSES as readonly string[]).includes(status)) {
      const errorCode = param(params, 'ErrorCode') || undefined;
      const applied = await store.messages.updateStatus(sid, status as MessageStatus, errorCode, now());
      if (!applied) logger.debug({ sid, status }, 'stale WhatsApp status callback ignored (never downgraded)');
    }
    res.type('text/xml').send(EMPTY_TWIML);
  });

  return {
    router,
    outbox,
    contentSids: deps.contentSids,
    async idle() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    recoverReplies: () => {
      const work = recoverReplies();
      track(work);
      return work;
    },
    close() {
      closed = true;
      clearInterval(recovery);
      for (const cancel of retryTimers.values()) cancel();
      retryTimers.clear();
    },
    confirmElsewhereOrder(order) {
      track(sendQueued(orderConfirmationKey(order.id)).catch((err: unknown) => logger.warn({ err, orderId: order.id }, 'could not confirm the order on WhatsApp now; it stays queued')));
    },
    sendOrderUpdate(order) {
      track(sendQueued(orderUpdateKey(order.id, order.status)).catch((err: unknown) => logger.warn({ err, orderId: order.id }, 'could not send the order update on WhatsApp now; it stays queued')));
    },
  };
}
