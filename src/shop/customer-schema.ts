import { z } from 'zod';
import { knownCurrencies } from '../commerce/product-schema.ts';
import { profileSchema } from '../personalize/profile-schema.ts';
import type { Customer } from '../store/customers-repository.ts';


function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function validLocale(tag: string): boolean {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}

export const addressSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    line1: z.string().trim().min(1).max(200),
    line2: z.string().trim().max(200).optional(),
    city: z.string().trim().min(1).max(100),
    postalCode: z.string().trim().min(1).max(20),
    country: z.string().regex(/^[A-Z]{2}$/, 'country is ISO 3166-1 alpha-2 in capitals, e.g. SE'),
  })
  .strict();

export const paymentMethodSchema = z
  .object({
    type: z.string().regex(/^[a-z][a-z0-9_-]{1,31}$/, "type is the payment method's kind in lower case, e.g. card, paypal, klarna"),
    last4: z.string().regex(/^\d{4}$/, 'last4 is the last four digits shown to the customer'),
    // A bare 12–19 digit string is what a card number looks like: card data must never be stored here (PCI DSS).
    token: z
      .string()
      .min(8)
      .max(512)
      .refine((t) => !/^[\d -]{12,23}$/.test(t), "token is the payment provider's token (e.g. pm_…), never a card number"),
  })
  .strict();

/**
 * A customer as campaign systems register it (`PUT /v1/customers`): identity, market,
 * delivery address and a payment provider token, plus the profile the renders use (its
 * sizes bought pre-select sizes in live AMP offers). Locale, currency and timezone default
 * to the profile's.
 */
export const customerInputSchema = z
  .object({
    id: z.string().trim().min(1).max(128),
    email: z.email().max(320).optional(),
    phone: z.string().regex(/^\+[1-9]\d{6,14}$/, 'phone must be E.164, e.g. +46701234567').optional(),
    locale: z.string().min(2).max(35).refine(validLocale, 'locale must be a BCP 47 tag such as sv-SE').optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as EUR')
      .refine((c) => knownCurrencies.has(c), 'unknown ISO 4217 currency')
      .optional(),
    timezone: z.string().min(1).max(64).refine(validTimeZone, 'timezone must be an IANA zone such as Europe/Stockholm').optional(),
    address: addressSchema.optional(),
    paymentMethod: paymentMethodSchema.optional(),
    profile: profileSchema.partial({ id: true }).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.profile?.id !== undefined && c.profile.id !== c.id) {
      ctx.addIssue({ code: 'custom', path: ['profile', 'id'], message: `profile.id must equal id (${c.id}) or be left out` });
    }
  });

export type CustomerInput = z.input<typeof customerInputSchema>;

export const MAX_CUSTOMERS_PER_REQUEST = 1_000;

export const customerBatchSchema = z
  .array(customerInputSchema)
  .min(1, 'send at least one customer')
  .max(MAX_CUSTOMERS_PER_REQUEST, `at most ${MAX_CUSTOMERS_PER_REQUEST} customers per request; split larger lists`)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate id ${c.id}` });
      seen.add(c.id);
    });
  });

/** The stored customer for a validated input: market settings fall back to the profile's, then to en / EUR / UTC. */
export function toCustomer(c: z.output<typeof customerInputSchema>): Customer {
  const profile = c.profile ? { ...c.profile, id: c.id } : { id: c.id };
  return {
    id: c.id,
    ...(c.email ?? c.profile?.email ? { email: c.email ?? c.profile?.email } : {}),
    ...(c.phone ?? c.profile?.phone ? { phone: c.phone ?? c.profile?.phone } : {}),
    locale: c.locale ?? c.profile?.locale ?? 'en',
    currency: c.currency ?? c.profile?.currency ?? 'EUR',
    timezone: c.timezone ?? c.profile?.timezone ?? 'UTC',
    profile,
    ...(c.address ? { address: c.address } : {}),
    ...(c.paymentMethod ? { paymentMethod: c.paymentMethod } : {}),
  };
}

const consentSchema = z.object({
  granted: z.boolean(),
  source: z.string().describe("Where the decision came from: 'email:one-click', 'whatsapp:STOP', 'api:…'"),
  updatedAt: z.string(),
});

/**
 * Consent decisions recorded in inboxcart (unsubscribes, STOP/START, and what a campaign system
 * sets here). They override the profile's `consent`, which may be stale.
 */
export const consentsOutputSchema = z
  .object({ email: consentSchema.optional(), whatsapp: consentSchema.optional() })
  .describe('Consent decisions recorded in inboxcart; a channel without one follows the profile.');

/** `PUT /v1/customers/:id/consents`: a campaign system records a decision it learned elsewhere (a re-subscribe, say). */
export const consentsInputSchema = z
  .object({
    email: z.boolean().optional().describe('false: no marketing email (as after an unsubscribe); true: subscribed again'),
    whatsapp: z.boolean().optional().describe('false: no marketing on WhatsApp (as after STOP); true: opted in again'),
    source: z
      .string()
      .regex(/^[\w.:-]{1,64}$/, 'source is a short label such as crm or preference-center')
      .default('api')
      .describe("Kept with the decision for audits, as 'api:<source>'"),
  })
  .strict()
  .refine((c) => c.email !== undefined || c.whatsapp !== undefined, { message: 'set email, whatsapp or both', path: ['email'] });

/** The shape of `GET /v1/customers/:id` (for the OpenAPI document). */
export const customerOutputSchema = z.object({
  id: z.string(),
  email: z.string().optional(),
  phone: z.string().optional(),
  locale: z.string(),
  currency: z.string(),
  timezone: z.string(),
  profile: z.record(z.string(), z.unknown()),
  address: addressSchema.optional(),
  paymentMethod: z.object({ type: z.string(), last4: z.string() }).optional(),
  lastInboundAt: z.string().optional(),
  preferences: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  consents: consentsOutputSchema,
});

export const consentsResultSchema = z.object({ id: z.string(), consents: consentsOutputSchema });

export const customerUpsertResultSchema = z.object({ count: z.number().int(), ids: z.array(z.string()) });

/** What `GET /v1/customers/:id` shows: the payment token is write-only. */
export function customerOutput(c: Customer, preferences: Record<string, string | string[]>, consents: z.infer<typeof consentsOutputSchema>) {
  const { paymentMethod, ...rest } = c;
  return { ...rest, ...(paymentMethod ? { paymentMethod: { type: paymentMethod.type, last4: paymentMethod.last4 } } : {}), preferences, consents };
}
