/**
 * A generated campaign where every recipient has their own products, for the `personal`
 * benchmark scenario: a 200-product catalog and recipients with their own picks, names, ids,
 * locales, segments, offers and carts. Deterministic: the same seed gives the same data.
 *
 * Everything passes the service's own contracts (the catalog `productSchema`, the
 * `renderRequestSchema`), so the render sees what a campaign system would send it.
 */
import { productSchema, type Product } from '../../src/commerce/product-schema.ts';
import { renderRequestSchema, type RenderRequest, type RenderRequestInput } from '../../src/render/render-input.ts';
import type { TemplateManifest } from '../../src/templates/template-manifest.ts';
import { seededRandom } from './seeded-random.ts';

type Random = (n: number) => number;

const DAY_MS = 86_400_000;

function pick<T>(random: Random, list: readonly T[]): T {
  return list[random(list.length)]!;
}

/** True with probability `percent` %. */
function chance(random: Random, percent: number): boolean {
  return random(100) < percent;
}

interface CategorySpec {
  category: string;
  code: string;
  kinds: readonly string[];
  sizes: readonly (readonly string[])[];
  /** Base (EUR) price range, in whole euros; prices end in .95. */
  eur: readonly [number, number];
  material: readonly string[];
}

const APPAREL = ['XS', 'S', 'M', 'L', 'XL'] as const;

const CATEGORIES: readonly CategorySpec[] = [
  { category: 'tops', code: 'TOP', kinds: ['Linen Shirt', 'Rib Knit Top', 'Silk Camisole', 'Organic Cotton Tee', 'Wool Cardigan', 'Poplin Blouse', 'Merino Turtleneck', 'Breton Top'], sizes: [APPAREL], eur: [24, 89], material: ['washed linen', 'merino wool', 'organic cotton', 'mulberry silk'] },
  { category: 'dresses', code: 'DRS', kinds: ['Midi Slip Dress', 'Shirt Dress', 'Wrap Dress', 'Knit Dress', 'Maxi Dress', 'Linen Sundress'], sizes: [APPAREL], eur: [59, 149], material: ['satin', 'linen', 'viscose', 'fine-knit wool'] },
  { category: 'jeans', code: 'JNS', kinds: ['High-Rise Straight Jeans', 'Wide-Leg Jeans', 'Slim Jeans', 'Barrel Jeans', 'Bootcut Jeans'], sizes: [['24', '25', '26', '27', '28', '29', '30', '31', '32'], ['25', '26', '27', '28', '29', '30', '31']], eur: [69, 119], material: ['rigid denim', 'stretch denim', 'organic denim'] },
  { category: 'shoes', code: 'SHO', kinds: ['Leather Ankle Boots', 'Canvas Sneakers', 'Suede Loafers', 'Chelsea Boots', 'Leather Sandals'], sizes: [['36', '37', '38', '39', '40', '41', '42']], eur: [69, 189], material: ['vegetable-tanned leather', 'suede', 'recycled canvas'] },
  { category: 'swimwear', code: 'SWM', kinds: ['Swimsuit', 'Bikini Set', 'Swim Shorts'], sizes: [APPAREL], eur: [39, 79], material: ['recycled nylon', 'ribbed lycra'] },
  { category: 'outerwear', code: 'OUT', kinds: ['Wool Coat', 'Rain Jacket', 'Puffer Vest', 'Trench Coat', 'Insulated Ski Jacket'], sizes: [APPAREL], eur: [129, 299], material: ['boiled wool', 'waxed cotton', 'recycled down'] },
  { category: 'skincare', code: 'SKN', kinds: ['Hydrating Face Cream', 'Vitamin C Serum', 'Retinol Night Oil', 'Gentle Cleanser', 'Lip Balm', 'Hand Cream'], sizes: [['50ml'], ['30ml', '50ml'], ['150ml', '300ml']], eur: [14, 59], material: ['birch sap', 'cloudberry seed oil', 'oat extract'] },
  { category: 'accessories', code: 'ACC', kinds: ['Wool Scarf', 'Leather Crossbody Bag', 'Knit Beanie', 'Leather Belt', 'Canvas Tote'], sizes: [['ONE']], eur: [24, 129], material: ['lambswool', 'full-grain leather', 'heavy canvas'] },
  { category: 'outdoor', code: 'SUP', kinds: ['Inflatable Paddle Board 10\'6"', 'Trekking Poles', 'Insulated Bottle'], sizes: [['ONE']], eur: [29, 599], material: ['drop-stitch PVC', 'carbon', 'stainless steel'] },
];

