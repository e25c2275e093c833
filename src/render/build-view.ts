import type { Profile } from '../personalize/profile-schema.ts';
import type { Product, Recommendations } from '../personalize/recommendations-schema.ts';
import { preferredSize } from '../personalize/preferred-size.ts';
import { computeSegments, listSegments, type SegmentName, type Segments } from '../personalize/segments.ts';
import type { SegmentThresholds } from '../personalize/segment-thresholds.ts';
import type { Brand } from '../templates/brand.ts';
import type { TemplateManifest } from '../templates/template-manifest.ts';
import { formatDate, formatMoney, roundMoney } from './format.ts';
import type { HelperRoot } from './handlebars-env.ts';
import { resolveLocale, textDirection, type LocaleTables } from './locale-strings.ts';
import type { CartInput, OrderInput } from './render-input.ts';
import { checkUrl, withCampaignParams, type CampaignParams } from './safe-url.ts';

export interface SizeView {
  size: string;
  inStock: boolean;
  preferred: boolean;
  selected: boolean;
}

export interface ProductView {
  sku: string;
  title: string;
  description?: string;
  category?: string;
  reason?: string;
  url: string;
  image: string;
  currency: string;
  price: number;
  priceText: string;
  compareAtText?: string;
  onSale: boolean;
  /** The price after the campaign offer, when one applies to this customer. */
  offerPriceText?: string;
  discountPercent?: number;
  newArrival: boolean;
  sizes: SizeView[];
  hasSizes: boolean;
  preferredSize?: string;
  selectedSize?: string;
  soldOut: boolean;
}

export interface OfferView {
  code?: string;
  percentOff?: number;
  expiresAt?: string;
  expiresText?: string;
  /** Whole hours left, for "ends in 47 hours" copy. */
  hoursLeft?: number;
}

export interface CartLineView extends ProductView {
  quantity: number;
  size?: string;
  lineTotalText: string;
}

export interface CartView {
  items: CartLineView[];
  count: number;
  subtotal: number;
  subtotalText: string;
  freeShipping?: { threshold: number; thresholdText: string; remaining: number; remainingText: string; percent: number; reached: boolean };
}

