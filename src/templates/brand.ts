import { z } from 'zod';

const colour = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'colours are #rrggbb');

/**
 * templates/brand.json: the one file a brand edits to restyle every template. Its values are
 * substituted at compile time as `[[brand.…]]` tokens, because MJML must see literal colours
 * and sizes (a Handlebars token in a colour attribute fails MJML validation).
 */
export const brandSchema = z.object({
  name: z.string().min(1),
  logo: z.url().refine((u) => u.startsWith('https://'), 'logo must be https'),
  logoWidth: z.number().int().min(40).max(300).default(120),
  shopUrl: z.url(),
  preferencesUrl: z.url(),
  unsubscribeUrl: z.url(),
  placeholderImage: z.url().refine((u) => u.startsWith('https://'), 'placeholderImage must be https'),
  address: z.string().min(1),
  /** Points at which each loyalty tier starts, for progress bars ("150 points to Gold"). */
  loyaltyTiers: z.partialRecord(z.enum(['bronze', 'silver', 'gold', 'platinum']), z.number().int().min(0)).default({}),
  /** Extra loyalty points a customer gets in their birthday month. */
  birthdayPoints: z.number().int().min(0).default(200),
  freeShippingThreshold: z.record(z.string().regex(/^[A-Z]{3}$/), z.number().min(0)).default({}),
  colors: z.object({
    primary: colour,
    onPrimary: colour,
    text: colour,
    muted: colour,
    background: colour,
    surface: colour,
    sale: colour,
    border: colour,
  }),
  fonts: z.object({ body: z.string().min(1), heading: z.string().min(1) }),
});

export type Brand = z.infer<typeof brandSchema>;

/** Replaces `[[brand.colors.primary]]`-style tokens; an unknown token is a template error. */
export function substituteBrandTokens(text: string, brand: Brand, onUnknown: (token: string, offset: number) => never): string {
  return text.replace(/\[\[brand\.([a-zA-Z0-9_.]+)\]\]/g, (whole, path: string, offset: number) => {
    let v: unknown = brand;
    for (const key of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    if (typeof v !== 'string' && typeof v !== 'number') onUnknown(whole, offset);
    return String(v);
  });
}
