import { z } from 'zod';

const httpUrl = z.string().max(2048);

/** A product as the catalog knows it. Prices are in minor-unit-free decimals of `currency`. */
export const productSchema = z.object({
  sku: z.string().min(1).max(64),
  title: z.string().min(1).max(2000),
  description: z.string().max(5000).optional(),
  category: z.string().max(64).optional(),
  price: z.number().min(0),
  compareAtPrice: z.number().min(0).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/),
  /**
   * Market prices in other currencies ({ TRY: 1899, SEK: 549 }). Retailers set these per
   * market rather than converting at a daily rate, so a Turkish customer sees (and pays) the
   * lira price the shop sets.
   */
  prices: z.record(z.string().regex(/^[A-Z]{3}$/), z.number().min(0)).optional(),
  image: httpUrl.optional(),
  url: httpUrl,
  sizes: z
    .array(z.object({ size: z.string().min(1).max(32), stock: z.number().int().min(0) }))
    .max(50)
    .default([]),
  tags: z.array(z.string().max(64)).max(50).default([]),
  newArrival: z.boolean().default(false),
});

export type Product = z.infer<typeof productSchema>;

/**
 * Recommendations from the campaign system: product picks (full products or SKUs that the
 * catalog resolves) and an optional offer.
 */
export const recommendationsSchema = z.object({
  items: z
    .array(
      z.union([
        productSchema,
        z.object({ sku: z.string().min(1).max(64), reason: z.string().max(200).optional() }),
      ]),
    )
    .max(20)
    .default([]),
  offer: z
    .object({
      code: z.string().regex(/^[A-Z0-9_-]{3,32}$/, 'offer code: 3–32 of A–Z, 0–9, _ and -').optional(),
      percentOff: z.number().min(1).max(90).optional(),
      expiresAt: z.iso.datetime({ offset: true }).optional(),
    })
    .optional(),
});

export type Recommendations = z.infer<typeof recommendationsSchema>;
export type RecommendationsInput = z.input<typeof recommendationsSchema>;
