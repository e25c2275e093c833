import { z } from 'zod';

/**
 * The Unicode bidi embedding, override and isolate controls (UAX #9 §2: LRE, RLE, PDF, LRO,
 * RLO, LRI, RLI, FSI, PDI). From data they take over the direction of the text after them:
 * a first name with U+202E (RLO) reverses the rest of the subject line in an inbox, and
 * "gpj.exe" reads as "exe.jpg". A regex character class body, shared with plain-text.ts.
 *
 * The marks U+200E (LRM), U+200F (RLM) and U+061C (ALM) are kept: each is one invisible strong
 * character (UAX #9 classes L, R, AL), so it can do no more than a Latin, Hebrew or Arabic
 * letter the same data may carry, it opens no run that outlasts the value, and right-to-left
 * text uses them legitimately to place punctuation and digits.
 */
export const BIDI_CONTROLS = '\\u202A-\\u202E\\u2066-\\u2069';

const HAS_BIDI_CONTROL = new RegExp(`[${BIDI_CONTROLS}]`);
const BIDI_CONTROL = new RegExp(`[${BIDI_CONTROLS}]`, 'g');

/**
 * `value` without bidi controls. Almost no data has one, so a single test decides and the
 * value is returned as is.
 *
 * @example
 * withoutBidiControls('Sam\u202Eevil') // 'Samevil'
 */
export function withoutBidiControls(value: string): string {
  return HAS_BIDI_CONTROL.test(value) ? value.replace(BIDI_CONTROL, '') : value;
}

/**
 * A string of data that messages may show (names, titles, reasons, sizes, order lines…): the
 * input schemas use it for every such field, so no part of any message (subject, preheader,
 * AMP, HTML, text, WhatsApp) can receive a bidi control from data, and what the store keeps
 * (catalog, customers' profiles) is already clean. `overwrite` keeps it a plain string schema:
 * checks chained after it (`max`, `min`) see the cleaned value, and the JSON Schema is unchanged.
 * Identifiers that are never shown (profile and message ids) and values a pattern restricts
 * (e-mail, phone, codes) stay plain `z.string()`.
 *
 * @example
 * profileSchema.shape.firstName // dataText().max(2000).optional()
 */
export function dataText() {
  return z.string().overwrite(withoutBidiControls);
}
