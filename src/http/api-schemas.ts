import { z } from 'zod';
import { productSchema } from '../commerce/product-schema.ts';
import { SEGMENT_NAMES } from '../personalize/segments.ts';
import type { RenderResult } from '../render/render-message.ts';
import { CHANNELS } from '../templates/template-manifest.ts';
import { orderViewSchema } from '../shop/order-view.ts';
import { SHOP_EVENT_DATA } from '../shop/shop-events.ts';
import { DELIVERY_STATES, WEBHOOK_EVENT_TYPES, type WebhookDelivery } from '../store/webhooks-repository.ts';

/**
 * Schemas of what the API sends back. Requests are validated by the render and store schemas
 * themselves; these exist for the OpenAPI document and for tests that check real responses
 * against it. `.strict()` so a field added to a response without being documented fails them.
 */

export const fieldProblemSchema = z
  .object({
    path: z.string().describe("Dotted path into the body, e.g. 'profile.email'; '(root)' for the body itself."),
    message: z.string(),
  })
  .strict();

const errorDetailSchema = z
  .object({
    code: z.string().describe('Stable machine-readable code: invalid_json, invalid_request, unauthorized, unknown_template, …'),
    message: z.string().describe('What failed and how to fix it.'),
    fields: z.array(fieldProblemSchema).optional(),
  })
  .strict();

export const errorBodySchema = z.object({ error: errorDetailSchema }).strict();

const emailPartsSchema = z
  .object({
    subject: z.string(),
    preheader: z.string(),
    amp: z.string().optional().describe('The AMP4EMAIL document (text/x-amp-html); absent when the template has none.'),
    html: z.string(),
    text: z.string(),
    headers: z
      .object({ 'List-Unsubscribe': z.string(), 'List-Unsubscribe-Post': z.literal('List-Unsubscribe=One-Click') })
      .strict()
      .optional()
      .describe("Marketing email: the recipient's one-click unsubscribe (RFC 8058). Send these headers with the message."),
  })
  .strict();

const emailSuppressedSchema = z
  .object({ suppressed: z.literal(true), reason: z.literal('unsubscribed') })
  .strict()
  .describe('A marketing email to a customer who unsubscribed: nothing to send.');

const whatsAppPreviewSchema = z
  .object({
    type: z.string(),
    body: z.string(),
    title: z.string().optional(),
    subtitle: z.string().optional(),
    media: z.array(z.string()).optional(),
    buttons: z.array(z.object({ id: z.string().optional(), title: z.string(), type: z.string(), url: z.string().optional() }).strict()).optional(),
    list: z
      .object({
        button: z.string(),
        items: z.array(z.object({ id: z.string(), item: z.string(), description: z.string().optional() }).strict()),
      })
      .strict()
      .optional(),
  })
  .strict();

const windowSchema = z.enum(['open', 'closed']).describe("WhatsApp's 24-hour customer-service window at render time.");

const whatsAppRenderSchema = z.discriminatedUnion('suppressed', [
  z
    .object({
      suppressed: z.literal(false),
      window: windowSchema,
      kind: z.enum(['session', 'template']),
      contentKey: z.string().optional(),
      message: z
        .object({
          to: z.string(),
          body: z.string().optional(),
          mediaUrl: z.array(z.string()).optional(),
          contentSid: z.string().optional(),
          contentVariables: z.string().optional(),
        })
        .strict()
        .describe('Parameters for twilio messages.create (from is added by the sender).'),
      preview: whatsAppPreviewSchema,
    })
    .strict(),
  z
    .object({ suppressed: z.literal(true), reason: z.enum(['no_consent', 'opted_out', 'no_phone']), window: windowSchema })
    .strict(),
]);

export const renderResultSchema = z
  .object({
    id: z.string().describe('Message id; also in AMP tokens and WhatsApp payloads.'),
    template: z.string(),
    variant: z.string().optional(),
    locale: z.string(),
    segments: z.array(z.enum(SEGMENT_NAMES)),
    email: z.union([emailPartsSchema, emailSuppressedSchema]).optional(),
    whatsapp: whatsAppRenderSchema.optional(),
    warnings: z.array(z.string()),
  })
  .strict();

// Fails to compile when RenderResult gains a field the schema (and so the document) lacks.
type Conforms<T extends U, U> = T;
export type RenderResultDocumented = Conforms<RenderResult, z.output<typeof renderResultSchema>>;