/** Collection names: Nordic words, some with å/ä/ö, as the brand's real lines are named. */
const LINES = [
  'Fjord', 'Aurora', 'Saga', 'Kust', 'Skagen', 'Hav', 'Fjäll', 'Midnattsol', 'Polar', 'Björk', 'Hjortron', 'Tove', 'Lykke', 'Linnea', 'Midsommar',
  'Strand', 'Vinga', 'Nordlys', 'Åre', 'Lofoten', 'Gotland', 'Visby', 'Sälen', 'Öland', 'Runa', 'Frej', 'Solvik', 'Isfjord', 'Tindra', 'Ljung',
];
const COLOURS = ['Sand', 'Midnight Blue', 'Oat', 'Forest Green', 'Charcoal', 'Rust', 'Ecru', 'Dusty Rose'];

/** A price that ends in .95 within [lo, hi] euros. */
function eurPrice(random: Random, [lo, hi]: readonly [number, number]): number {
  return lo + random(hi - lo + 1) + 0.95;
}

/** Market prices as shops set them: whole numbers ending in 9 (549 kr, 2.499 TL). */
function marketPrice(eur: number, rate: number, step: number): number {
  return Math.max(step, Math.round((eur * rate) / step) * step) - 1;
}

/**
 * The catalog: `size` products over nine categories, with per-market prices in EUR (base),
 * SEK and TRY, compare-at prices for about a quarter (in every market), sizes with some out of
 * stock, a few products down to their last size and a few sold out.
 */
export function personalCatalog(seed = 1, size = 200): Product[] {
  const random = seededRandom(seed);
  const products: Product[] = [];
  const titles = new Set<string>();
  const serials = new Map<string, number>();
  while (products.length < size) {
    const spec = pick(random, CATEGORIES);
    const kind = pick(random, spec.kinds);
    let title = `${pick(random, LINES)} ${kind}`;
    // Real titles carry a colour, and now and then the characters HTML must escape.
    if (chance(random, 40)) title += ` – ${pick(random, COLOURS)}`;
    if (chance(random, 4)) title = title.replace(' ', ' & Co. ');
    if (titles.has(title)) continue;
    titles.add(title);
    const serial = (serials.get(spec.code) ?? 0) + 1;
    serials.set(spec.code, serial);
    const sku = `NL-${spec.code}-${String(100 + serial).padStart(3, '0')}`;

    const price = eurPrice(random, spec.eur);
    const prices = { SEK: marketPrice(price, 11, 10), TRY: marketPrice(price, 50, 100) };
    const sale = chance(random, 25);
    const markup = 1.2 + random(30) / 100;
    const compareAtPrice = sale ? Math.floor(price * markup) + 0.95 : undefined;
    const compareAtPrices = sale ? { SEK: marketPrice(price * markup, 11, 10), TRY: marketPrice(price * markup, 50, 100) } : undefined;

    const sizeNames = pick(random, spec.sizes);
    const stockShape = random(100);
    const sizes = sizeNames.map((s, i) => {
      // 2 %: sold out; 4 %: only the last size left; otherwise a size is out one time in five.
      if (stockShape < 2) return { size: s, stock: 0 };
      if (stockShape < 6) return { size: s, stock: i === sizeNames.length - 1 ? 1 + random(2) : 0 };
      return { size: s, stock: chance(random, 20) ? 0 : 1 + random(25) };
    });
    const material = pick(random, spec.material);
    products.push(
      productSchema.parse({
        sku,
        title,
        description: `${kind} in ${material}, from the ${title.split(' ')[0]} line.`,
        category: spec.category,
        price,
        ...(compareAtPrice !== undefined ? { compareAtPrice } : {}),
        currency: 'EUR',
        prices,
        ...(compareAtPrices ? { compareAtPrices } : {}),
        image: `https://cdn.nordlys.example/img/${sku}.jpg`,
        url: `https://shop.nordlys.example/p/${sku}`,
        sizes,
        tags: [material.split(' ').pop()!, ...(sale ? ['sale'] : [])],
        newArrival: chance(random, 20),
      }),
    );
  }
  return products;
}

interface Market {
  locales: readonly string[];
  currency: string;
  timezones: readonly string[];
  phone: string;
  country: string;
  givenNames: readonly string[];
  cities: readonly string[];
  stores: readonly string[];
}

