import type { AmpMessageContent } from '../commerce/amp-claims.ts';
import { cartView, messageProductBase, messageProductView, orderMoney, type MessageProductBase, productsTotalText, productUrlProblems, type CartLineView, type CartView, type CatalogEntry, type MessageProductContext, type ProductView } from '../commerce/message-product-view.ts';
import { marketPrice, priorPriceFor } from '../commerce/product-view.ts';
import { unsubscribeUrl } from '../commerce/unsubscribe-token.ts';
import { ampContent, ampUrls } from '../commerce/amp-content.ts';
import { payloadOwner, signedPayloads, type PayloadContext } from './whatsapp/message-payloads.ts';
import { offerFor, offerTag, type OfferView } from '../personalize/offer-policy.ts';
import type { Profile } from '../personalize/profile-schema.ts';
import type { Product, Reason, Recommendations } from '../personalize/recommendations-schema.ts';
import { preferredSize } from '../personalize/preferred-size.ts';
import { computeSegments, listSegments, SEGMENT_NAMES, type SegmentName, type Segments } from '../personalize/segments.ts';
import type { SegmentThresholds } from '../personalize/segment-thresholds.ts';
import { plainText, plainView } from '../shared/plain-text.ts';
import { checkUrl, withCampaignParams, type CampaignParams } from '../shared/safe-url.ts';
import type { Brand } from '../templates/brand.ts';
import type { TemplateManifest } from '../templates/template-manifest.ts';
import { MARK, MARKERS } from './markers.ts';
import type { HelperRoot } from '../templates/handlebars-env.ts';
import { truncate } from '../templates/handlebars-env.ts';
import { intern, InternTable } from './interned.ts';
import { canonicalLocale, FALLBACK_LOCALE, resolveLocale, textDirection, type LocaleTables } from '../templates/locale-strings.ts';
import { serialOf } from './object-serial.ts';
import type { CartInput, OrderInput } from './render-input.ts';
import * as caches from './view-caches.ts';
import type { CampaignContext } from './view-caches.ts';

// The view's parts are owned elsewhere: product views and carts by commerce/, offers by personalize/.
export type { CartLineView, CartView, CatalogEntry, OfferView, ProductView };
export { offerTag };

export interface RenderView extends HelperRoot {
  template: string;
  variant?: string;
  lang: string;
  dir: 'ltr' | 'rtl';
  firstName?: string;
  profileId: string;
  segments: Segments;
  segmentList: SegmentName[];
  /** Shared between messages and frozen: a channel that adds per-message fields copies. */
  products: readonly ProductView[];
  hero?: ProductView;
  /** The recommended products together (shop the look), when they share a currency. */
  productsTotalText?: string;
  offer?: OfferView;
  cart?: CartView;
  order?: OrderInput & { totalText: string; lines: (OrderInput['lines'][number] & { unitPriceText: string })[] };
  loyalty?: { tier: string; points: number; nextTier?: string; pointsToNext?: number; progress: number };
  location: { region?: string; city?: string; nearStore?: string };
  preferences: Record<string, string | string[]>;
  links: { shop: string; preferences: string; unsubscribe: string };
  amp: { offers: string; cart: string; checkout: string; survey: string };
  payloads: Record<string, string>;
  message: { id: string; campaignId?: string };
  year: number;
}

export interface ViewDeps {
  brand: Brand;
  locales: LocaleTables;
  thresholds: SegmentThresholds;
  /** Catalog products carry the reference prices the store derived from their price history. */
  catalog: (sku: string) => CatalogEntry | undefined;
  now: Date;
  /** Absolute https base of the AMP endpoints. */
  publicBaseUrl: string;
  /**
   * The AMP access token baked into the endpoint URLs: a fixed one (previews, tests), or a
   * signer called once with what the message shows, so the token binds its products, offer,
   * market and cart (the endpoints answer for exactly this message).
   */
  ampToken: string | ((content: AmpMessageContent, contentJson: string) => string);
  signPayload: (data: string) => string;
  /**
   * Signs the recipient's unsubscribe token (`/u/<token>`) for an email in the given locale.
   * Without it the footer links to the brand's own unsubscribe page.
   */
  unsubscribeToken?: (locale: string) => string;
  /**
   * Rewrites a product link of an email into a tracked one (`/c/<token>`), for renders with a
   * campaign context only (render-message.ts); without it product links go straight to the shop.
   */
  trackLink?: (sku: string, url: string) => string;
}

