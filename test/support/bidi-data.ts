/**
 * Raw request data laced with every Unicode bidi control (issue 13 item 5: U+202E in
 * hostile.json reversed the rest of the subject line). Tests feed it through the input
 * schemas as the API, the batch threads and the CLI do, and then look for controls in the output.
 */

/** U+202A–U+202E and U+2066–U+2069: embeddings, overrides and isolates. */
export const BIDI_CONTROL_CHARS = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069'];

/** Keys whose values are identifiers, patterns or URLs: schemas refuse or never show them as text. */
const NOT_TEXT = new Set([
  'id', 'email', 'phone', 'locale', 'currency', 'timezone', 'country', 'region', 'url', 'image', 'paymentLink', 'code',
  'status', 'channel', 'subscribedAt', 'lastOrderAt', 'lastInboundAt', 'updatedAt', 'expiresAt', 'birthday', 'now',
  'campaignId', 'messageId', 'template', 'variant', 'key', 'reasonLocale',
]);

/**
 * A deep copy of raw JSON data with bidi controls around every text value, and inside the
 * keys of `sizesBought` and `preferences` (sizes and quiz answers are data too). Each value gets
 * a different pair, so all nine controls occur.
 */
export function laceWithBidi<T>(value: T): T {
  let n = 0;
  const lace = (s: string) => {
    n++;
    return `${BIDI_CONTROL_CHARS[n % 9]}${s}${BIDI_CONTROL_CHARS[(n + 4) % 9]}`;
  };
  const walk = (v: unknown, key: string | undefined, laceKeys: boolean): unknown => {
    if (typeof v === 'string') return key !== undefined && NOT_TEXT.has(key) ? v : lace(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, key, false));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const childKeys = k === 'sizesBought' || k === 'preferences' || (key === 'sizesBought' && laceKeys);
        out[laceKeys ? lace(k) : k] = walk(x, k, childKeys);
      }
      return out;
    }
    return v;
  };
  return walk(value, undefined, false) as T;
}

/** The bidi controls in `text`, each with a little context, for a readable failure. */
export function bidiControlsIn(text: string): string[] {
  const found: string[] = [];
  const re = /[\u202A-\u202E\u2066-\u2069]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const cp = m[0].codePointAt(0)!.toString(16).toUpperCase();
    found.push(`U+${cp} at ${m.index}: …${text.slice(Math.max(0, m.index - 30), m.index + 30)}…`);
  }
  return found;
}