const MARKETS: readonly Market[] = [
  {
    locales: ['en', 'en-GB', 'en-IE'], currency: 'EUR', timezones: ['Europe/London', 'Europe/Dublin'], phone: '+35387', country: 'IE',
    givenNames: ['Sophie', 'Rachel', 'Carl', 'Quinn', 'Oliver', 'Amelia', 'Liam', 'Siobhán', 'Niamh', 'Connor', 'Grace', 'Aoife', 'Jack', 'Chloé', "D'Arcy"],
    cities: ['Dublin', 'Cork', 'Galway', 'London', 'Brighton'], stores: ['Nordlys Dublin Grafton St', 'Nordlys London Soho'],
  },
  {
    locales: ['tr', 'tr-TR'], currency: 'TRY', timezones: ['Europe/Istanbul'], phone: '+90532', country: 'TR',
    givenNames: ['Ayşe', 'Emre', 'Zeynep', 'Çağla', 'Mehmet', 'Elif', 'Burak', 'Gülşen', 'İrem', 'Oğuz', 'Şule', 'Deniz', 'Kaan', 'Ömer', 'Ece'],
    cities: ['İstanbul', 'İzmir', 'Ankara', 'Antalya', 'Muğla'], stores: ['Nordlys İstanbul Nişantaşı', 'Nordlys İzmir Alsancak'],
  },
  {
    locales: ['sv', 'sv-SE'], currency: 'SEK', timezones: ['Europe/Stockholm'], phone: '+4670', country: 'SE',
    givenNames: ['Ingrid', 'Lars', 'Åsa', 'Björn', 'Märta', 'Astrid', 'Sven', 'Linnéa', 'Göran', 'Elsa', 'Örjan', 'Maja', 'Nils', 'Saga', 'Anna-Karin'],
    cities: ['Stockholm', 'Göteborg', 'Åre', 'Malmö', 'Visby'], stores: ['Nordlys Göteborg Nordstan', 'Nordlys Stockholm Biblioteksgatan'],
  },
];

/** The shares of the markets: English (EUR) 40 %, Turkish (TRY) 30 %, Swedish (SEK) 30 %. */
function marketOf(random: Random): Market {
  const r = random(10);
  return MARKETS[r < 4 ? 0 : r < 7 ? 1 : 2]!;
}

/** Reason keys every locale file has (templates/locales/*.json, `reason.*`). */
const REASON_KEYS = [
  'justIn', 'backInStock', 'favouriteFitBack', 'newInTops', 'lovesDresses', 'bestsellerJeans', 'pairsWithLastOrder', 'trendingSkincare',
  'completeTheLook', 'alsoBought', 'layerUpForWinter', 'priceDroppedViewed', 'startHere',
];
const REASON_TEXTS = [
  { en: 'Picked for your style', tr: 'Tarzınıza göre seçildi', sv: 'Utvald för din stil' },
  { en: 'Back in your size', tr: 'Bedeniniz yeniden stokta', sv: 'Tillbaka i din storlek' },
  { en: 'Customers like you bought this', tr: 'Size benzer müşteriler bunu aldı', sv: 'Kunder som du köpte den här' },
];

type Offer = NonNullable<RenderRequestInput['recommendations']>['offer'];

/** Campaign offers as a campaign system assigns them per recipient: none, a code, or a discount. */
function offerFor(random: Random, now: number): Offer {
  const r = random(100);
  if (r < 35) return undefined;
  if (r < 45) return { code: 'FREESHIP' };
  const percentOff = pick(random, [10, 15, 20, 25, 30]);
  const code = `NL${percentOff}${pick(random, ['WINTER', 'VIP', 'BACK', 'WELCOME'])}`;
  const expiry = random(10);
  // Half end on a date (one in ten of those has already ended: withheld, and said so).
  if (expiry < 5) return { code, percentOff };
  const hours = expiry === 5 ? -6 : 12 + random(24 * 10);
  return { code, percentOff, expiresAt: new Date(now + hours * 3_600_000).toISOString() };
}

/**
 * Personas as segment inputs (thresholds: segment-thresholds.ts defaults): what decides vip,
 * at_risk, discount_seeker and new_subscriber. Birthday, region and a store nearby are drawn
 * independently of them.
 */
const PERSONAS = ['regular', 'regular', 'regular', 'vip', 'vip', 'at_risk', 'at_risk', 'discount_seeker', 'discount_seeker', 'new_subscriber', 'lapsed_bargain', 'no_data'] as const;
type Persona = (typeof PERSONAS)[number];