export interface ViewInput {
  manifest: TemplateManifest;
  profile: Profile;
  recommendations?: Recommendations;
  cart?: CartInput;
  order?: OrderInput;
  locale?: string;
  variant?: string;
  campaignId?: string;
  messageId: string;
}

// Module-level on purpose: closures created per recipient cost an allocation each (and a
// name-keeping call under tsx), and buildView runs once per message.
function plainIf(plain: boolean, s: string): string {
  return plain ? plainText(s) : s;
}

function optionalPlainIf(plain: boolean, s: string | undefined): string | undefined {
  return s === undefined ? undefined : plainIf(plain, s);
}

function campaignLink(raw: string, paramsKey: string, params: CampaignParams, shopUrl: string): string {
  return caches.links.get(`${raw}\u0000${paramsKey}`, () => withCampaignParams(checkUrl(raw, 'link') ?? new URL(shopUrl), params));
}

function productProblems(product: Product): readonly string[] {
  let problems = caches.problemsByProduct.get(product);
  if (!problems) {
    problems = productUrlProblems(product);
    caches.problemsByProduct.set(product, problems);
  }
  return problems;
}

function nextLoyaltyTier(tier: string, points: number, thresholds: Partial<Record<(typeof TIERS)[number], number>>): (typeof TIERS)[number] | undefined {
  const current = TIERS.indexOf(tier as (typeof TIERS)[number]);
  for (let i = current + 1; i < TIERS.length; i++) {
    const t = TIERS[i]!;
    if ((thresholds[t] ?? Infinity) > points) return t;
  }
  return undefined;
}

interface PricingContext extends MessageProductContext {
  paramsKey: string;
  campaignParams: CampaignParams;
  shopUrl: string;
}

/**
 * A message product's prices, text and links, made once per product, market, offer, campaign
 * and channel and shared: formatting prices and checking links is most of a view's cost.
 */
function productBase(product: CatalogEntry, c: PricingContext): MessageProductBase {
  const key = `${serialOf(product)}|${c.intlLocale}|${c.currency}|${c.percentOff ?? ''}|${serialOf(c.campaignParams)}|${c.plain ? 1 : 0}`;
  return caches.productBases.get(key, () => {
    const url = caches.links.get(`${product.url}\u0000${c.paramsKey}`, () => withCampaignParams(checkUrl(product.url, 'link') ?? new URL(c.shopUrl), c.campaignParams));
    return messageProductBase(product, url, c);
  });
}

/**
 * A cart line's product view, shared by the carts that show the same product in the same
 * size, market and channel (callers that add per-message fields copy first): its identity
 * stands for its content in the cart's key (buildCart).
 */
function cartProductView(product: CatalogEntry, preferred: string | undefined, c: PricingContext): ProductView {
  const base = productBase(product, c);
  return caches.productViews.get(`${serialOf(base)}|${preferred === undefined ? '-' : `s${preferred}`}`, () => messageProductView(base, product, preferred, undefined, c.plain));
}

/** Thrown when the data does not satisfy what the template declares it needs (a 400 for callers). */
export class TemplateDataError extends Error {
  constructor(readonly fields: { path: string; message: string }[]) {
    super(fields.map((f) => `${f.path}: ${f.message}`).join('; '));
    this.name = 'TemplateDataError';
  }
}

const TIERS = ['bronze', 'silver', 'gold', 'platinum'] as const;

/**
 * Everything about one recipient's message that does not depend on the channel: locale,
 * segments, the offer they are entitled to, the products and cart lines that can be shown,
 * loyalty. Computed once per message; each channel's view is projected from it.
 */
export interface ViewBase {
  input: ViewInput;
  locale: string;
  fellBack: boolean;
  intlLocale: string;
  currency: string;
  segments: Segments;
  segmentList: SegmentName[];
  offer?: OfferView;
  items: readonly { product: CatalogEntry; reason?: string }[];
  cartLines?: readonly { product: CatalogEntry; line: CartInput['items'][number] }[];
  loyalty: RenderView['loyalty'];
  /** Preferred size per category, worked out once per message. */
  preferred: Map<string | undefined, string | undefined>;
  warnings: string[];
}

