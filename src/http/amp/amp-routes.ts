import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Order } from '../../store/orders-repository.ts';
import { canonicalLocale } from '../../templates/locale-strings.ts';
import { messageOffer, type AmpClaims } from '../../commerce/amp-claims.ts';
import { cartSummary, type CartContext } from '../../shop/cart-summary.ts';
import { formatMinor, fromMinor } from '../../commerce/money.ts';
import { changeCart, type CartChange, type CartChangeOutcome, type Refusal } from '../../shop/checkout.ts';
import { emailCheckout, type EmailCheckoutOutcome } from '../../shop/email-checkout.ts';
import { liveOffer, type LiveOffer, type OfferContext } from '../../commerce/live-offer.ts';
import { messageCart } from '../../shop/message-cart.ts';
import { QUIZZES, quizAnswersSchema, quizScore } from '../../commerce/quizzes.ts';
import { recordPreferencesUpdated } from '../../shop/shop-events.ts';
import type { Config } from '../../config.ts';
import { preferredSize } from '../../personalize/preferred-size.ts';
import { profileSchema } from '../../personalize/profile-schema.ts';
import type { CartItem, Customer, Store } from '../../store/index.ts';
import type { TemplateSet } from '../../templates/template-registry.ts';
import type { CatalogCache } from '../../render-service/catalog-cache.ts';
import { clickUrl, signClickToken } from '../../commerce/click-token.ts';
import type { CampaignEventInput, ResultsRepository } from '../../store/results-repository.ts';
import { fieldsFromZod, HttpError, toHttpError } from '../http-error.ts';
import type { Logger } from '../logger.ts';
import { ampCors } from './amp-cors.ts';
import { ampMessages, type Say } from './amp-messages.ts';
import { ampToken } from './amp-token.ts';
import { formBody, type FormFields } from './form-body.ts';

export interface AmpRoutesDeps {
  config: Pick<Config, 'tokenKeys' | 'ampAllowedSenders' | 'publicBaseUrl'>;
  store: Store;
  /** Brand (shop URL, free-shipping thresholds, placeholder image) and locale strings. */
  templates: TemplateSet;
  /** The render path's catalog cache: orders take stock, so it is refreshed after each. */
  catalog?: CatalogCache;
  logger?: Logger;
  now?: () => Date;
  /** Largest form body accepted. Default 16kb: a checkout form is a few hundred bytes. */
  formLimit?: string;
  /**
   * Called once per order a checkout creates whose WhatsApp confirmation was queued with it:
   * sends that confirmation now (the periodic recovery would, later).
   */
  onOrderPlaced?: (order: Order) => void;
  /** Where a campaign message's opens and cart adds are counted (GET /v1/reports/campaigns/:id). */
  results?: Pick<ResultsRepository, 'recordEvent'>;
}

/** Everything an answer depends on besides the form: who, in which market and language. */
interface Shopper {
  claims: AmpClaims;
  customer?: Customer;
  locale: string;
  intlLocale: string;
  offerContext: OfferContext;
  cartContext: CartContext;
}

/**
 * The endpoints AMP emails call (`/amp/v1/*`): live offers for amp-list, the customer's one
 * cart, checkout and quiz answers. Every request passes CORS for AMP for Email and carries
 * the message's signed token; every answer is JSON, never cached, never a redirect.
 *
 * @example
 * app.use('/amp/v1', ampRoutes({ config, store, templates, catalog }));
 */
