import { Memo } from '../shared/memo.ts';
import { SUPPORTED_LOCALES } from '../personalize/profile-schema.ts';

export type LocaleTable = ReadonlyMap<string, string>;
export type LocaleTables = ReadonlyMap<string, LocaleTable>;

export const FALLBACK_LOCALE = 'en';

/** Flattens `{ cart: { title: "…" } }` to `cart.title`. */
export function flattenStrings(tree: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (typeof tree === 'string') {
    out.set(prefix, tree);
  } else if (tree && typeof tree === 'object') {
    for (const [k, v] of Object.entries(tree)) flattenStrings(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

/**
 * The locale whose strings a profile reads: `sv-SE` → `sv`; anything without strings falls
 * back to English, and the caller records a warning.
 */
export function resolveLocale(requested: string, tables: LocaleTables): { locale: string; fellBack: boolean } {
  const lower = requested.toLowerCase();
  if (tables.has(lower)) return { locale: lower, fellBack: false };
  const lang = lower.split(/[-_]/)[0] ?? '';
  if (tables.has(lang)) return { locale: lang, fellBack: false };
  return { locale: FALLBACK_LOCALE, fellBack: true };
}

/** Replaces `{name}` placeholders with values; unknown names are left visible so a designer spots them. */
export function interpolate(text: string, values: Record<string, unknown>): string {
  if (!text.includes('{')) return text;
  // Locale strings are few and interpolated per recipient (a list message, per row): each is
  // cut at its placeholders once. Odd indexes hold the names.
  const parts = placeholderSplits.get(text, () => text.split(PLACEHOLDER));
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const v = values[parts[i]!];
    out += (v === undefined || v === null ? `{${parts[i]}}` : String(v)) + parts[i + 1]!;
  }
  return out;
}

/**
 * Strings of one locale for code outside templates (pages, server messages): English where the
 * locale lacks a string, the key itself where English does too, so a page never breaks.
 */
export function stringsIn(tables: LocaleTables, locale: string): (key: string, values?: Record<string, unknown>) => string {
  const own = tables.get(locale);
  const english = tables.get(FALLBACK_LOCALE);
  return (key, values = {}) => interpolate(own?.get(key) ?? english?.get(key) ?? key, values);
}

const PLACEHOLDER = /\{(\w+)\}/;
const placeholderSplits = new Memo<string[]>(5_000);

export const RTL_LANGUAGES = new Set(['ar', 'he', 'fa', 'ur']);

export function textDirection(locale: string): 'ltr' | 'rtl' {
  return RTL_LANGUAGES.has(locale.split(/[-_]/)[0]!.toLowerCase()) ? 'rtl' : 'ltr';
}

export { SUPPORTED_LOCALES };

const canonical = new Map<string, string | null>();

/**
 * The canonical BCP 47 form of a tag Intl accepts (`sv-se` → `sv-SE`), or undefined for one it
 * refuses. Memoised: profiles carry a handful of distinct tags, and renders ask per recipient.
 */
export function canonicalLocale(tag: string): string | undefined {
  let c = canonical.get(tag);
  if (c === undefined) {
    try {
      c = Intl.getCanonicalLocales(tag)[0] ?? null;
    } catch {
      c = null;
    }
    if (canonical.size < 1_000) canonical.set(tag, c);
  }
  return c ?? undefined;
}
