import { z } from 'zod';
import { productShape } from '../commerce/product-schema.ts';
import { dataText } from '../render/data-text.ts';

/** Products inlined by campaign systems: the lenient level of the one product contract. */
export const productSchema = productShape;

export type Product = z.infer<typeof productSchema>;

/**
 * Recommendations from the campaign system: product picks (full products or SKUs that the
 * catalog resolves) and an optional offer.
 */
const productReference = z.object({ sku: dataText().min(1).max(64), reason: dataText().max(200).optional() });

export const recommendationsSchema = z.object({
  items: z
    .array(
      // Most requests name catalog products by SKU. The strict reference is tried first: a
      // failed branch costs zod its issue objects, and trying the full product shape first
      // failed eight times per typical request. The lenient reference comes last, so the
      // accepted inputs and their parsed values are as before.
      z.union([productReference.strict(), productSchema, productReference]),
    )
    .max(20)
    .default([]),
  offer: z
    .object({
      code: z.string().regex(/^[A-Z0-9_-]{3,32}$/, 'offer code: 3–32 of A–Z, 0–9, _ and -').optional(),
      percentOff: z.number().int('percentOff is a whole number of percent').min(1).max(90).optional(),
      expiresAt: z.iso.datetime({ offset: true }).optional(),
    })
    .optional(),
});

export type Recommendations = z.infer<typeof recommendationsSchema>;
export type RecommendationsInput = z.input<typeof recommendationsSchema>;