/** What a channel view needs besides the base (WhatsApp payloads; markers for a cohort render). */
export interface ChannelOptions {
  channel: 'email' | 'whatsapp';
  /** For a WhatsApp view: the signed payloads the message about to be rendered reads. */
  payloads?: { keys: readonly string[]; productPayload: boolean };
  /**
   * A cohort view (cohort-cache.ts): first name, profile and message ids and the AMP token are
   * markers, filled in per recipient after the shared render. Email only.
   */
  markers?: boolean;
}

/**
 * Builds what templates see for one recipient: segments, products priced for the customer's
 * market with the preferred size selected, the offer the customer is entitled to, cart and
 * loyalty progress, and links already checked and tagged. Templates only lay it out.
 */
export function buildView(input: ViewInput & ChannelOptions, deps: ViewDeps, warnings: string[]): RenderView {
  return channelView(buildViewBase(input, deps, warnings), input, deps).view;
}

export function buildViewBase(input: ViewInput, deps: ViewDeps, warnings: string[]): ViewBase {
  const { profile, manifest } = input;
  const { locale, fellBack } = resolveLocale(input.locale ?? profile.locale, deps.locales);
  if (fellBack) warnings.push(`locale '${input.locale ?? profile.locale}' has no strings; rendered in English`);
  const intlLocale = safeIntlLocale(input.locale ?? profile.locale, locale);
  const currency = profile.currency;
  const segments = internedSegments(computeSegments(profile, deps.thresholds, deps.now));

  const offer = offerFor(input.recommendations?.offer, { name: manifest.name, category: manifest.category, offerFor: manifest.data.offerFor }, segments, { now: deps.now, intlLocale, timezone: profile.timezone }, warnings);

  const cart = input.cart ?? profile.cart;
  // Recommending what the customer already has in the cart wastes a slot (and reads as a
  // mistake next to the cart itself): such picks are left out, in every template.
  const items: { product: CatalogEntry; reason?: string }[] = [];
  const maxItems = manifest.data.recommendations?.maxItems ?? 8;
  for (const item of input.recommendations?.items ?? []) {
    if (items.length >= maxItems) break;
    if (cart?.items.some((l) => l.sku === item.sku)) {
      warnings.push(`recommended SKU ${item.sku} is already in the cart; skipped`);
      continue;
    }
    const full: CatalogEntry | undefined = 'url' in item ? (item as Product) : deps.catalog(item.sku);
    if (!full) {
      warnings.push(`recommended SKU ${item.sku} is not in the catalog; skipped`);
      continue;
    }
    for (const w of productProblems(full)) warnings.push(w);
    if (!full.sizes.some((s) => s.stock > 0)) {
      warnings.push(`recommended SKU ${item.sku} is sold out; skipped`);
      continue;
    }
    let reason = 'reason' in item && item.reason !== undefined ? localReason(item.reason, input.recommendations!.reasonLocale, locale, deps.locales) : undefined;
    if (reason === null) warnings.push(`recommended SKU ${item.sku}: its reason is not given in '${locale}'; left out`);
    else if (reason !== undefined && claimsReduction(item) && priorPriceFor(full, marketPrice(full, currency)) === undefined) {
      // "Price dropped on …" announces a reduction: only against a recorded 30-day prior price.
      warnings.push(`recommended SKU ${item.sku}: its reason says the price dropped, but there is no recorded lower price in ${currency} in the 30 days before; left out`);
      reason = undefined;
    }
    items.push({ product: full, reason: reason ?? undefined });
  }

  const cartLines = cart ? resolveCart(cart, deps, currency, warnings) : undefined;

  const missing: { path: string; message: string }[] = [];
  const minItems = manifest.data.recommendations?.minItems ?? 0;
  if (items.length < minItems) {
    missing.push({ path: 'recommendations.items', message: `template '${manifest.name}' needs at least ${minItems} available product(s); got ${items.length}` });
  }
  if (manifest.data.offer === 'required' && !input.recommendations?.offer) missing.push({ path: 'recommendations.offer', message: `template '${manifest.name}' needs an offer` });
  if (manifest.data.cart === 'required' && !cartLines?.length) missing.push({ path: 'cart', message: `template '${manifest.name}' needs a cart with at least one available item` });
  if (manifest.data.order === 'required' && !input.order) missing.push({ path: 'order', message: `template '${manifest.name}' needs an order` });
  if (missing.length) throw new TemplateDataError(missing);

  const tier = profile.loyalty?.tier ?? 'none';
  const points = profile.loyalty?.points ?? 0;
  const nextTier = nextLoyaltyTier(tier, points, deps.brand.loyaltyTiers);
  const nextAt = nextTier ? deps.brand.loyaltyTiers[nextTier] : undefined;

  return {
    input,
    locale,
    fellBack,
    intlLocale,
    currency,
    segments,
    segmentList: caches.segmentLists.get(segments)!,
    offer,
    items,
    cartLines,
    loyalty: profile.loyalty
      ? {
          tier,
          points,
          nextTier,
          pointsToNext: nextAt !== undefined ? nextAt - points : undefined,
          progress: nextAt ? Math.min(100, Math.round((points / nextAt) * 100)) : 100,
        }
      : undefined,
    preferred: new Map(),
    warnings,
  };
}

