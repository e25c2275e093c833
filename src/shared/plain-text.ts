import { BIDI_CONTROLS } from './data-text.ts';

/**
 * WhatsApp text is plain: no HTML escaping, but data must not smuggle in control characters
 * or bidirectional overrides (U+202E can make "gpj.exe" read as "exe.jpg"). The input schemas
 * already strip bidi controls from data for every part (data-text.ts); WhatsApp text also loses
 * the C0 and C1 controls here.
 */
const UNSAFE = new RegExp(`[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F${BIDI_CONTROLS}]`, 'g');

export function plainText(value: string): string {
  return value.replace(UNSAFE, '');
}

/** A deep copy of plain data (zero-party preferences) with every string made plain; other objects are kept. */
export function plainView<T>(value: T): T {
  if (typeof value === 'string') return plainText(value) as T;
  if (Array.isArray(value)) return value.map(plainView) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plainView(v);
    return out as T;
  }
  return value;
}

// Everything the passes below change: UNSAFE, line breaks and tabs, five spaces in a row.
const NEEDS_CLEANING = new RegExp(`[\\u0000-\\u001F\\u007F-\\u009F${BIDI_CONTROLS}]| {5}`);

/** Meta rejects template variables with newlines, tabs or more than four consecutive spaces. */
export function templateVariable(value: string): string {
  // Most values (names, titles, prices, payload ids) need none of the three passes.
  if (!NEEDS_CLEANING.test(value)) return value.trim();
  return plainText(value).replace(/[\r\n\t]+/g, ' ').replace(/ {5,}/g, '    ').trim();
}
