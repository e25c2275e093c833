import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readSampleHistory, sampleReferencePrices } from '../commerce/sample-price-history.ts';
import { profileSchema, type Profile } from '../personalize/profile-schema.ts';
import { productSchema, recommendationsSchema, type Recommendations } from '../personalize/recommendations-schema.ts';
import type { CatalogEntry } from '../render/build-view.ts';
import { cartInputSchema, orderInputSchema, type CartInput, type OrderInput, type RenderRequest } from '../render/render-input.ts';
import type { TemplateManifest } from '../templates/template-manifest.ts';

/**
 * The date the fixtures are written around (Emre subscribed five days before it, Ingrid last
 * ordered 200 days before it, Ayşe's birthday is this month): validate and the preview render
 * at this instant unless told otherwise, so their verdicts do not change with the calendar.
 */
export const FIXTURES_NOW = '2026-11-22T10:00:00Z';

/** The sample data in fixtures/: used by `validate`, the preview, the demo and tests. */
export interface Fixtures {
  /**
   * catalog.json, each product with the reference prices its price history
   * (price-history.json) gives at FIXTURES_NOW, as the store would hold them.
   */
  catalog: Map<string, CatalogEntry>;
  profiles: Map<string, Profile>;
  recommendations: Map<string, Recommendations>;
  carts: Map<string, CartInput>;
  orders: Map<string, OrderInput>;
}

function readDir<T>(dir: string, parse: (value: unknown, file: string) => T): Map<string, T> {
  const out = new Map<string, T>();
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir).sort()) {
    if (!entry.endsWith('.json')) continue;
    const file = join(dir, entry);
    out.set(basename(entry, '.json'), parse(JSON.parse(readFileSync(file, 'utf8')), file));
  }
  return out;
}

function parseWith<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }) {
  return (value: unknown, file: string): T => {
    const r = schema.safeParse(value);
    if (!r.success) throw new Error(`${file} is not valid: ${r.error.message}`);
    return r.data;
  };
}

export function loadFixtures(root: string): Fixtures {
  const catalogList = parseWith(productSchema.array())(JSON.parse(readFileSync(join(root, 'catalog.json'), 'utf8')), join(root, 'catalog.json'));
  const references = sampleReferencePrices(readSampleHistory(root, catalogList), FIXTURES_NOW);
  return {
    catalog: new Map(catalogList.map((p): [string, CatalogEntry] => {
      const referencePrices = references.get(p.sku);
      return [p.sku, referencePrices ? { ...p, referencePrices } : p];
    })),
    profiles: readDir(join(root, 'profiles'), parseWith(profileSchema)),
    recommendations: readDir(join(root, 'recommendations'), parseWith(recommendationsSchema)),
    carts: readDir(join(root, 'carts'), parseWith(cartInputSchema)),
    orders: readDir(join(root, 'orders'), parseWith(orderInputSchema)),
  };
}

/**
 * A render request for a template and a fixture profile, with the sample data the template
 * declares in its `fixtures` field. A profile's own cart wins over the sample cart.
 */
export function sampleRequest(
  manifest: TemplateManifest,
  fixtures: Fixtures,
  profileName: string,
  options: { locale?: string; variant?: string; now?: string } = {},
): RenderRequest {
  const profile = fixtures.profiles.get(profileName);
  if (!profile) throw new Error(`No fixture profile '${profileName}' (have: ${[...fixtures.profiles.keys()].join(', ')}).`);
  const pick = <T>(map: Map<string, T>, name: string | undefined, what: string): T | undefined => {
    if (!name) return undefined;
    const v = map.get(name);
    if (!v) throw new Error(`Template '${manifest.name}' names fixture ${what} '${name}', which does not exist.`);
    return v;
  };
  return {
    template: manifest.name,
    profile,
    recommendations: pick(fixtures.recommendations, manifest.fixtures.recommendations, 'recommendations'),
    cart: profile.cart ? undefined : pick(fixtures.carts, manifest.fixtures.cart, 'cart'),
    order: pick(fixtures.orders, manifest.fixtures.order, 'order'),
    context: { now: options.now, campaignId: 'preview' },
    locale: options.locale,
    variant: options.variant,
  };
}
