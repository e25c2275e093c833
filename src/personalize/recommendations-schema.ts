import { z } from 'zod';
import { productShape } from './product-shape.ts';
import { dataText } from '../shared/data-text.ts';

/** Products inlined by campaign systems: the lenient level of the one product contract. */
export const productSchema = productShape;

export type Product = z.infer<typeof productSchema>;

/**
 * Recommendations from the campaign system: product picks (full products or SKUs that the
 * catalog resolves) and an optional offer.
 */
/**
 * Why a product is recommended, shown under it. Reasons come from a campaign system that may
 * serve every market, so each says which language it is in, and a message shows only a
 * reason in its own language (an English line in a Swedish email reads as a mistake):
 * - `{ "key": "reason.justIn" }`: a string of templates/locales/<locale>.json;
 * - `{ "en": "Just in", "sv": "Nyinkommet" }`: the text per language;
 * - `"Just in"`: text in `reasonLocale` (English unless the recommendations say otherwise).
 */
const reasonSchema = z
  .union([
    z.object({ key: z.string().regex(/^reason\.[A-Za-z0-9_-]+$/, 'a reason key names a string under "reason" in the locale files, e.g. reason.justIn') }).strict(),
    z.record(z.string().regex(/^(?!key$)[a-z]{2,3}$/, 'reason languages are ISO 639 codes such as en, tr, sv'), dataText().min(1).max(200)),
    dataText().max(200),
  ])
  .describe('A locale key ({ key: "reason.justIn" }), text per language ({ en, tr, sv }), or text in reasonLocale. A message shows only a reason in its own language.');

export type Reason = z.infer<typeof reasonSchema>;

const productReference = z.object({ sku: dataText().min(1).max(64), reason: reasonSchema.optional() });

export const recommendationsSchema = z.object({
  items: z
    .array(
      // Most requests name catalog products by SKU. The strict reference is tried first: a
      // failed branch costs zod its issue objects, and trying the full product shape first
      // failed eight times per typical request. The lenient reference comes last, so the
      // accepted inputs and their parsed values are as before.
      // A pick with a url is an inline product (build-view reads it as one): one the product
      // shape refuses (a price of 0) must not pass as a bare reference with its fields dropped.
      z.union([productReference.strict(), productSchema, productReference.extend({ url: z.never().optional() })]),
    )
    .max(20)
    .default([]),
  reasonLocale: z
    .string()
    .regex(/^[a-z]{2,3}$/, 'reasonLocale is an ISO 639 language code such as en')
    .optional()
    .describe('The language of reasons given as plain text; en when absent.'),
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