export function ampRoutes(deps: AmpRoutesDeps): Router {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());
  const brand = deps.templates.shared.brand;
  const say = ampMessages(deps.templates.shared.locales);
  if (deps.config.ampAllowedSenders.length === 0) {
    deps.logger?.warn('AMP_ALLOWED_SENDERS is empty: the AMP endpoints refuse every email until the sending addresses are listed');
  }

  async function shopper(req: Request): Promise<Shopper> {
    const claims = req.amp!;
    const customer = await store.customers.get(claims.sub);
    const locale = claims.loc ?? customer?.locale ?? 'en';
    const intlLocale = canonicalLocale(locale) ?? 'en';
    const currency = customer?.currency ?? claims.cur ?? 'EUR';
    const offer = messageOffer(claims, now());
    // Only offers read the sizes bought, so the stored profile is parsed on first use.
    let profile: ReturnType<typeof profileSchema.safeParse> | undefined;
    const sizeFor = (category: string | undefined) => {
      if (!customer) return undefined;
      profile ??= profileSchema.safeParse({ ...customer.profile, id: customer.id });
      return profile.success ? preferredSize(profile.data, category) : undefined;
    };
    return {
      claims,
      customer,
      locale,
      intlLocale,
      offerContext: {
        currency,
        intlLocale,
        offer,
        preferredSize: sizeFor,
        campaignParams: { source: 'inboxcart', medium: 'email', campaign: claims.cmp ?? claims.tpl, content: claims.tpl },
        shopUrl: brand.shopUrl,
        placeholderImage: brand.placeholderImage,
      },
      cartContext: { currency, intlLocale, offer, freeShippingThreshold: brand.freeShippingThreshold, placeholderImage: brand.placeholderImage },
    };
  }

  async function summary(s: Shopper, items: Awaited<ReturnType<typeof messageCart>>) {
    const products = await store.products.getMany(items.map((i) => i.sku));
    return cartSummary(items, products, s.cartContext);
  }

  /** Form fields → the endpoint's schema; a 400 names every wrong field, its message says what to do. */
  function readForm<T>(req: Request, schema: z.ZodType<T>, locale: string, multi: ReadonlySet<string> = new Set()): T {
    const parsed = schema.safeParse(formObject(req.form ?? new Map(), multi));
    if (parsed.success) return parsed.data;
    const fields = fieldsFromZod(parsed.error);
    throw new HttpError(400, 'invalid_request', say(locale, fields.some((f) => f.path === 'size') ? 'chooseSize' : 'checkFields'), fields);
  }

  /** Counts what a customer did with a campaign's message; messages without a campaign are not reported on. */
  async function record(claims: AmpClaims, e: Pick<CampaignEventInput, 'kind' | 'sku' | 'quantity'>): Promise<void> {
    if (!deps.results || claims.cmp === undefined) return;
    await deps.results.recordEvent({ ...e, channel: 'email', campaignId: claims.cmp, messageId: claims.msg, variant: claims.var, customerId: claims.sub });
  }

  /** A campaign message's product links are tracked (/c/<token>), as its HTML part's are. */
  function tracked(claims: AmpClaims, offer: LiveOffer): LiveOffer {
    if (claims.cmp === undefined || !offer.available) return offer;
    const link = { campaignId: claims.cmp, messageId: claims.msg, variant: claims.var, customerId: claims.sub, sku: offer.sku, url: offer.url };
    return { ...offer, url: clickUrl(deps.config.publicBaseUrl, signClickToken(link, now(), deps.config.tokenKeys)) };
  }

  const router = express.Router();
  router.use((_req: Request, res: Response, next: NextFunction) => {
    // Prices and stock are live: neither the mail provider's proxy nor the browser may keep an answer.
    res.set('Cache-Control', 'no-store');
    next();
  });
  router.use(ampCors({ allowedSenders: deps.config.ampAllowedSenders }));
  router.use(ampToken({ keys: deps.config.tokenKeys, now, say }));
  const form = formBody(deps.formLimit ?? '16kb');

  /** GET offers — the message's products at open time, in the order the email shows them (amp-list `items.N` relies on it). */
  router.get('/offers', async (req: Request, res: Response) => {
    const s = await shopper(req);
    const products = new Map((await store.products.getMany(s.claims.skus)).map((p) => [p.sku, p]));
    const items: LiveOffer[] = s.claims.skus.map((sku) => tracked(s.claims, liveOffer(sku, products.get(sku), s.offerContext)));
    // amp-list fetches its offers when the email is opened: each fetch is an open.
    await record(s.claims, { kind: 'open' });
    res.json({ items });
  });

  /** GET cart — the customer's cart as it is now (or, before they ever had one, the cart the email showed). */
  router.get('/cart', async (req: Request, res: Response) => {
    const s = await shopper(req);
    res.json(await summary(s, await messageCart(store, s.claims, { seed: false })));
  });

  router.post('/cart', ...form, async (req: Request, res: Response) => {
    const s = await shopper(req);
    if (req.form?.get('action')?.[0] === 'add-look') {
      // "Add the whole look": a second submission finds the pieces there and adds nothing, so a double click is harmless.
      const pieces = readForm(req, lookForm, s.locale);
      const before = (await store.carts.get(s.claims.sub)).items;
      const cart = await summary(s, cartAfter(s, await changeCart(store, s.claims, { action: 'add-look', pieces })));
      // Only the pieces this submission put in the cart are adds (a double click adds none).
      for (const piece of pieces) {
        if (!before.some((i) => i.sku === piece.sku && i.size === piece.size)) await record(s.claims, { kind: 'cart_add', sku: piece.sku, quantity: 1 });
      }
      res.json({ ...cart, message: say(s.locale, 'lookAdded', { count: pieces.length, subtotal: cart.subtotalText }) });
      return;
    }
    const f = readForm(req, cartForm, s.locale);
    const change: CartChange =
      f.action === 'remove'
        ? { action: 'remove', sku: f.sku, size: f.size }
        : f.action === 'add'
          ? { action: 'add', sku: f.sku, size: f.size, quantity: f.quantity ?? 1 }
          : { action: 'set', sku: f.sku, size: f.size, quantity: f.quantity! };
    const cart = await summary(s, cartAfter(s, await changeCart(store, s.claims, change)));
    if (change.action === 'add') await record(s.claims, { kind: 'cart_add', sku: change.sku, quantity: change.quantity });
    res.json({ ...cart, line: cart.items.find((i) => i.sku === f.sku && i.size === f.size) ?? null });
  });

  function cartAfter(s: Shopper, outcome: CartChangeOutcome): CartItem[] {
    if (outcome.kind === 'refused') throw refusalError(outcome, s, say);
    return outcome.items;
  }

  router.post('/checkout', ...form, async (req: Request, res: Response) => {
    const s = await shopper(req);
    const f = readForm(req, checkoutForm, s.locale);
    const outcome = await emailCheckout(
      { store, keys: deps.config.tokenKeys, publicBaseUrl: deps.config.publicBaseUrl, shopUrl: brand.shopUrl, now },
      s.claims,
      f.from === 'cart' ? { from: 'cart' } : { from: 'item', sku: f.sku!, size: f.size!, quantity: f.quantity },
    );
    if (outcome.kind === 'order' && outcome.created) {
      // Renders read the cache; a size that just sold out must stop being recommended.
      if (deps.catalog) deps.catalog.put(await store.products.getMany(outcome.order.lines.map((l) => l.sku)));
      if (outcome.confirmationQueued) deps.onOrderPlaced?.(outcome.order);
      // Expected for every customer who did not opt in to WhatsApp: not worth a warning.
      else (req.log ?? deps.logger)?.debug({ orderId: outcome.order.id, customerId: outcome.order.customerId }, 'email order not confirmed on WhatsApp: no number or no WhatsApp consent');
    }
    res.json(checkoutAnswer(outcome, s, say));
  });

  router.post('/survey', ...form, async (req: Request, res: Response) => {
    const s = await shopper(req);
    const quiz = QUIZZES.get(s.claims.tpl);
    if (!quiz) throw new HttpError(404, 'no_survey', say(s.locale, 'noSurvey'));
    const form = QUIZ_FORMS.get(s.claims.tpl)!;
    const answers = readForm(req, form.schema, s.locale, form.multi);
    // The answers and the event that tells the shop's CRM commit together.
    const preferences = await store.transaction(async (tx) => {
      await tx.customers.setPreferences(s.claims.sub, answers);
      const stored = await tx.customers.getPreferences(s.claims.sub);
      await recordPreferencesUpdated(tx, { customerId: s.claims.sub, template: s.claims.tpl, campaignId: s.claims.cmp, messageId: s.claims.msg, answers, preferences: stored });
      return stored;
    });

    const products = new Map((await store.products.getMany(s.claims.skus)).map((p) => [p.sku, p]));
    const scored = s.claims.skus.map((sku, index) => {
      const product = products.get(sku);
      return { index, sku, score: product ? quizScore(quiz, answers, product) : 0, offer: liveOffer(sku, product, s.offerContext) };
    });
    const buyable = scored.filter((x) => x.offer.available && !x.offer.soldOut);
    const matching = buyable.filter((x) => x.score > 0).sort((a, b) => b.score - a.score || a.index - b.index);
    // No product answers the quiz: show what the campaign picked rather than nothing.
    const shown = matching.length ? matching : buyable;
    const shownSkus = new Set(shown.map((x) => x.sku));
    res.json({
      saved: true,
      preferences,
      matched: matching.length > 0,
      items: shown.map((x) => x.offer),
      /** One flag per product of the message, in its order: the email hides the cards that do not fit. */
      matches: s.claims.skus.map((sku) => shownSkus.has(sku)),
    });
  });

  for (const [path, methods] of [
    ['/offers', 'GET'],
    ['/cart', 'GET, POST'],
    ['/checkout', 'POST'],
    ['/survey', 'POST'],
  ] as const) {
    router.all(path, (req: Request) => {
      throw new HttpError(405, 'method_not_allowed', `${req.method} is not supported on /amp/v1${path}; use ${methods}.`, undefined, { Allow: methods });
    });
  }
  router.use((req: Request) => {
    throw new HttpError(404, 'not_found', `No AMP endpoint ${req.method} /amp/v1${req.path}. The endpoints are offers, cart, checkout and survey.`);
  });
  router.use(ampErrors(say, deps.logger));
  return router;
}

