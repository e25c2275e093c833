/**
 * WhatsApp text is plain: no HTML escaping, but data must not smuggle in control characters
 * or bidirectional overrides (U+202E can make "gpj.exe" read as "exe.jpg").
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

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
// eslint-disable-next-line no-control-regex
const NEEDS_CLEANING = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]| {5}/;

/** Meta rejects template variables with newlines, tabs or more than four consecutive spaces. */
export function templateVariable(value: string): string {
  // Most values (names, titles, prices, payload ids) need none of the three passes.
  if (!NEEDS_CLEANING.test(value)) return value.trim();
  return plainText(value).replace(/[\r\n\t]+/g, ' ').replace(/ {5,}/g, '    ').trim();
}
