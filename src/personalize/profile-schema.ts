import { z } from 'zod';
import { dataText } from '../shared/data-text.ts';

/** Locales that ship strings in templates/locales. Others fall back to `en` with a warning. */
export const SUPPORTED_LOCALES = ['en', 'tr', 'sv'] as const;

const isoDate = z.iso.date();
const isoDateTime = z.iso.datetime({ offset: true });

const consentSchema = z.object({
  email: z.boolean().default(false),
  whatsapp: z.boolean().default(false),
  sms: z.boolean().default(false),
});

export const loyaltyTierSchema = z.enum(['none', 'bronze', 'silver', 'gold', 'platinum']);

/**
 * A customer profile as campaign systems send it. Everything but `id` is optional so that a
 * customer with almost no data still renders; the segment engine treats missing data as
 * "no evidence", never as a segment.
 */
export const profileSchema = z.object({
  id: z.string().min(1).max(128),
  firstName: dataText().max(2000).optional(),
  lastName: dataText().max(2000).optional(),
  email: z.email().optional(),
  phone: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'phone must be E.164, e.g. +46701234567')
    .optional(),
  locale: z.string().min(2).max(35).default('en'),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as EUR')
    .default('EUR'),
  timezone: z.string().min(1).max(64).default('UTC'),
  consent: consentSchema.default({ email: false, whatsapp: false, sms: false }),
  subscribedAt: isoDateTime.optional(),
  loyalty: z
    .object({
      tier: loyaltyTierSchema.default('none'),
      points: z.number().int().min(0).default(0),
    })
    .optional(),
  orders: z
    .object({
      count: z.number().int().min(0).default(0),
      totalSpent: z.number().min(0).default(0),
      lastOrderAt: isoDateTime.optional(),
      /** Sizes bought, per category: { tops: { M: 4, L: 1 } }. */
      sizesBought: z.record(dataText(), z.record(dataText(), z.number().int().min(0))).default({}),
    })
    .optional(),
  affinities: z
    .object({
      categories: z.array(dataText().max(64)).max(50).default([]),
      /** 0 = buys at full price, 1 = only buys on promotion. */
      promoSensitivity: z.number().min(0).max(1).optional(),
      newArrivals: z.boolean().optional(),
    })
    .optional(),
  location: z
    .object({
      city: dataText().max(200).optional(),
      country: z.string().regex(/^[A-Z]{2}$/, 'country must be ISO 3166-1 alpha-2').optional(),
      region: z.enum(['coast', 'mountains', 'city', 'countryside']).optional(),
      nearStore: dataText().max(200).optional(),
    })
    .optional(),
  birthday: isoDate.optional(),
  preferences: z.record(dataText(), z.union([dataText(), z.array(dataText())])).optional(),
  whatsapp: z
    .object({
      lastInboundAt: isoDateTime.optional(),
    })
    .optional(),
  cart: z
    .object({
      items: z
        .array(
          z.object({
            sku: dataText().min(1).max(64),
            size: dataText().max(32).optional(),
            quantity: z.number().int().min(1).max(99),
          }),
        )
        .max(50),
      updatedAt: isoDateTime.optional(),
    })
    .optional(),
});

export type Profile = z.infer<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;