/**
 * A recommendation's reason in the message's language, or null when it has none: shown in
 * another language it would read as a mistake, so the product goes without a reason.
 */
function localReason(reason: Reason, reasonLocale: string | undefined, locale: string, tables: LocaleTables): string | null {
  if (typeof reason === 'string') return (reasonLocale ?? FALLBACK_LOCALE) === locale ? reason : null;
  if (typeof reason.key === 'string') return tables.get(locale)?.get(reason.key) ?? null;
  return (reason as Record<string, string>)[locale] ?? null;
}

/**
 * A reason that announces a price reduction (`reason.priceDropped…` keys): shown only with a
 * recorded 30-day prior price. Reasons given as text cannot be told apart; README asks campaign
 * systems to send such claims by key.
 */
function claimsReduction(item: NonNullable<Recommendations['items']>[number]): boolean {
  const reason = 'reason' in item ? item.reason : undefined;
  return typeof reason === 'object' && typeof reason.key === 'string' && reason.key.startsWith('reason.priceDropped');
}

/** The base's preferred size for a product's category. */
function preferredFor(base: ViewBase, category: string | undefined): string | undefined {
  if (base.preferred.has(category)) return base.preferred.get(category);
  const size = preferredSize(base.input.profile, category);
  base.preferred.set(category, size);
  return size;
}

/**
 * One channel's view of a message. The AMP and unsubscribe tokens (email only) are returned
 * beside the view: they are also in its URLs, and a cohort render (cohort-cache.ts) puts
 * markers there.
 */
