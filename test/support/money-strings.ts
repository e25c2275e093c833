/**
 * Money as a customer reads it, found and formatted independently of src/commerce/money.ts:
 * a fresh Intl.NumberFormat per call and a regular expression built from its parts, so a test
 * that compares the strings a message shows with these does not trust the code it checks.
 */

function digitsOf(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** 5946 EUR in en → "€59.46", formatted from the decimal text of the minor units. */
export function moneyText(minor: number | bigint, currency: string, intlLocale: string): string {
  const digits = digitsOf(currency);
  const abs = BigInt(minor) < 0n ? -BigInt(minor) : BigInt(minor);
  const text = abs.toString().padStart(digits + 1, '0');
  const decimal = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  // A decimal string is formatted exactly (Intl.NumberFormat v3), never through a binary float.
  return new Intl.NumberFormat(intlLocale, { style: 'currency', currency }).format((BigInt(minor) < 0n ? `-${decimal}` : decimal) as unknown as number);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every amount in `text` formatted as `intlLocale` formats `currency`, in order of appearance. */
export function amountsIn(text: string, currency: string, intlLocale: string): string[] {
  const parts = new Intl.NumberFormat(intlLocale, { style: 'currency', currency }).formatToParts(1234567.891);
  const group = parts.find((p) => p.type === 'group')?.value;
  const decimal = parts.find((p) => p.type === 'decimal')?.value;
  const digits = digitsOf(currency);
  const whole = group === undefined ? '\\d+' : `(?:\\d{1,3}(?:${escape(group)}\\d{3})+|\\d+)`;
  const number = `${whole}${digits > 0 && decimal !== undefined ? `${escape(decimal)}\\d{${digits}}` : ''}`;
  let pattern = '';
  let numberDone = false;
  for (const p of parts) {
    if (p.type === 'integer' || p.type === 'group' || p.type === 'decimal' || p.type === 'fraction') {
      if (!numberDone) pattern += number;
      numberDone = true;
    } else pattern += escape(p.value);
  }
  // Not inside a longer number: "12,34 kr" must not be read out of "112,34 kr".
  return [...text.matchAll(new RegExp(`(?<![\\d${escape(group ?? '')}${escape(decimal ?? '')}])${pattern}`, 'g'))].map((m) => m[0]);
}
