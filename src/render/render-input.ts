import { z } from 'zod';
import { profileSchema } from '../personalize/profile-schema.ts';
import { recommendationsSchema } from '../personalize/recommendations-schema.ts';
import { CHANNELS } from '../templates/template-manifest.ts';

export const cartInputSchema = z.object({
  items: z
    .array(z.object({ sku: z.string().min(1).max(64), size: z.string().max(32).optional(), quantity: z.number().int().min(1).max(99) }))
    .max(50),
  updatedAt: z.iso.datetime({ offset: true }).optional(),
});

export const orderInputSchema = z.object({
  number: z.string().min(1).max(64),
  currency: z.string().regex(/^[A-Z]{3}$/),
  total: z.number().min(0),
  channel: z.enum(['email', 'whatsapp', 'api']).optional(),
  status: z.enum(['placed', 'awaiting_payment', 'cancelled']).default('placed'),
  paymentLink: z.string().max(2048).optional(),
  lines: z
    .array(z.object({ sku: z.string(), title: z.string().max(2000), size: z.string().max(32).optional(), quantity: z.number().int().min(1), unitPrice: z.number().min(0) }))
    .min(1)
    .max(100),
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
