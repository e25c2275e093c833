import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { fractionDigits, minorDigits, toMinor } from './money.ts';
import { marketPricesMinor, referencePriceAt, type KnownReferencePrice, type PricePoint } from './reference-price.ts';
import type { Product } from './product-schema.ts';

/**
 * The sample catalog's price history (fixtures/price-history.json): the prices the sample
 * products had before catalog.json's, so the demo, the preview and the tests show a price
 * drop the way a shop's real history would (a reduction announced against the lowest price of
 * the 30 days before it). Per sku, per market currency, the points in ascending `validFrom`
 * order, each `{ price, validFrom }` in the API's decimal amounts (as `changes` in
 * `GET /v1/catalog/products/:sku`); each market's last point is its price in catalog.json.
 */

const pointSchema = z.object({ price: z.number().finite().gt(0), validFrom: z.iso.datetime({ offset: true }) }).strict();
const fileSchema = z.record(z.string().min(1), z.record(z.string().regex(/^[A-Z]{3}$/), z.array(pointSchema).min(1)));

/** Per sku, per market currency: points in minor units, ascending `validFrom` (ISO-8601 UTC). */
export type SampleHistory = Map<string, Map<string, PricePoint[]>>;

export const PRICE_HISTORY_FILE = 'price-history.json';

/**
 * Reads and checks `<fixturesDir>/price-history.json` against the sample catalog; an empty
 * history when the file is absent. Throws with the file, sku and market of the first problem.
 */
export function readSampleHistory(fixturesDir: string, catalog: readonly Pick<Product, 'sku' | 'price' | 'currency' | 'prices'>[]): SampleHistory {
  const file = join(fixturesDir, PRICE_HISTORY_FILE);
  const history: SampleHistory = new Map();
  if (!existsSync(file)) return history;
  const parsed = fileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const bySku = new Map(catalog.map((p) => [p.sku, p]));
  for (const [sku, markets] of Object.entries(parsed.data)) {
    const product = bySku.get(sku);
    if (!product) throw new Error(`${file}: ${sku} is not in catalog.json`);
    const current = marketPricesMinor(product);
    const points = new Map<string, PricePoint[]>();
    for (const [currency, given] of Object.entries(markets)) {
      const where = `${file}: ${sku} ${currency}`;
      if (current[currency] === undefined) throw new Error(`${where}: catalog.json has no ${currency} price for it`);
      const converted = given.map((p, i) => {
        if (fractionDigits(p.price) > minorDigits(currency)) throw new Error(`${where}.${i}: ${currency} allows at most ${minorDigits(currency)} decimal places`);
        return { priceMinor: toMinor(p.price, currency), validFrom: new Date(p.validFrom).toISOString() };
      });
      converted.forEach((p, i) => {
        if (i > 0 && p.validFrom <= converted[i - 1]!.validFrom) throw new Error(`${where}.${i}: points must be in ascending validFrom order`);
      });
      if (converted.at(-1)!.priceMinor !== current[currency]) {
        throw new Error(`${where}: the last point must be catalog.json's price (${current[currency]} minor units), got ${converted.at(-1)!.priceMinor}`);
      }
      points.set(currency, converted);
    }
    // The store records a product with its base price first (a market price needs a product).
    const base = points.get(product.currency)?.[0]?.validFrom;
    const first = [...points.values()].map((p) => p[0]!.validFrom).sort()[0];
    if (base === undefined || base !== first) throw new Error(`${file}: ${sku} must start with its base currency ${product.currency}, no later than its other markets`);
    history.set(sku, points);
  }
  return history;
}

/**
 * The reference prices the store would hold for each sample product at `at`
 * (products-repository.ts `referencePrices`): the markets whose current price has 30 days of
 * history before it took effect.
 */
export function sampleReferencePrices(history: SampleHistory, at: string): Map<string, Record<string, KnownReferencePrice>> {
  const out = new Map<string, Record<string, KnownReferencePrice>>();
  const atIso = new Date(at).toISOString();
  for (const [sku, markets] of history) {
    const references: Record<string, KnownReferencePrice> = {};
    for (const [currency, points] of markets) {
      const reference = referencePriceAt(points, atIso);
      if (reference !== undefined && reference.lowest30dMinor !== null) references[currency] = { ...reference, lowest30dMinor: reference.lowest30dMinor };
    }
    if (Object.keys(references).length) out.set(sku, references);
  }
  return out;
}
