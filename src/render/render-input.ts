import { z } from 'zod';
import { profileSchema } from '../personalize/profile-schema.ts';
import { recommendationsSchema } from '../personalize/recommendations-schema.ts';
import { dataText } from '../shared/data-text.ts';
import { carrierSchema, trackingUrlSchema } from '../commerce/shipment-schema.ts';
import { CHANNELS, type TemplateManifest } from '../templates/template-manifest.ts';

export const cartInputSchema = z.object({
  items: z
    .array(z.object({ sku: dataText().min(1).max(64), size: dataText().max(32).optional(), quantity: z.number().int().min(1).max(99) }))
    .max(50),
  updatedAt: z.iso.datetime({ offset: true }).optional(),
});

export { carrierSchema, trackingUrlSchema };

export const orderInputSchema = z.object({
  number: dataText().min(1).max(64),
  currency: z.string().regex(/^[A-Z]{3}$/),
  total: z.number().min(0),
  channel: z.enum(['email', 'whatsapp', 'api']).optional(),
  status: z.enum(['placed', 'awaiting_payment', 'paid', 'fulfilled', 'cancelled', 'refunded']).default('placed'),
  paymentLink: z.string().max(2048).optional(),
  /** With status `fulfilled`: the shipment. */
  carrier: carrierSchema.optional(),
  trackingUrl: trackingUrlSchema.optional(),
  lines: z
    .array(z.object({ sku: dataText(), title: dataText().max(2000), size: dataText().max(32).optional(), quantity: z.number().int().min(1), unitPrice: z.number().min(0) }))
    .min(1)
    .max(100),
}).superRefine((order, ctx) => {
  if (order.status !== 'fulfilled') return;
  if (order.carrier === undefined) ctx.addIssue({ code: 'custom', path: ['carrier'], message: 'a fulfilled order names its carrier' });
  if (order.trackingUrl === undefined) ctx.addIssue({ code: 'custom', path: ['trackingUrl'], message: 'a fulfilled order has its tracking URL' });
});

/** The render request: the same shape for POST /v1/render, batch lines and the CLI. */
export const renderRequestSchema = z
  .object({
    template: z.string().min(1).max(64),
    profile: profileSchema,
    recommendations: recommendationsSchema.optional(),
    cart: cartInputSchema.optional(),
    order: orderInputSchema.optional(),
    context: z
      .object({
        campaignId: z.string().max(128).regex(/^[\w.:-]+$/, 'campaignId: letters, digits, _ . : -').optional(),
        messageId: z.string().max(128).regex(/^[\w.:-]+$/, 'messageId: letters, digits, _ . : -').optional(),
        /** Overrides the clock (ISO date-time) for reproducible renders and previews. */
        now: z.iso.datetime({ offset: true }).optional(),
      })
      .default({}),
    channels: z.array(z.enum(CHANNELS)).min(1).optional(),
    locale: z.string().min(2).max(35).optional(),
    variant: z.string().max(32).optional(),
  })
  .strict();

export type RenderRequest = z.infer<typeof renderRequestSchema>;
export type RenderRequestInput = z.input<typeof renderRequestSchema>;
export type CartInput = z.infer<typeof cartInputSchema>;
export type OrderInput = z.infer<typeof orderInputSchema>;

/**
 * The render request for one template: `renderRequestSchema` narrowed by what the template's
 * manifest declares (template.json `data`, `channels`, `variants`). It documents the contract
 * per template (GET /v1/templates/:name); the render core enforces the same rules and those a
 * schema cannot see (stock, catalog lookups) with TemplateDataError.
 */
export function templateRequestSchema(manifest: TemplateManifest) {
  const need = manifest.data;
  const minItems = need.recommendations?.minItems ?? 0;
  const maxItems = need.recommendations?.maxItems ?? 8;
  const offer = recommendationsSchema.shape.offer.unwrap();
  const recommendations = recommendationsSchema.extend({
    items: z
      .array(recommendationsSchema.shape.items.unwrap().element)
      .min(minItems)
      .max(20)
      .describe(`The first ${maxItems} products in stock are shown; at least ${minItems} must be in stock.`),
    offer: need.offer === 'required' ? offer : offer.optional(),
  });
  const variantIds = manifest.variants.map((v) => v.id);
  const base = renderRequestSchema.extend({
    template: z.literal(manifest.name),
    recommendations: minItems > 0 || need.offer === 'required' ? recommendations : recommendations.optional(),
    order: need.order === 'required' ? orderInputSchema : orderInputSchema.optional(),
    channels: z.array(z.enum(manifest.channels)).min(1).optional(),
    variant: variantIds.length
      ? z.enum(variantIds as [string, ...string[]]).optional().describe('A/B variant; when omitted, assigned by a stable hash of profile.id.')
      : z.never().optional().describe('This template has no variants; omit it.'),
  });
  if (need.cart !== 'required') return base;
  // A cart may come in the request or with the profile; either satisfies the template.
  const cart = cartInputSchema.extend({ items: cartInputSchema.shape.items.min(1) });
  return z.union([base.extend({ cart }), base.extend({ profile: profileSchema.extend({ cart }) })]);
}