export function channelView(base: ViewBase, options: ChannelOptions, deps: ViewDeps): { view: RenderView; token: string; unsubscribe: string } {
  const { input, intlLocale, currency, offer } = base;
  const { profile, manifest } = input;
  const channel = options.channel;
  // WhatsApp text is plain: data strings lose control and bidi-override characters here, once,
  // instead of a deep copy of the view per message. HTML and AMP escape at output instead.
  const plain = channel === 'whatsapp';
  const campaign = input.campaignId ?? manifest.name;
  const content = input.variant ? `${manifest.name}-${input.variant}` : manifest.name;
  // Lengths first: a campaign id is free text and must not run into the content.
  const paramsKey = `${channel}|${campaign.length}:${campaign}|${content}`;
  const ctx = campaignContext(deps, paramsKey, { source: 'inboxcart', medium: channel, campaign, content });
  const campaignParams = ctx.campaignParams;
  const pricing: PricingContext = {
    currency,
    intlLocale,
    percentOff: offer?.percentOff,
    paramsKey,
    campaignParams,
    plain,
    shopUrl: deps.brand.shopUrl,
    placeholderImage: deps.brand.placeholderImage,
  };

  const list = productList(base, pricing);
  let products = list;
  const cartView = base.cartLines ? buildCart(base.cartLines, base, pricing, deps) : undefined;

  // Signed payloads only matter for WhatsApp buttons, and each costs an HMAC: only those the
  // message about to be rendered reads are signed (a session list eight, a template two).
  let payloads: Record<string, string> = {};
  if (channel === 'whatsapp' && options.payloads) {
    const context: PayloadContext = {
      owner: payloadOwner(profile.id),
      messageId: input.messageId,
      offer: offerTag(offer),
      sign: deps.signPayload,
      warn: (message) => base.warnings.push(message),
    };
    // "Check out" acts on the cart the message shows, as of the message's clock (message-cart.ts):
    // the request's lines, as the shop knows them (the view's sizes are plain text for WhatsApp).
    const shownCart = base.cartLines?.length ? { at: Math.floor(deps.now.getTime() / 1000), lines: base.cartLines.map((l) => l.line) } : undefined;
    ({ payloads, products } = signedPayloads(options.payloads, context, products, shownCart));
  }
  // Tracked links name the recipient: a copy per message, like the signed payloads above.
  const trackLink = deps.trackLink;
  if (channel === 'email' && trackLink) products = products.map((p) => ({ ...p, url: trackLink(p.sku, p.url) }));

  // The AMP token is signed for email views only: a WhatsApp message has no AMP endpoints.
  const token =
    channel !== 'email'
      ? ''
      : encodeURIComponent(
          typeof deps.ampToken === 'string'
            ? deps.ampToken
            : signAmpContent(deps.ampToken, sharedAmpContent(products, offer, currency, intlLocale, cartView)),
        );
  const ampBase = `${deps.publicBaseUrl}/amp/v1/`;
  const lang = base.fellBack ? 'en' : intlLocale;
  const markers = options.markers === true;
  const tokenInUrl = markers && token ? MARKERS.token : token;
  const unsubscribe = channel === 'email' && deps.unsubscribeToken ? deps.unsubscribeToken(base.locale) : '';
  const firstName = profile.firstName?.trim() ? (plain ? truncate(plainText(profile.firstName.trim()), 64) : profile.firstName.trim()) : undefined;

  const view: RenderView = {
    locale: base.locale,
    intlLocale,
    currency,
    timezone: profile.timezone,
    brand: deps.brand,
    campaignParams,
    strings: deps.locales.get(base.locale)!,
    fallbackStrings: deps.locales.get('en')!,
    warnings: base.warnings,
    template: manifest.name,
    variant: input.variant,
    // The document language is the language of its strings, not merely the formatting locale.
    lang,
    dir: textDirection(lang),
    // A chat line is not the place for a 2,000-character name: capped so one odd profile
    // cannot push a WhatsApp template over its body limit.
    firstName: markers && firstName !== undefined ? MARKERS.firstName : firstName,
    profileId: markers ? MARKERS.profileId : profile.id,
    segments: base.segments,
    segmentList: base.segmentList,
    products,
    hero: products[0],
    productsTotalText: listTotalText(list, intlLocale),
    offer,
    cart: cartView,
    order: input.order
      ? {
          ...input.order,
          totalText: orderMoney(input.order.total, input.order.currency, intlLocale),
          number: plainIf(plain, input.order.number),
          carrier: optionalPlainIf(plain, input.order.carrier),
          lines: input.order.lines.map((l) => ({ ...l, title: plainIf(plain, l.title), sku: plainIf(plain, l.sku), size: optionalPlainIf(plain, l.size), unitPriceText: orderMoney(l.unitPrice, input.order!.currency, intlLocale) })),
        }
      : undefined,
    loyalty: base.loyalty,
    location: { region: profile.location?.region, city: optionalPlainIf(plain, profile.location?.city), nearStore: optionalPlainIf(plain, profile.location?.nearStore) },
    preferences: plain ? plainView(profile.preferences ?? {}) : (profile.preferences ?? {}),
    links: !unsubscribe ? ctx.links : markers ? ctx.markerLinks : { shop: ctx.links.shop, preferences: ctx.links.preferences, unsubscribe: unsubscribeUrl(deps.publicBaseUrl, unsubscribe) },
    // A cohort view's endpoints differ only by base URL: shared, so its key carries a serial.
    amp: markers ? (tokenInUrl ? ctx.ampMarkerUrls : ctx.ampUntokenedUrls) : ampUrls(ampBase, tokenInUrl),
    payloads,
    message: { id: markers ? MARKERS.messageId : input.messageId, campaignId: input.campaignId },
    year: deps.now.getUTCFullYear(),
  };
  return { view, token, unsubscribe };
}