const quantity = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,3}$/, `quantity is a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `quantity is a whole number from ${min} to ${max}`);

const sku = z.string().trim().min(1, 'sku is required').max(128);
const size = z.string().trim().min(1, 'choose a size').max(32);

/** Only sku, size, quantity and action are read: any price a client sends is ignored. */
const cartForm = z
  .object({ sku, size, quantity: quantity(0, 99).optional(), action: z.enum(['set', 'add', 'remove']).default('set') })
  .superRefine((f, ctx) => {
    if (f.action === 'set' && f.quantity === undefined) ctx.addIssue({ code: 'custom', path: ['quantity'], message: 'quantity is required to set a line' });
    if (f.action === 'add' && f.quantity === 0) ctx.addIssue({ code: 'custom', path: ['quantity'], message: 'add at least 1' });
  });

/** shop-the-look posts every piece as sku.N / size.N (N from 0, in display order). */
const MAX_LOOK_PIECES = 10;
const lookForm = z
  .record(z.string(), z.union([z.string(), z.array(z.string())]))
  .transform((fields, ctx) => {
    const pieces: { sku: string; size: string }[] = [];
    for (let i = 0; i < MAX_LOOK_PIECES && fields[`sku.${i}`] !== undefined; i++) {
      const pieceSku = sku.safeParse(fields[`sku.${i}`]);
      const pieceSize = size.safeParse(fields[`size.${i}`] ?? '');
      if (!pieceSku.success) ctx.addIssue({ code: 'custom', path: [`sku.${i}`], message: 'one sku per piece' });
      if (!pieceSize.success) ctx.addIssue({ code: 'custom', path: ['size'], message: `choose a size for piece ${i + 1}` });
      if (pieceSku.success && pieceSize.success) pieces.push({ sku: pieceSku.data, size: pieceSize.data });
    }
    if (pieces.length === 0 && ctx.issues.length === 0) ctx.addIssue({ code: 'custom', path: ['sku.0'], message: 'the look has no pieces' });
    return pieces;
  });

const checkoutForm = z
  .object({ from: z.enum(['cart', 'item']).default('item'), sku: sku.optional(), size: size.optional(), quantity: quantity(1, 10).default(1) })
  .superRefine((f, ctx) => {
    if (f.from === 'item' && f.sku === undefined) ctx.addIssue({ code: 'custom', path: ['sku'], message: "sku is required (or from=cart to buy the cart)" });
    if (f.from === 'item' && f.size === undefined) ctx.addIssue({ code: 'custom', path: ['size'], message: 'choose a size' });
  });

/** Single-valued fields become strings (a repeated one an array, which its schema then refuses); `multi` fields are always arrays. */
/** Each quiz's answer schema and multi-valued fields, built once at load rather than per request. */
const QUIZ_FORMS = new Map(
  [...QUIZZES].map(([template, quiz]) => [
    template,
    {
      schema: quizAnswersSchema(quiz),
      multi: new Set(Object.entries(quiz.questions).flatMap(([name, q]) => (q.multiple ? [name] : []))) as ReadonlySet<string>,
    },
  ]),
);

function formObject(fields: FormFields, multi: ReadonlySet<string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, values] of fields) out[name] = multi.has(name) || values.length > 1 ? values : values[0]!;
  return out;
}

function checkoutAnswer(outcome: EmailCheckoutOutcome, s: Shopper, say: Say) {
  switch (outcome.kind) {
    case 'order': {
      const o = outcome.order;
      return {
        orderId: o.id,
        orderNumber: o.number,
        status: o.status,
        total: fromMinor(o.totalMinor, o.currency),
        totalText: formatMinor(o.totalMinor, o.currency, s.intlLocale),
        currency: o.currency,
        ...(o.paymentLink ? { paymentUrl: o.paymentLink } : {}),
      };
    }
    case 'continue_in_shop': {
      const { totalMinor, currency } = outcome;
      return { status: 'continue_in_shop', checkoutUrl: outcome.checkoutUrl, total: fromMinor(totalMinor, currency), totalText: formatMinor(totalMinor, currency, s.intlLocale), currency };
    }
    case 'refused':
      throw refusalError(outcome, s, say);
  }
}

/** A refused cart change or checkout as the email shows it: the status, the code and a sentence for the reader. */
function refusalError(refused: Refusal, s: Shopper, say: Say): Error {
  const values = { title: refused.title ?? refused.sku ?? '', size: refused.size ?? '' };
  switch (refused.code) {
    case 'not_in_message':
      return new HttpError(403, 'not_in_message', say(s.locale, 'unknownProduct'));
    case 'out_of_stock':
      // A cart change that asked for more than is left says how many are.
      return refused.stock
        ? new HttpError(409, 'out_of_stock', say(s.locale, 'notEnoughStock', { ...values, count: refused.stock }))
        : new HttpError(409, 'out_of_stock', say(s.locale, 'outOfStock', values));
    case 'unknown_product':
      return new HttpError(409, 'unknown_product', say(s.locale, 'unknownProduct', values));
    case 'unknown_size':
      return new HttpError(400, 'unknown_size', say(s.locale, 'unknownSize', values), [{ path: 'size', message: `${values.title} has no size ${values.size}` }]);
    case 'empty':
      return new HttpError(409, 'cart_empty', say(s.locale, 'cartEmpty'));
    case 'mixed_currency':
      return new HttpError(409, 'mixed_currency', say(s.locale, 'mixedCurrency'));
    case 'cart_changed':
      return new HttpError(409, 'cart_changed', say(s.locale, 'cartChanged'));
    case 'idempotency_key_reused':
      // The key hashes the customer id, so only a SHA-256 collision could land here: a 500.
      return new Error(`idempotency key of message ${s.claims.msg} is held by another customer's order`);
  }
}

/**
 * The AMP endpoints' own error answer: the shared shape, but a message the email can show
 * as is (submit-error templates print `error.message`), and never a redirect or an HTML page.
 */
function ampErrors(say: Say, logger: Logger | undefined) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    let error = toHttpError(err);
    const locale = req.amp?.loc;
    if (error.status >= 500) {
      (req.log ?? logger)?.error({ err }, 'AMP request failed');
      error = new HttpError(500, 'internal_error', say(locale, 'unavailable'));
    } else if (error.status === 413) {
      error = new HttpError(413, 'payload_too_large', say(locale, 'tooLarge'));
    } else if (error.code === 'invalid_json') {
      error = new HttpError(400, 'invalid_request', say(locale, 'checkFields'));
    }
    if (res.headersSent) return next(err);
    res.set('Cache-Control', 'no-store');
    if (error.headers) res.set(error.headers);
    res.status(error.status).json(error.body());
  };
}


