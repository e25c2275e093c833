import Handlebars from 'handlebars';
import { formatMinor, toMinor } from '../commerce/money.ts';
import { formatDate, pluralCategory, type DateStyle } from '../shared/format.ts';
import { interpolate, type LocaleTable } from './locale-strings.ts';
import { checkUrl, withCampaignParams, type CampaignParams } from '../shared/safe-url.ts';

/**
 * What helpers read from the render's root context. The view model carries these so that a
 * helper never reaches outside the data of the recipient being rendered.
 */
export interface HelperRoot {
  locale: string;
  intlLocale: string;
  currency: string;
  timezone: string;
  brand: { shopUrl: string; placeholderImage: string };
  campaignParams: CampaignParams;
  strings: LocaleTable;
  fallbackStrings: LocaleTable;
  warnings: string[];
}

type HelperOptions = Handlebars.HelperOptions & { data: { root: HelperRoot } };

function rootOf(options: HelperOptions): HelperRoot {
  return options.data.root;
}

function lookupString(root: HelperRoot, key: string): string {
  const own = root.strings.get(key);
  if (own !== undefined) return own;
  const fallback = root.fallbackStrings.get(key);
  if (fallback !== undefined) {
    warnOnce(root, `locale string '${key}' is missing in '${root.locale}'; used English`);
    return fallback;
  }
  warnOnce(root, `locale string '${key}' is missing; add it to templates/locales/en.json`);
  return key;
}

function warnOnce(root: HelperRoot, message: string): void {
  if (!root.warnings.includes(message)) root.warnings.push(message);
}

/**
 * One isolated Handlebars environment with inboxcart's helpers. Templates are compiled into it
 * once; HTML and AMP parts escape every `{{value}}`, text and WhatsApp parts are compiled with
 * `noEscape`; for WhatsApp, buildView makes the data strings plain (see plain-text.ts).
 */
export function createHandlebarsEnv(): typeof Handlebars {
  const hb = Handlebars.create();

  hb.registerHelper('t', function (this: unknown, key: string, options: HelperOptions) {
    return interpolate(lookupString(rootOf(options), key), options.hash ?? {});
  });

  /** {{plural count "cart.items"}} reads cart.items.one / cart.items.other (CLDR categories). */
  hb.registerHelper('plural', function (this: unknown, count: number, key: string, options: HelperOptions) {
    const root = rootOf(options);
    const category = pluralCategory(root.intlLocale, Number(count));
    const specific = `${key}.${category}`;
    const text = root.strings.has(specific) || root.fallbackStrings.has(specific)
      ? lookupString(root, specific)
      : lookupString(root, `${key}.other`);
    return interpolate(text, { count, ...(options.hash ?? {}) });
  });

  hb.registerHelper('money', function (this: unknown, amount: unknown, ...rest: unknown[]) {
    const options = rest.pop() as HelperOptions;
    const root = rootOf(options);
    const currency = typeof rest[0] === 'string' ? rest[0] : root.currency;
    if (typeof amount !== 'number' || !Number.isFinite(amount)) return '';
    // A decimal amount from data (the API's amounts are decimals): to minor units at the edge.
    return formatMinor(toMinor(amount, currency), currency, root.intlLocale);
  });

  hb.registerHelper('date', function (this: unknown, value: unknown, ...rest: unknown[]) {
    const options = rest.pop() as HelperOptions;
    const root = rootOf(options);
    const style = (typeof rest[0] === 'string' ? rest[0] : 'long') as DateStyle;
    if (typeof value !== 'string' && !(value instanceof Date)) return '';
    return formatDate(value, root.intlLocale, root.timezone, style);
  });

  /**
   * {{link value}}: a link from data, checked (http/https only) and tagged with the campaign's
   * utm parameters. A rejected URL becomes the shop's home page and a warning, so one bad
   * product URL never blocks a campaign.
   */
  hb.registerHelper('link', function (this: unknown, value: unknown, options: HelperOptions) {
    const root = rootOf(options);
    const url = checkUrl(value, 'link');
    if (!url) {
      warnOnce(root, `rejected link ${describe(value)}: only http(s) URLs are allowed`);
      return withCampaignParams(new URL(root.brand.shopUrl), root.campaignParams);
    }
    return withCampaignParams(url, root.campaignParams);
  });

  /** {{imageUrl value}}: an image URL from data; https only (AMP rejects anything else), else the brand placeholder. */
  hb.registerHelper('imageUrl', function (this: unknown, value: unknown, options: HelperOptions) {
    const root = rootOf(options);
    const url = checkUrl(value, 'image');
    if (!url) {
      if (value !== undefined) warnOnce(root, `rejected image ${describe(value)}: images must be https`);
      return root.brand.placeholderImage;
    }
    return url.href;
  });

  /** Inline JSON for <script type="application/json"> (amp-state): `<` and line separators escaped. */
  hb.registerHelper('json', function (value: unknown) {
    return new hb.SafeString(safeJson(value));
  });

  hb.registerHelper('raw', function (options: Handlebars.HelperOptions) {
    return options.fn(undefined);
  });

  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
  hb.registerHelper('gt', (a: number, b: number) => a > b);
  hb.registerHelper('lt', (a: number, b: number) => a < b);
  // JavaScript semantics: `or` returns the first truthy value, so (or firstName "") works as a default.
  hb.registerHelper('and', (...args: unknown[]) => {
    const values = args.slice(0, -1);
    // By index: `find` cannot tell a missing value (undefined) from finding none.
    const falsy = values.findIndex((v) => !v);
    return falsy === -1 ? values[values.length - 1] : values[falsy];
  });
  hb.registerHelper('or', (...args: unknown[]) => {
    const values = args.slice(0, -1);
    return values.find(Boolean) ?? values[values.length - 1];
  });
  hb.registerHelper('not', (a: unknown) => !a);
  hb.registerHelper('add', (a: number, b: number) => Number(a) + Number(b));
  /** Builds keys from data: {{t (concat "tiers." loyalty.tier)}}. */
  hb.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).map((a) => String(a ?? '')).join(''));
  hb.registerHelper('truncate', (value: unknown, max: number) => truncate(String(value ?? ''), Number(max)));
  /** Whole-number percentage for progress bars, clamped so bad data cannot break the layout. */
  hb.registerHelper('percent', (value: number, max: number) => {
    const p = max > 0 ? Math.round((Number(value) / Number(max)) * 100) : 0;
    return Math.min(100, Math.max(0, Number.isFinite(p) ? p : 0));
  });

  return hb;
}

/** At most `max` code points: longer text keeps `max - 1` of them and ends with an ellipsis. */
export function truncate(value: string, max: number): string {
  // A code point is one or two UTF-16 units, so text no longer than `max` units fits.
  if (value.length <= max || afterCodePoints(value, max) === value.length) return value;
  return `${value.slice(0, afterCodePoints(value, Math.max(0, max - 1)))}…`;
}

/** The UTF-16 index after the first `n` code points (a lone surrogate counts as one, as in Array.from). */
function afterCodePoints(text: string, n: number): number {
  let i = 0;
  for (let count = 0; count < n && i < text.length; count++) {
    const c = text.charCodeAt(i);
    const d = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    i += c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
  }
  return i;
}

export function safeJson(value: unknown): string {
  return JSON.stringify(value ?? null)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function describe(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return `'${truncate(s ?? String(value), 60)}'`;
}