function personaProfile(persona: Persona, random: Random, now: number, currency: string) {
  const ago = (days: number) => new Date(now - days * DAY_MS).toISOString();
  const spendScale = currency === 'TRY' ? 50 : currency === 'SEK' ? 11 : 1;
  switch (persona) {
    case 'no_data':
      return {};
    case 'new_subscriber':
      return { subscribedAt: ago(1 + random(13)), orders: { count: 0, totalSpent: 0 }, affinities: { promoSensitivity: random(100) / 100 } };
    case 'vip': {
      const tier = pick(random, ['gold', 'platinum', 'silver'] as const);
      // A silver VIP gets there by recency, frequency and spend.
      const orders = tier === 'silver' ? 8 + random(20) : 3 + random(30);
      return {
        subscribedAt: ago(400 + random(2000)),
        loyalty: { tier, points: 500 + random(4000) },
        orders: { count: orders, totalSpent: (1200 + random(5000)) * spendScale, lastOrderAt: ago(1 + random(60)) },
        affinities: { promoSensitivity: random(30) / 100, newArrivals: chance(random, 70) },
      };
    }
    case 'at_risk':
    case 'lapsed_bargain':
      return {
        subscribedAt: ago(300 + random(1500)),
        loyalty: { tier: pick(random, ['none', 'bronze', 'silver'] as const), points: random(900) },
        orders: { count: 1 + random(7), totalSpent: (60 + random(800)) * spendScale, lastOrderAt: ago(120 + random(400)) },
        affinities: { promoSensitivity: persona === 'lapsed_bargain' ? 0.7 + random(30) / 100 : random(60) / 100 },
      };
    case 'discount_seeker':
      return {
        subscribedAt: ago(30 + random(1500)),
        loyalty: { tier: pick(random, ['none', 'bronze'] as const), points: random(400) },
        orders: { count: 1 + random(4), totalSpent: (40 + random(300)) * spendScale, lastOrderAt: ago(5 + random(100)) },
        affinities: { promoSensitivity: 0.7 + random(31) / 100 },
      };
    case 'regular':
      return {
        subscribedAt: ago(20 + random(2000)),
        loyalty: { tier: pick(random, ['none', 'bronze', 'silver'] as const), points: random(1200) },
        orders: { count: 1 + random(7), totalSpent: (50 + random(900)) * spendScale, lastOrderAt: ago(3 + random(110)) },
        affinities: { promoSensitivity: random(65) / 100, newArrivals: chance(random, 40) },
      };
  }
}

/** Sizes bought in a few categories, so preferred sizes differ from one recipient to the next. */
function sizesBought(random: Random): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const spec of CATEGORIES) {
    if (spec.sizes[0]![0] === 'ONE' || !chance(random, 45)) continue;
    const sizes = pick(random, spec.sizes);
    const counts: Record<string, number> = { [pick(random, sizes)]: 1 + random(5) };
    if (chance(random, 30)) counts[pick(random, sizes)] = 1 + random(2);
    out[spec.category] = counts;
  }
  return out;
}

export interface PersonalRequestOptions {
  seed: number;
  count: number;
  /** Templates in round-robin (the manifests say what data each needs). */
  templates: readonly TemplateManifest[];
  /** Products per recipient: exactly this many, or 4–8 when absent. */
  products?: number;
  /** The render clock (segments, offers and the WhatsApp window are relative to it). */
  now: string;
  /** Distinguishes the message ids of sets generated from different seeds. */
  idPrefix?: string;
}

/**
 * Recipients with their own products: `count` render requests, each with distinct name, ids
 * and 4–8 products drawn from the catalog (skewed towards the first ones, as bestsellers are
 * recommended more often than the long tail), a locale of en/tr/sv and its market, a persona
 * and independent birthday/region/store, an offer or none, and a cart for half of them.
 */
