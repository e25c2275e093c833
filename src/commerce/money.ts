import { LRUCache } from 'lru-cache';

/**
 * Money, once for every part of inboxcart: amounts are integer minor units (cents, öre, kuruş;
 * yen have none, dinars three) from the moment they enter until they are printed, so sums,
 * discounts and comparisons are exact, and an email, an AMP answer, a chat line and the order
 * agree to the minor unit. A decimal amount exists only at the edges: parsing the catalog's
 * and the API's decimal fields (`toMinor`), and the JSON `price`/`total` fields the API
 * contract defines as decimals (`fromMinor`). The number of minor digits comes from ICU, the
 * same source `Intl.NumberFormat` uses when the amount is printed.
 */

const digitsCache = new Map<string, number>();

const CURRENCY_CODE = /^[A-Z]{3}$/;

/** Minor digits of an ISO 4217 currency: 2 for EUR, 0 for JPY, 3 for KWD. */
export function minorDigits(currency: string): number {
  const cached = digitsCache.get(currency);
  if (cached !== undefined) return cached;
  if (!CURRENCY_CODE.test(currency)) {
    throw new RangeError(`currency must be an ISO 4217 code such as EUR, got ${JSON.stringify(currency)}`);
  }
  const digits = moneyFormat('en', currency).resolvedOptions().maximumFractionDigits;
  if (digits === undefined) throw new RangeError(`no minor unit known for ${currency}`);
  digitsCache.set(currency, digits);
  return digits;
}

/** Number of digits after the decimal point in the shortest decimal form of `amount`. */
export function fractionDigits(amount: number): number {
  if (!Number.isFinite(amount)) return Number.POSITIVE_INFINITY;
  const text = String(Math.abs(amount));
  const exp = /e([+-]\d+)$/.exec(text);
  const mantissa = exp ? text.slice(0, exp.index) : text;
  const dot = mantissa.indexOf('.');
  const mantissaDigits = dot < 0 ? 0 : mantissa.length - dot - 1;
  return Math.max(0, mantissaDigits - (exp ? Number(exp[1]) : 0));
}

/**
 * 49.95 EUR → 4995. Works on the shortest decimal text of the number (what the sender wrote)
 * rather than multiplying, because 1.005 * 100 is 100.49999999999999 in binary floating point
 * and would round the wrong way. Amounts finer than the currency allows round half away from
 * zero; use `fractionDigits` first where excess precision should be rejected instead.
 */
export function toMinor(amount: number, currency: string): number {
  const digits = minorDigits(currency);
  if (!Number.isFinite(amount)) throw new RangeError(`amount must be a finite number, got ${amount}`);
  const text = String(Math.abs(amount));
  let minor: number;
  if (text.includes('e')) {
    // Exponent form means >= 1e21 (beyond any safe integer) or < 1e-6 (below every minor unit).
    if (Math.abs(amount) >= 1) throw new RangeError(`amount ${amount} ${currency} is too large`);
    minor = 0;
  } else {
    const [whole = '0', frac = ''] = text.split('.');
    minor = Number(whole + frac.slice(0, digits).padEnd(digits, '0'));
    if (frac.length > digits && Number(frac.charAt(digits)) >= 5) minor += 1;
  }
  if (!Number.isSafeInteger(minor)) throw new RangeError(`amount ${amount} ${currency} is too large`);
  return amount < 0 && minor !== 0 ? -minor : minor;
}

/** 4995 EUR → 49.95. Integer division by a power of ten is correctly rounded, so this is exact. */
export function fromMinor(minor: number, currency: string): number {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`minor units must be a safe integer, got ${minor}`);
  const digits = minorDigits(currency);
  return digits === 0 ? minor : minor / 10 ** digits;
}

/**
 * A percentage off a price in minor units, rounded half up to the minor unit, in integer
 * arithmetic. The email shows, the AMP checkout charges and the WhatsApp chat charges this one
 * figure, so what a customer is shown is, to the cent, what they pay.
 *
 * @example
 * percentOffMinor(4995, 15) // 4246: €49.95 less 15 % is €42.4575
 */
export function percentOffMinor(listMinor: number, percentOff: number): number {
  if (!Number.isSafeInteger(listMinor) || listMinor < 0) throw new RangeError(`a price in minor units must be a safe non-negative integer, got ${listMinor}`);
  if (!Number.isInteger(percentOff) || percentOff < 0 || percentOff > 100) throw new RangeError(`percentOff must be a whole number from 0 to 100, got ${percentOff}`);
  const scaled = listMinor * (100 - percentOff);
  const rest = scaled % 100;
  return (scaled - rest) / 100 + (rest >= 50 ? 1 : 0);
}

/**
 * Formatter instances are cached: constructing an Intl.NumberFormat costs ~20 µs, formatting
 * with one ~1 µs, and every recipient formats several prices. Prices repeat across a
 * campaign's recipients, so the strings are kept too, by amount in minor units (a number key:
 * no string to build and hash per call). Bounded: locales come from profiles.
 */
interface MoneyFormat {
  format: Intl.NumberFormat;
  texts: LRUCache<number, string>;
}
const moneyFormats = new LRUCache<string, MoneyFormat>({ max: 200 });

function moneyFormatFor(locale: string, currency: string): MoneyFormat {
  const key = `${locale}|${currency}`;
  let f = moneyFormats.get(key);
  if (!f) {
    f = { format: new Intl.NumberFormat(locale, { style: 'currency', currency }), texts: new LRUCache<number, string>({ max: 2_000 }) };
    moneyFormats.set(key, f);
  }
  return f;
}

export function moneyFormat(locale: string, currency: string): Intl.NumberFormat {
  return moneyFormatFor(locale, currency).format;
}

/**
 * An amount in minor units as the customer reads it in their locale: 5946 EUR in en → "€59.46",
 * 76900 SEK in sv → "769,00 kr".
 */
export function formatMinor(minor: number, currency: string, locale: string): string {
  const f = moneyFormatFor(locale, currency);
  let text = f.texts.get(minor);
  if (text === undefined) {
    text = f.format.format(fromMinor(minor, currency));
    f.texts.set(minor, text);
  }
  return text;
}
