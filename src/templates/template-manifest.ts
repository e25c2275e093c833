import { z } from 'zod';
import { SEGMENT_NAMES } from '../personalize/segments.ts';

export const CHANNELS = ['email', 'whatsapp'] as const;
export type Channel = (typeof CHANNELS)[number];

/** template.json: what a designer declares about a template. */
export const templateManifestSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{1,63}$/, 'name: lowercase letters, digits and dashes'),
    description: z.string().min(1),
    channels: z.array(z.enum(CHANNELS)).min(1),
    /** Layout in templates/layouts/<layout>.mjml that wraps email.mjml. */
    layout: z.string().default('email'),
    subject: z.string().min(1),
    preheader: z.string().default(''),
    /** The data the template needs beyond the profile; validated before rendering. */
    data: z
      .object({
        recommendations: z
          .object({ minItems: z.number().int().min(0).default(1), maxItems: z.number().int().min(1).max(20).default(8) })
          .optional(),
        offer: z.enum(['required', 'optional']).optional(),
        /** Segments the offer is meant for; other customers see the template without it. */
        offerFor: z.array(z.enum(SEGMENT_NAMES)).min(1).optional(),
        cart: z.enum(['required', 'optional']).optional(),
        order: z.enum(['required', 'optional']).optional(),
      })
      .default({}),
    variants: z
      .array(
        z.object({
          id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
          weight: z.number().positive().default(1),
          subject: z.string().optional(),
          preheader: z.string().optional(),
        }),
      )
      .default([]),
    /** Sample data for validate, the preview and tests: file names under fixtures/. */
    fixtures: z
      .object({ recommendations: z.string().optional(), cart: z.string().optional(), order: z.string().optional() })
      .default({}),
    /** Marketing messages honour opt-outs and the VIP/discount rules; transactional ones (order confirmation) do not advertise. */
    category: z.enum(['marketing', 'transactional']).default('marketing'),
  })
  .strict();

export type TemplateManifest = z.infer<typeof templateManifestSchema>;

export const WHATSAPP_CONTENT_TYPES = [
  'twilio/text',
  'twilio/media',
  'twilio/quick-reply',
  'twilio/list-picker',
  'twilio/card',
  'twilio/catalog',
] as const;
export type WhatsAppContentType = (typeof WHATSAPP_CONTENT_TYPES)[number];

const actionSchema = z.object({
  type: z.enum(['QUICK_REPLY', 'URL', 'PHONE_NUMBER']).default('QUICK_REPLY'),
  id: z.string().optional(),
  title: z.string().min(1),
  url: z.string().optional(),
  phone: z.string().optional(),
});

/**
 * A WhatsApp message in Twilio Content API terms. Strings are Handlebars over the view model;
 * the result is checked against WhatsApp's limits at compile time (static parts) and at
 * render time (rendered lengths).
 */
export const whatsAppMessageSchema = z
  .object({
    type: z.enum(WHATSAPP_CONTENT_TYPES),
    body: z.string().min(1),
    title: z.string().optional(),
    subtitle: z.string().optional(),
    media: z.array(z.string()).max(1).optional(),
    actions: z.array(actionSchema).optional(),
    /** list-picker: the button that opens the list, and the rows (one per item of `itemsFrom`). */
    button: z.string().optional(),
    itemsFrom: z.string().optional(),
    item: z.object({ id: z.string(), item: z.string(), description: z.string().optional() }).optional(),
  })
  .strict();

export type WhatsAppMessageSpec = z.infer<typeof whatsAppMessageSchema>;

/** whatsapp.json */
export const whatsAppManifestSchema = z
  .object({
    /** Sent inside the 24-hour customer-service window. */
    session: whatsAppMessageSchema,
    /**
     * The pre-approved template used outside the window: its content (with Twilio's numbered
     * `{{1}}` variables) and the Handlebars expression that fills each variable.
     */
    approved: z
      .object({
        name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'approved.name: lowercase letters, digits and underscores (WhatsApp template names)'),
        category: z.enum(['MARKETING', 'UTILITY']),
        content: whatsAppMessageSchema,
        variables: z.record(z.string().regex(/^\d+$/), z.string()),
      })
      .strict(),
  })
  .strict();

export type WhatsAppManifest = z.infer<typeof whatsAppManifestSchema>;