export function personalRequests(catalog: readonly Product[], o: PersonalRequestOptions): RenderRequest[] {
  const random = seededRandom(o.seed);
  const now = Date.parse(o.now);
  const prefix = o.idPrefix ?? `s${o.seed}`;
  // Recommendation systems leave out what cannot be bought.
  const available = catalog.filter((p) => p.sizes.some((s) => s.stock > 0));
  const drawProduct = () => available[Math.floor(available.length * (random(1_000_000) / 1_000_000) ** 1.5)]!;
  const month = new Date(now).getUTCMonth() + 1;

  return Array.from({ length: o.count }, (_, i) => {
    const manifest = o.templates[i % o.templates.length]!;
    const need = manifest.data;
    const market = marketOf(random);
    const locale = pick(random, market.locales);
    const persona = pick(random, PERSONAS);
    const given = pick(random, market.givenNames);

    const wanted = Math.max(o.products ?? 4 + random(5), need.recommendations?.minItems ?? 0);
    const picks = new Set<Product>();
    while (picks.size < wanted) picks.add(drawProduct());
    const hasCart = need.cart === 'required' || chance(random, 50);
    const cartProducts = new Set<Product>();
    // The cart holds other products than the picks: a pick in the cart is skipped, and the
    // scenario means to show exactly the products drawn.
    while (hasCart && cartProducts.size < 1 + random(3)) {
      const p = drawProduct();
      if (!picks.has(p)) cartProducts.add(p);
    }
    const cart = hasCart
      ? {
          items: [...cartProducts].map((p) => ({ sku: p.sku, size: pick(random, p.sizes.filter((s) => s.stock > 0)).size, quantity: 1 + random(2) })),
          updatedAt: new Date(now - (1 + random(72)) * 3_600_000).toISOString(),
        }
      : undefined;
    // Carts come either with the profile (the customer store's) or in the request.
    const cartOnProfile = cart !== undefined && chance(random, 50);

    const items = [...picks].map((p) => {
      const r = random(100);
      if (r < 60) return { sku: p.sku, reason: { key: `reason.${pick(random, REASON_KEYS)}` } };
      if (r < 75) return { sku: p.sku, reason: pick(random, REASON_TEXTS) };
      return { sku: p.sku };
    });
    let offer = offerFor(random, now);
    if (need.offer === 'required' && !offer) offer = { code: 'NL10WELCOME', percentOff: 10, expiresAt: new Date(now + 48 * 3_600_000).toISOString() };

    const region = random(100);
    const whatsappConsent = chance(random, 70);
    const inbound = random(100);
    const profile = {
      id: `cust-${prefix}-${String(i).padStart(6, '0')}`,
      // Recipients differ in name (the suffix makes every one distinct; 1 in 20 has none).
      ...(chance(random, 95) ? { firstName: `${given} ${i}` } : {}),
      lastName: `Bench-${i}`,
      email: `customer.${prefix}.${i}@example.com`,
      ...(whatsappConsent || chance(random, 20) ? { phone: `${market.phone}${String(1_000_000 + ((i * 7919) % 9_000_000)).padStart(7, '0')}` } : {}),
      locale,
      currency: market.currency,
      timezone: pick(random, market.timezones),
      consent: { email: true, whatsapp: whatsappConsent, sms: false },
      ...personaProfile(persona, random, now, market.currency),
      ...(chance(random, 8) ? { birthday: `19${60 + random(40)}-${String(month).padStart(2, '0')}-${String(1 + random(28)).padStart(2, '0')}` } : {}),
      ...(region < 65
        ? {
            location: {
              city: pick(random, market.cities),
              country: market.country,
              ...(region < 15 ? { region: 'coast' as const } : region < 25 ? { region: 'mountains' as const } : region < 45 ? { region: 'city' as const } : {}),
              ...(chance(random, 12) ? { nearStore: pick(random, market.stores) } : {}),
            },
          }
        : {}),
      ...(inbound < 30 ? { whatsapp: { lastInboundAt: new Date(now - (1 + random(20 * 60)) * 60_000).toISOString() } } : inbound < 60 ? { whatsapp: { lastInboundAt: new Date(now - (2 + random(60)) * DAY_MS).toISOString() } } : {}),
      ...(cartOnProfile ? { cart } : {}),
    };
    // sizesBought sits under orders, which the persona may or may not have.
    const withSizes = 'orders' in profile && profile.orders ? { ...profile, orders: { ...profile.orders, sizesBought: sizesBought(random) } } : profile;

    const request: RenderRequestInput = {
      template: manifest.name,
      profile: withSizes,
      recommendations: { items, ...(offer ? { offer } : {}) },
      ...(cart && !cartOnProfile ? { cart } : {}),
      ...(need.order === 'required' ? { order: orderOf(random, [...picks].slice(0, 3), market.currency, i) } : {}),
      context: { campaignId: 'bench-personal', messageId: `personal-${prefix}-${i}` },
    };
    return renderRequestSchema.parse(request);
  });
}

function orderOf(random: Random, products: Product[], currency: string, i: number) {
  const lines = products.map((p) => {
    const quantity = 1 + random(2);
    return { sku: p.sku, title: p.title, size: p.sizes.find((s) => s.stock > 0)!.size, quantity, unitPrice: p.prices?.[currency] ?? p.price };
  });
  return { number: `IC-BENCH${String(i).padStart(6, '0')}`, currency, total: Math.round(lines.reduce((s, l) => s + l.unitPrice * l.quantity, 0) * 100) / 100, lines };
}
