/**
 * Phone numbers are personal data (GDPR art. 4): logs keep only enough to tell two customers
 * apart when debugging a conversation — the country prefix and the last four digits.
 */

const E164_IN_TEXT = /\+[1-9]\d{6,14}/g;
const KEEP_LAST = 4;

/**
 * Masks one phone number, with or without `+` (Twilio's `WaId` has none).
 *
 * @example
 * maskPhone('+447700900123') // '+44******0123'
 * maskPhone('whatsapp:+46701234567') // 'whatsapp:+46*****4567'
 */
export function maskPhone(value: string): string {
  const prefixEnd = value.search(/\+?\d/);
  if (prefixEnd < 0) return value;
  const prefix = value.slice(0, prefixEnd);
  const plus = value[prefixEnd] === '+' ? '+' : '';
  const digits = value.slice(prefixEnd + plus.length).replace(/\D/g, '');
  if (digits.length <= KEEP_LAST) return `${prefix}${plus}${'*'.repeat(digits.length)}`;
  // Short numbers would be nearly whole with the country prefix kept, so it goes only on long ones.
  const head = digits.length >= 10 ? digits.slice(0, 2) : '';
  const stars = '*'.repeat(digits.length - head.length - KEEP_LAST);
  return `${prefix}${plus}${head}${stars}${digits.slice(-KEEP_LAST)}`;
}

/** Masks every E.164 number (`+` and 7–15 digits) inside a longer text such as a log message. */
export function maskPhones(text: string): string {
  return text.includes('+') ? text.replace(E164_IN_TEXT, maskPhone) : text;
}
