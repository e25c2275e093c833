import { z } from 'zod';
import { profileSchema } from '../personalize/profile-schema.ts';
import { recommendationsSchema } from '../personalize/recommendations-schema.ts';
import { SEGMENT_NAMES } from '../personalize/segments.ts';

/**
 * Campaign ids become BullMQ job ids and message ids (`<campaign>.<seq>`): no `:` (BullMQ
 * reserves it in custom job ids) and nothing a Message-ID header could not carry.
 */
const campaignId = z.string().regex(/^[\w.-]{1,100}$/, 'campaign id: 1–100 of letters, digits, _ . -');

/**
 * Who a campaign goes to: a filter over stored customers by computed segment (the segments the
 * render computes, at the instant the campaign is created), a list of stored customer ids, or
 * full recipient profiles (the NDJSON upload, or inline).
 */
export const audienceSchema = z.union([
  z
    .object({
      segments: z.array(z.string().min(1)).min(1).max(SEGMENT_NAMES.length).describe(`Customers in every one of these segments (${SEGMENT_NAMES.join(', ')}).`),
      locales: z.array(z.string().min(2).max(35)).min(1).optional(),
      consent: z.enum(['email', 'whatsapp']).optional().describe('Only customers whose profile grants this channel.'),
    })
    .strict(),
  z.object({ customerIds: z.array(z.string().min(1).max(128)).min(1).max(100_000) }).strict(),
  z.object({ recipients: z.array(profileSchema).min(1).max(100_000) }).strict(),
]);

export const campaignSchema = z
  .object({
    id: campaignId,
    template: z.string().min(1).max(64),
    /** A/B variants to split the audience over; the template's own weights when absent. */
    variants: z.array(z.string().min(1).max(32)).min(1).optional(),
    audience: audienceSchema,
    channels: z.array(z.enum(['email', 'whatsapp'])).min(1),
    recommendations: recommendationsSchema.optional(),
    /** Per segment, the first of the recipient's segments listed here wins; `default` otherwise. */
    recommendationsBySegment: z.record(z.string(), recommendationsSchema).optional(),
    offer: recommendationsSchema.shape.offer,
    /** Not sent before this instant. */
    schedule: z.object({ at: z.iso.datetime({ offset: true }) }).strict().optional(),
  })
  .strict();

export type CampaignSpec = z.infer<typeof campaignSchema>;
export type Audience = z.infer<typeof audienceSchema>;
export type CampaignChannel = CampaignSpec['channels'][number];
export type CampaignStatus = 'running' | 'paused' | 'cancelled' | 'completed';

const outcomeCounts = z.object({ total: z.number().int(), reasons: z.record(z.string(), z.number().int()) });

/** GET /v1/campaigns/:id: progress in recipient × channel messages. */
export const campaignProgressSchema = z.object({
  id: z.string(),
  status: z.enum(['running', 'paused', 'cancelled', 'completed']),
  template: z.string(),
  channels: z.array(z.enum(['email', 'whatsapp'])),
  recipients: z.number().int(),
  /** Recipient × channel messages in all. */
  total: z.number().int(),
  queued: z.number().int().describe('Not through yet: waiting for a worker or being sent now.'),
  deferred: z.number().int().describe("Waiting to be sent later: the customer's quiet hours, the WhatsApp tier, a retry."),
  deferredReasons: z.record(z.string(), z.number().int()).describe('The deferred by reason: quiet_hours, whatsapp_tier, retry:<reason>.'),
  rendered: z.number().int(),
  delivered: z.number().int(),
  suppressed: outcomeCounts.describe('Not sent, by reason: unsubscribed, opted_out, no_consent, no_phone, no_email, frequency_cap…'),
  failed: outcomeCounts.describe('Refused or not renderable, by reason: smtp_error, render_error, twilio_<code>…'),
});

export type CampaignProgress = z.infer<typeof campaignProgressSchema>;