/**
 * What a view shares with every message of its campaign, channel and service: the campaign
 * parameters, the shop and preferences links, the unsubscribe link and AMP endpoints of a
 * cohort view (markers in place of the tokens). One lookup per view; every part is interned,
 * so its identity stands for its content in cohort keys.
 */
function campaignContext(deps: ViewDeps, paramsKey: string, params: CampaignParams): CampaignContext {
  return brandContexts(deps.brand).get(`${paramsKey}\u0000${deps.publicBaseUrl}`, () => {
    const campaignParams = intern(params);
    const links = intern({
      shop: campaignLink(deps.brand.shopUrl, paramsKey, campaignParams, deps.brand.shopUrl),
      preferences: campaignLink(deps.brand.preferencesUrl, paramsKey, campaignParams, deps.brand.shopUrl),
      unsubscribe: deps.brand.unsubscribeUrl,
    });
    const ampBase = `${deps.publicBaseUrl}/amp/v1/`;
    return {
      campaignParams,
      links,
      markerLinks: intern({ ...links, unsubscribe: unsubscribeUrl(deps.publicBaseUrl, MARKERS.unsubscribe) }),
      ampMarkerUrls: intern(ampUrls(ampBase, MARKERS.token)),
      ampUntokenedUrls: intern(ampUrls(ampBase, '')),
    };
  });
}

/**
 * The recommended products as one channel shows them. A campaign shows the same list to most
 * of its recipients, so whole lists are memoised by what they depend on (the catalog objects
 * by identity, reasons, preferred sizes, market, offer, channel); lists are frozen because
 * they are shared, and their identity stands for their content (cohort keys rely on it).
 */
function productList(base: ViewBase, c: PricingContext): readonly ProductView[] {
  if (base.items.length === 0) return EMPTY_LIST;
  let key = `${c.plain ? 1 : 0}|${c.intlLocale}|${c.currency}|${c.percentOff ?? ''}|${c.paramsKey}`;
  for (const { product, reason } of base.items) {
    const preferred = preferredFor(base, product.category);
    // Lengths first: reasons and sizes are free text, and must not run into each other.
    key += `|${serialOf(product)}:${preferred?.length ?? -1}:${preferred ?? ''}${reason?.length ?? -1}:${reason ?? ''}`;
  }
  return caches.productLists.get(key, () => {
    // Made here, not memoised one by one: a list is memoised whole, and personal campaigns
    // rarely repeat a product with the same size and reason in another list.
    const list = Object.freeze(base.items.map(({ product, reason }) => messageProductView(productBase(product, c), product, preferredFor(base, product.category), reason, c.plain)));
    if (list.some(viewHasMark)) caches.listsWithMarks.add(list);
    return list;
  });
}

const EMPTY_LIST: readonly ProductView[] = Object.freeze([]);

/**
 * Whether any text of a product view contains the cohort marker. Field by field rather than
 * through its JSON: a new list per recipient (personal campaigns) spent 5.6 % of the render
 * serialising lists for this check.
 */
function viewHasMark(v: ProductView): boolean {
  for (const s of [v.sku, v.title, v.description, v.category, v.reason, v.url, v.image, v.currency, v.priceText, v.offerPriceText, v.compareAtText, v.priorPriceText, v.preferredSize, v.selectedSize]) {
    if (s !== undefined && s.includes(MARK)) return true;
  }
  return v.sizes.some((s) => s.size.includes(MARK));
}

/**
 * What a message's AMP token binds, shared by the messages that show the same list, offer,
 * market and cart: the signer gets its claims' JSON made once (commerce/amp-content.ts).
 */
function signAmpContent(sign: (content: AmpMessageContent, contentJson: string) => string, shared: { content: AmpMessageContent; json: string }): string {
  return sign(shared.content, shared.json);
}

