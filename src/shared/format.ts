/**
 * Date and plural formatting through Intl, with formatter instances cached: constructing one
 * costs ~20 µs, using one ~1 µs, and every recipient formats dates and counts. Money is
 * formatted by commerce/money.ts.
 */
const dateFormats = new Map<string, Intl.DateTimeFormat>();

export type DateStyle = 'short' | 'medium' | 'long' | 'full' | 'datetime';

export function formatDate(iso: string | Date, locale: string, timeZone: string, style: DateStyle = 'long'): string {
  const key = `${locale}|${timeZone}|${style}`;
  let f = dateFormats.get(key);
  if (!f) {
    const opts: Intl.DateTimeFormatOptions =
      style === 'datetime' ? { dateStyle: 'long', timeStyle: 'short', timeZone } : { dateStyle: style, timeZone };
    try {
      f = new Intl.DateTimeFormat(locale, opts);
    } catch {
      // An unknown IANA zone in the profile must not fail the render; UTC is the honest fallback.
      f = new Intl.DateTimeFormat(locale, { ...opts, timeZone: 'UTC' });
    }
    dateFormats.set(key, f);
  }
  return f.format(typeof iso === 'string' ? new Date(iso) : iso);
}

const pluralRules = new Map<string, Intl.PluralRules>();

export function pluralCategory(locale: string, count: number): Intl.LDMLPluralRule {
  let r = pluralRules.get(locale);
  if (!r) {
    r = new Intl.PluralRules(locale);
    pluralRules.set(locale, r);
  }
  return r.select(count);
}