export const batchLineSchema = z.discriminatedUnion('ok', [
  z.object({ line: z.int().min(1), ok: z.literal(true), result: renderResultSchema }).strict(),
  z.object({ line: z.int().min(1), ok: z.literal(false), error: errorDetailSchema }).strict(),
]);

const variantSummarySchema = z.object({ id: z.string(), weight: z.number() }).strict();

export const templateSummarySchema = z
  .object({
    name: z.string(),
    description: z.string(),
    channels: z.array(z.enum(CHANNELS)),
    variants: z.array(variantSummarySchema),
    category: z.enum(['marketing', 'transactional']),
  })
  .strict();

export const templateListSchema = z.object({ templates: z.array(templateSummarySchema) }).strict();

export const templateDetailSchema = templateSummarySchema
  .extend({
    data: z.record(z.string(), z.unknown()).describe('JSON Schema (2020-12) of a render request for this template.'),
  })
  .strict();

export const upsertResultSchema = z.object({ count: z.int().min(0), skus: z.array(z.string()) }).strict();

const pricePointSchema = z
  .object({
    price: z.number().nullable().describe('The price in the market currency; null: the market was ended (dropped from `prices`).'),
    validFrom: z.iso.datetime().describe('When the catalog update that set it was recorded; it applied until the next change.'),
  })
  .strict();

const marketHistorySchema = z
  .object({
    price: z.number().nullable().describe('The price in effect now; null when the market was ended.'),
    since: z.iso.datetime().describe('When that price took effect.'),
    lowest30d: z
      .number()
      .nullable()
      .describe(
        'The lowest price applied in the 30 days before `since` (Directive 98/6/EC art. 6a): the prior price a reduction to `price` is announced against. Null when the recorded history does not cover all 30 days: no reduction is claimed in that market.',
      ),
    changes: z.array(pricePointSchema).describe('Newest first: the prices in effect at some time in the last 90 days (the one in effect 90 days ago included), at most 100.'),
  })
  .strict();

/** `GET /v1/catalog/products/:sku`: the product and, per market currency, its recorded prices. */
export const productDetailSchema = productSchema
  .extend({ priceHistory: z.record(z.string(), marketHistorySchema).describe('Per market currency (the base `currency` and each `prices` entry ever set).') })
  .strict();

export const healthSchema = z.object({ status: z.literal('ok') }).strict();

export const readinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    reasons: z.array(z.string()).optional().describe('Why the instance should not receive traffic.'),
  })
  .strict();

export const orderListSchema = z
  .object({
    orders: z.array(orderViewSchema),
    nextCursor: z.string().nullable().describe('Pass as `after` for the next page, and keep it for the next poll: an empty page gives back the cursor it was asked with.'),
    hasMore: z.boolean(),
  })
  .strict();

export const webhookDeliverySchema = z
  .object({
    id: z.string(),
    eventId: z.string(),
    eventType: z.enum(WEBHOOK_EVENT_TYPES),
    url: z.string(),
    state: z.enum(DELIVERY_STATES),
    attempts: z.int().min(0).describe('Attempts since it was last queued.'),
    nextAttemptAt: z.string().optional().describe('While pending: not tried before this.'),
    giveUpAt: z.string().describe('While pending: failed if not delivered by then.'),
    lastError: z.string().optional(),
    lastStatus: z.int().optional().describe("The receiver's HTTP status at the last attempt, when it answered."),
    deliveredAt: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .strict();
export type WebhookDeliveryDocumented = Conforms<WebhookDelivery, z.output<typeof webhookDeliverySchema>>;

export const webhookDeliveryListSchema = z
  .object({ deliveries: z.array(webhookDeliverySchema), nextCursor: z.string().nullable().describe('Pass as `after` for the next (older) page; null on the last.') })
  .strict();

/** The body of each webhook event type, as receivers get it. */
export function webhookEventSchema(type: (typeof WEBHOOK_EVENT_TYPES)[number]) {
  return z
    .object({
      id: z.string().describe('evt_…, unique: deliveries of the same event carry the same id, so receivers dedupe on it.'),
      type: z.literal(type),
      createdAt: z.string().describe('When the change committed (ISO 8601 UTC).'),
      data: SHOP_EVENT_DATA[type],
    })
    .strict();
}