function sharedAmpContent(products: readonly ProductView[], offer: OfferView | undefined, currency: string, intlLocale: string, cart: CartView | undefined) {
  const percentOff = offer?.percentOff;
  const offerExpiresAt = percentOff ? offer!.expiresAt : undefined;
  // The list by its serial (shared lists are frozen); currency and locale are codes and the
  // expiry an ISO date: none contains '|'.
  const key = `${serialOf(products)}|${percentOff ?? ''}|${offerExpiresAt ?? ''}|${currency}|${intlLocale}|${cart ? serialOf(cart) : ''}`;
  return caches.ampContents.get(key, () => ampContent(products, offer, currency, intlLocale, cart));
}

function brandContexts(brand: Brand): InternTable<CampaignContext> {
  let table = caches.contextsByBrand.get(brand);
  if (!table) {
    table = new InternTable();
    caches.contextsByBrand.set(brand, table);
  }
  return table;
}

/** One frozen object per combination of segment flags, with its list of names beside it. */
function internedSegments(segments: Segments): Segments {
  let key = '';
  for (const name of SEGMENT_NAMES) key += segments[name] ? '1' : '0';
  return caches.segmentsTable.get(key, () => {
    caches.segmentLists.set(segments, Object.freeze(listSegments(segments)) as SegmentName[]);
    return segments;
  });
}

/** Whether a product list's data contains the cohort marker character (then it is not shared). */
export function listHasMarks(list: readonly ProductView[]): boolean {
  return caches.listsWithMarks.has(list);
}

/** The cart's lines that can be shown: in the catalog, and priced in one currency. */
function resolveCart(cart: CartInput, deps: ViewDeps, currency: string, warnings: string[]): { product: CatalogEntry; line: CartInput['items'][number] }[] {
  const lines: { product: CatalogEntry; line: CartInput['items'][number] }[] = [];
  let lineCurrency: string | undefined;
  for (const line of cart.items) {
    const product = deps.catalog(line.sku);
    if (!product) {
      warnings.push(`cart SKU ${line.sku} is not in the catalog; left out`);
      continue;
    }
    for (const w of productProblems(product)) warnings.push(w);
    // A subtotal across currencies is meaningless, and checkout refuses such a cart too
    // (price-order.ts 'mixed_currency'): the shop needs a market price for every product.
    const priced = product.prices?.[currency] !== undefined ? currency : product.currency;
    if (lineCurrency !== undefined && lineCurrency !== priced) {
      throw new TemplateDataError([
        { path: 'cart.items', message: `${line.sku} is priced in ${priced} but the cart's other lines in ${lineCurrency}; set a ${currency} market price for every product` },
      ]);
    }
    lineCurrency = priced;
    lines.push({ product, line });
  }
  return lines;
}

/**
 * The cart as one channel shows it. Interned: the same lines (product view, quantity, size)
 * in the same market give the same frozen cart, so a cohort key carries its serial.
 */
function buildCart(lines: NonNullable<ViewBase['cartLines']>, base: ViewBase, c: PricingContext, deps: ViewDeps): CartView {
  const views = lines.map(({ product, line }) => ({ view: cartProductView(product, preferredFor(base, product.category), c), line }));
  let key = `${serialOf(deps.brand)}|${c.currency}|${c.intlLocale}`;
  for (const { view, line } of views) key += `|${serialOf(view)}:${line.quantity}:${line.size?.length ?? -1}:${line.size ?? ''}`;
  return caches.cartViews.get(key, () => cartView(views, c, deps.brand.freeShippingThreshold));
}

/** A BCP 47 tag Intl accepts: the profile's own (sv-SE) when valid, else the strings locale. */
function safeIntlLocale(requested: string, fallback: string): string {
  return canonicalLocale(requested) ?? fallback;
}

/** A shared list's key includes its locale, so its total is worked out once. */
function listTotalText(list: readonly ProductView[], intlLocale: string): string | undefined {
  if (caches.listTotals.has(list)) return caches.listTotals.get(list);
  const text = productsTotalText(list, intlLocale);
  caches.listTotals.set(list, text);
  return text;
}
