/**
 * Renders shared by a cohort of recipients.
 *
 * A campaign sends the same template to millions of customers, and most of them share
 * everything the email depends on — locale, segments, offer, products, sizes — except a few
 * per-recipient values: first name, ids and the signed AMP and unsubscribe tokens. The email parts are
 * rendered once per cohort with markers in place of those values, split at the markers, and
 * each recipient costs a view, its JSON and a handful of string joins.
 *
 * Correctness rests on the key: it is the JSON of the whole view with the per-recipient
 * values replaced by markers, so any difference a template could see — including whether a
 * first name is present — makes a different cohort. Shared, immutable parts stand in by
 * identity (the product list) or are fixed by the template hash and locale (brand, strings). Templates can print recipient values but
 * cannot branch on them (they only see the markers); that is why only values that templates
 * print (name, ids, tokens) are markers. A view whose data already contains the marker
 * character is rendered without the cache.
 */

import type { RenderView } from './build-view.ts';
import type { EmailParts } from './render-message.ts';
import { keyValue } from './interned.ts';
import { serialOf } from './object-serial.ts';
import { HitRateGate } from './hit-rate-gate.ts';

/** U+E000 is private-use: never produced by our templates, and checked for in data. */
export const MARK = '\uE000';

export const MARKERS = {
  firstName: `${MARK}n`,
  profileId: `${MARK}p`,
  messageId: `${MARK}m`,
  token: `${MARK}t`,
  unsubscribe: `${MARK}u`,
} as const;

export type MarkerValues = Record<'n' | 'p' | 'm' | 't' | 'u', string>;

/** A rendered part cut at its markers: segments[0] slot[0] segments[1] … */
export interface SplitPart {
  segments: string[];
  slots: (keyof MarkerValues)[];
}

export function splitAtMarkers(text: string): SplitPart {
  const segments: string[] = [];
  const slots: (keyof MarkerValues)[] = [];
  let from = 0;
  for (let at = text.indexOf(MARK); at !== -1; at = text.indexOf(MARK, from)) {
    segments.push(text.slice(from, at));
    slots.push(text[at + 1] as keyof MarkerValues);
    from = at + 2;
  }
  segments.push(text.slice(from));
  return { segments, slots };
}

export function fillMarkers(part: SplitPart, values: MarkerValues): string {
  let out = part.segments[0]!;
  for (let i = 0; i < part.slots.length; i++) out += values[part.slots[i]!] + part.segments[i + 1]!;
  return out;
}

/**
 * A value that filling in cannot make tidying or one-lining act differently: not empty, no
 * line break or tab, no run of blanks, no white space at either end. Then `tidy(fill(part)) === fill(tidy(part))`:
 * the value neither joins nor splits a run of blanks or newlines, and trimming stops at the
 * same characters.
 */
export function inertValue(value: string): boolean {
  return value !== '' && !/^\s|\s$|[\r\n\t]|\s\s/.test(value);
}

export function countMarks(text: string): number {
  let n = 0;
  for (let at = text.indexOf(MARK); at !== -1; at = text.indexOf(MARK, at + 1)) n++;
  return n;
}

export interface CohortEntry {
  subject: SplitPart;
  preheader: SplitPart;
  html: SplitPart;
  amp?: SplitPart;
  /** The text part before tidying: tidying runs after the values are in, as in a full render. */
  text: SplitPart;
  /**
   * The text part tidied with the markers in place: the same as tidying after filling in when
   * every value is "inert" (see `inertValue`), which spares most recipients the regex passes.
   */
  tidyText: SplitPart;
  /** Warnings the templates' helpers raised while rendering the cohort. */
  warnings: string[];
}

/**
 * Bounded by entries, not bytes: an entry holds one message (~100 KB, about twice that once the
 * service has sent it: its UTF-8 JSON segments and their gzip forms, alone and for up to 8
 * layouts in context, ~9 kB each, hang off it weakly), and 512
 * cohorts cover a campaign's locale × segment × offer × size combinations with room to spare
 * (~140 MB at most). Cleared wholesale when full (a new campaign's cohorts simply take over).
 */
export class CohortCache {
  private readonly entries = new Map<string, CohortEntry>();
  /** `skipped`: renders the gate sent straight to the full render (hit-rate-gate.ts). */
  readonly stats = { hits: 0, misses: 0, bypassed: 0, skipped: 0 };
  /**
   * Whether looking cohorts up pays for the current campaign (hit-rate-gate.ts). Measured on
   * `--scenario personal` and `--scenario cohort`: a hit saves ~900 µs of a ~1,050 µs render
   * and a miss costs ~300 µs more, so the cache pays from about a quarter of hits.
   */
  readonly gate = new HitRateGate({ window: 64, minHitRate: 0.25, probeEvery: 16 });

  constructor(private readonly max = 512) {}

  get(key: string): CohortEntry | undefined {
    const e = this.entries.get(key);
    if (e) this.stats.hits++;
    else this.stats.misses++;
    this.gate.record(e !== undefined);
    return e;
  }

  set(key: string, entry: CohortEntry): void {
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(key, entry);
  }
}

/**
 * Every field of the view is either in the key or listed here with the reason it may be left
 * out; the type below fails to compile when a new view field is in neither list.
 */
const KEYED = [
  'template', 'variant', 'locale', 'intlLocale', 'lang', 'dir', 'currency', 'timezone', 'campaignParams',
  'firstName', 'profileId', 'segments', 'productsTotalText', 'offer', 'cart', 'order', 'loyalty',
  'location', 'preferences', 'links', 'amp', 'payloads', 'message', 'year',
] as const satisfies readonly (keyof RenderView)[];
const NOT_KEYED = [
  'brand', 'strings', 'fallbackStrings', // fixed by the template hash and the locale
  'warnings', // output, not input
  'segmentList', // derived from segments
  'products', 'hero', // the frozen, memoised product list: keyed by identity below; hero is its first item
] as const satisfies readonly (keyof RenderView)[];
type Unlisted = Exclude<keyof RenderView, (typeof KEYED)[number] | (typeof NOT_KEYED)[number]>;
const everyFieldListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyFieldListed;

/**
 * The cohort key of a marker view, or undefined when the markers do not appear exactly
 * `expectedMarks` times (some data already contains the marker character).
 */
export function cohortKey(templateHash: string, view: RenderView, expectedMarks: number): string | undefined {
  const values: unknown[] = [serialOf(view.products)];
  for (const field of KEYED) values.push(keyValue(view[field]));
  const json = JSON.stringify(values);
  if (countMarks(json) !== expectedMarks) return undefined;
  return `${templateHash}\u0000${json}`;
}

/**
 * How a cohort email's big parts were filled in: the shared split parts and the values. Kept
 * beside the email (weakly) so a writer can send the shared segments as pre-encoded bytes
 * instead of serialising ~100 KB per recipient (encode-result.ts). A part is absent when it
 * was not a plain fill (the text part when a value was not inert).
 */
export interface EmailFill {
  amp?: SplitPart;
  html: SplitPart;
  text?: SplitPart;
  escaped: MarkerValues;
  raw: MarkerValues;
}

const fills = new WeakMap<EmailParts, EmailFill>();

export function recordFill(email: EmailParts, fill: EmailFill): void {
  fills.set(email, fill);
}

export function fillOf(email: EmailParts): EmailFill | undefined {
  return fills.get(email);
}