export interface RenderView extends HelperRoot {
  template: string;
  variant?: string;
  lang: string;
  dir: 'ltr' | 'rtl';
  firstName?: string;
  profileId: string;
  segments: Segments;
  segmentList: SegmentName[];
  products: ProductView[];
  hero?: ProductView;
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
  catalog: (sku: string) => Product | undefined;
  now: Date;
  /** Absolute https base of the AMP endpoints. */
  publicBaseUrl: string;
  ampToken: string;
  signPayload: (data: string) => string;
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
  channel: 'email' | 'whatsapp';
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
 * Builds what templates see for one recipient: segments, products priced for the customer's
 * market with the preferred size selected, the offer the customer is entitled to, cart and
 * loyalty progress, and links already checked and tagged. Templates only lay it out.
 */
export function buildView(input: ViewInput, deps: ViewDeps, warnings: string[]): RenderView {
  const { profile, manifest } = input;
  const { locale, fellBack } = resolveLocale(input.locale ?? profile.locale, deps.locales);
  if (fellBack) warnings.push(`locale '${input.locale ?? profile.locale}' has no strings; rendered in English`);
  const intlLocale = safeIntlLocale(input.locale ?? profile.locale, locale);
  const currency = profile.currency;
  const segments = computeSegments(profile, deps.thresholds, deps.now);
  const campaignParams: CampaignParams = {
    source: 'inboxcart',
    medium: input.channel,
    campaign: input.campaignId ?? manifest.name,
    content: input.variant ? `${manifest.name}-${input.variant}` : manifest.name,
  };
  const link = (raw: string, kind: 'link' = 'link') => {
    const url = checkUrl(raw, kind);
    return withCampaignParams(url ?? new URL(deps.brand.shopUrl), campaignParams);
  };

  // VIPs get early access and full price: the discount is withheld even when the campaign carries one.
  const rawOffer = input.recommendations?.offer;
  const offerApplies = Boolean(rawOffer?.percentOff) && !segments.vip && manifest.category === 'marketing';
  if (rawOffer?.percentOff && segments.vip) warnings.push('offer withheld: VIP customers get early access, not discounts');
  const offer: OfferView | undefined =
    rawOffer && (offerApplies || (!rawOffer.percentOff && !segments.vip))
      ? {
          code: rawOffer.code,
          percentOff: rawOffer.percentOff,
          expiresAt: rawOffer.expiresAt,
          expiresText: rawOffer.expiresAt ? formatDate(rawOffer.expiresAt, intlLocale, profile.timezone, 'datetime') : undefined,
          hoursLeft: rawOffer.expiresAt ? Math.max(0, Math.floor((Date.parse(rawOffer.expiresAt) - deps.now.getTime()) / 3_600_000)) : undefined,
        }
      : undefined;

  const toView = (product: Product, reason?: string): ProductView => {
    const marketPrice = product.prices?.[currency];
    const priceCurrency = marketPrice !== undefined ? currency : product.currency;
    const price = marketPrice ?? product.price;
    // Market compare-at prices scale with the market price, so "was" and "now" stay consistent.
    const compareAt = product.compareAtPrice !== undefined && product.compareAtPrice > product.price
      ? roundMoney((product.compareAtPrice / product.price) * price, priceCurrency)
      : undefined;
    const preferred = preferredSize(profile, product.category);
    const inStock = product.sizes.filter((s) => s.stock > 0);
    const selected = preferred && inStock.some((s) => s.size === preferred) ? preferred : inStock[0]?.size;
    const percent = offer?.percentOff;
    const image = checkUrl(product.image, 'image');
    if (product.image !== undefined && !image) warnings.push(`product ${product.sku}: image rejected (images must be https)`);
    if (!checkUrl(product.url, 'link')) warnings.push(`product ${product.sku}: link rejected (only http(s) URLs)`);
    return {
      sku: product.sku,
      title: product.title,
      description: product.description,
      category: product.category,
      reason,
      url: link(product.url),
      image: image?.href ?? deps.brand.placeholderImage,
      currency: priceCurrency,
      price,
      priceText: formatMoney(price, priceCurrency, intlLocale),
      compareAtText: compareAt !== undefined ? formatMoney(compareAt, priceCurrency, intlLocale) : undefined,
      onSale: compareAt !== undefined,
      offerPriceText: percent ? formatMoney(roundMoney(price * (1 - percent / 100), priceCurrency), priceCurrency, intlLocale) : undefined,
      discountPercent: compareAt !== undefined ? Math.round((1 - price / compareAt) * 100) : undefined,
      newArrival: product.newArrival,
      sizes: product.sizes.map((s) => ({ size: s.size, inStock: s.stock > 0, preferred: s.size === preferred, selected: s.size === selected })),
      hasSizes: product.sizes.length > 1,
      preferredSize: preferred,
      selectedSize: selected,
      soldOut: inStock.length === 0,
    };
  };

  const products: ProductView[] = [];
  const maxItems = manifest.data.recommendations?.maxItems ?? 8;
  for (const item of input.recommendations?.items ?? []) {
    if (products.length >= maxItems) break;
    const full = 'url' in item ? (item as Product) : deps.catalog(item.sku);
    if (!full) {
      warnings.push(`recommended SKU ${item.sku} is not in the catalog; skipped`);
      continue;
    }
    const view = toView(full, 'reason' in item ? item.reason : undefined);
    if (view.soldOut) {
      warnings.push(`recommended SKU ${item.sku} is sold out; skipped`);
      continue;
    }
    products.push(view);
  }

  const cart = input.cart ?? profile.cart;
  const cartView = cart ? buildCart(cart, deps, toView, currency, intlLocale, warnings) : undefined;

  const missing: { path: string; message: string }[] = [];
  const minItems = manifest.data.recommendations?.minItems ?? 0;
  if (products.length < minItems) {
    missing.push({ path: 'recommendations.items', message: `template '${manifest.name}' needs at least ${minItems} available product(s); got ${products.length}` });
  }
  if (manifest.data.offer === 'required' && !rawOffer) missing.push({ path: 'recommendations.offer', message: `template '${manifest.name}' needs an offer` });
  if (manifest.data.cart === 'required' && !cartView?.items.length) missing.push({ path: 'cart', message: `template '${manifest.name}' needs a cart with at least one available item` });
  if (manifest.data.order === 'required' && !input.order) missing.push({ path: 'order', message: `template '${manifest.name}' needs an order` });
  if (missing.length) throw new TemplateDataError(missing);

  const tier = profile.loyalty?.tier ?? 'none';
  const points = profile.loyalty?.points ?? 0;
  const nextTier = TIERS.find((t) => (deps.brand.loyaltyTiers[t] ?? Infinity) > points && TIERS.indexOf(t) > TIERS.indexOf(tier as (typeof TIERS)[number]));
  const nextAt = nextTier ? deps.brand.loyaltyTiers[nextTier] : undefined;

  const payloads: Record<string, string> = {
    later: deps.signPayload(`later:${input.messageId}`),
    stop: deps.signPayload(`stop:${input.messageId}`),
    cart: deps.signPayload(`cart:${input.messageId}`),
  };
  products.forEach((p, i) => {
    payloads[`buy${i}`] = deps.signPayload(`buy:${p.sku}:${p.selectedSize ?? ''}:${input.messageId}`);
  });

  const token = encodeURIComponent(deps.ampToken);
  const endpoint = (path: string) => `${deps.publicBaseUrl}/amp/v1/${path}?token=${token}`;
  const strings = deps.locales.get(locale)!;

  return {
    locale,
    intlLocale,
    currency,
    timezone: profile.timezone,
    brand: deps.brand,
    campaignParams,
    strings,
    fallbackStrings: deps.locales.get('en')!,
    warnings,
    template: manifest.name,
    variant: input.variant,
    // The document language is the language of its strings, not merely the formatting locale.
    lang: fellBack ? 'en' : intlLocale,
    dir: textDirection(fellBack ? 'en' : intlLocale),
    firstName: profile.firstName?.trim() || undefined,
    profileId: profile.id,
    segments,
    segmentList: listSegments(segments),
    products,
    hero: products[0],
    offer,
    cart: cartView,
    order: input.order
      ? {
          ...input.order,
          totalText: formatMoney(input.order.total, input.order.currency, intlLocale),
          lines: input.order.lines.map((l) => ({ ...l, unitPriceText: formatMoney(l.unitPrice, input.order!.currency, intlLocale) })),
        }
      : undefined,
    loyalty: profile.loyalty
      ? {
          tier,
          points,
          nextTier,
          pointsToNext: nextAt !== undefined ? nextAt - points : undefined,
          progress: nextAt ? Math.min(100, Math.round((points / nextAt) * 100)) : 100,
        }
      : undefined,
    location: { region: profile.location?.region, city: profile.location?.city, nearStore: profile.location?.nearStore },
    preferences: profile.preferences ?? {},
    links: {
      shop: link(deps.brand.shopUrl),
      preferences: link(deps.brand.preferencesUrl),
      unsubscribe: deps.brand.unsubscribeUrl,
    },
    amp: { offers: endpoint('offers'), cart: endpoint('cart'), checkout: endpoint('checkout'), survey: endpoint('survey') },
    payloads,
    message: { id: input.messageId, campaignId: input.campaignId },
    year: deps.now.getUTCFullYear(),
  };
}

function buildCart(
  cart: CartInput,
  deps: ViewDeps,
  toView: (p: Product) => ProductView,
  currency: string,
  intlLocale: string,
  warnings: string[],
): CartView {
  const items: CartLineView[] = [];
  let subtotal = 0;
  let lineCurrency = currency;
  for (const line of cart.items) {
    const product = deps.catalog(line.sku);
    if (!product) {
      warnings.push(`cart SKU ${line.sku} is not in the catalog; left out`);
      continue;
    }
    const view = toView(product);
    lineCurrency = view.currency;
    const total = roundMoney(view.price * line.quantity, view.currency);
    subtotal = roundMoney(subtotal + total, view.currency);
    items.push({ ...view, quantity: line.quantity, size: line.size, lineTotalText: formatMoney(total, view.currency, intlLocale) });
  }
  const threshold = deps.brand.freeShippingThreshold[lineCurrency];
  const remaining = threshold !== undefined ? Math.max(0, roundMoney(threshold - subtotal, lineCurrency)) : undefined;
  return {
    items,
    count: items.reduce((n, i) => n + i.quantity, 0),
    subtotal,
    subtotalText: formatMoney(subtotal, lineCurrency, intlLocale),
    freeShipping:
      threshold !== undefined && remaining !== undefined
        ? {
            threshold,
            thresholdText: formatMoney(threshold, lineCurrency, intlLocale),
            remaining,
            remainingText: formatMoney(remaining, lineCurrency, intlLocale),
            percent: threshold > 0 ? Math.min(100, Math.round((subtotal / threshold) * 100)) : 100,
            reached: remaining === 0,
          }
        : undefined,
  };
}

/** A BCP 47 tag Intl accepts: the profile's own (sv-SE) when valid, else the strings locale. */
function safeIntlLocale(requested: string, fallback: string): string {
  try {
    return Intl.getCanonicalLocales(requested)[0] ?? fallback;
  } catch {
    return fallback;
  }
}
